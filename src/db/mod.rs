//! The only place SQL lives: one file per table family, plain functions over `&SqlitePool`.
//! Runtime-checked queries with `$n` placeholders and standard types, so a Postgres backend
//! stays a small step.

pub mod audit;
pub mod block_versions;
pub mod chat;
pub mod instances;
pub mod ledger;
pub mod login_attempts;
pub mod persons;
pub mod saga;
pub mod settings;
pub mod users;

use std::str::FromStr;

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

/// The SQLite file behind a `sqlite://` URL (`None` for an in-memory database).
pub fn sqlite_path(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The database holds live session ids and password hashes: only the dashboard's own user may
/// read it. The file is created 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm`
/// files the mode of the database file), and an existing file from an older version is
/// tightened.
fn make_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if let Ok(meta) = std::fs::metadata(&p) {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// Opens (creating if needed) the database and applies every migration.
pub async fn connect(database_url: &str) -> Result<SqlitePool, sqlx::Error> {
    if let Some(path) = sqlite_path(database_url) {
        make_private(&path)?;
    }
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5))
        .foreign_keys(true)
        // 1 MiB of page cache per connection (SQLite's default is 2 MiB): the queries are
        // index range scans, and eight idle connections' caches were most of the resident
        // memory at 100,000 persons.
        .pragma("cache_size", "-1024");
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Now, as UTC milliseconds since the epoch: the one timestamp format in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
