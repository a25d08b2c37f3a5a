//! The only place SQL lives: one file per table family, plain functions over `&Db`.
//! Runtime-checked queries with `$n` placeholders and standard types (i64 ms timestamps, text,
//! booleans written as `TRUE`/`FALSE`), so one statement serves both backends.
//!
//! [`Db`] is SQLite (the embedded default, one file) or Postgres (several dashboard instances
//! on several hosts). Each function writes its SQL once and runs it through [`with_pool!`],
//! which expands into one match arm per backend: each arm is concrete (`SqlitePool` or
//! `PgPool`), so `FromRow`, binds and decoding are checked for both without `sqlx::Any` (whose
//! row conversions know no bool on SQLite and which would lose the SQLite pragmas). Where the
//! backends truly differ (PL/pgSQL triggers, READ COMMITTED needing a lock where SQLite's one
//! writer already serialises) the function says so at the branch.

pub mod audit;
pub mod block_history;
pub mod chat;
pub mod instances;
pub mod ledger;
pub mod login_attempts;
pub mod persons;
pub mod reader;
pub mod saga;
pub mod scenarios;
pub mod sessions;
pub mod settings;
pub mod users;

use std::str::FromStr;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};

/// The dashboard's database: cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which SQL a [`Db`] speaks, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite pool, for SQLite's own file maintenance (backup) and SQLite-only tests.
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(p) => Some(p),
            Db::Postgres(_) => None,
        }
    }

    pub async fn close(&self) {
        crate::with_pool!(self, |p| p.close().await)
    }
}

impl From<SqlitePool> for Db {
    fn from(p: SqlitePool) -> Db {
        Db::Sqlite(p)
    }
}

impl From<PgPool> for Db {
    fn from(p: PgPool) -> Db {
        Db::Postgres(p)
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool behind a `&Db`: one match arm per
/// backend, the body written once.
///
/// ```ignore
/// with_pool!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await)
/// ```
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Advisory-lock namespaces (the first key of `pg_advisory_xact_lock(int, int)`). Distinctive
/// values, in case the database is shared with another application.
pub(crate) mod lock_ns {
    /// The set of admins (first admin, the last-admin guard).
    pub const ADMINS: i32 = 0x4C41_0001;
    /// Sign-in attempts of one client address.
    pub const LOGIN_ADDR: i32 = 0x4C41_0002;
    /// The ticket queue of one agent.
    pub const AGENT_QUEUE: i32 = 0x4C41_0003;
    /// Creating the session store's tables.
    pub const SESSION_SCHEMA: i32 = 0x4C41_0004;
    /// Starting a run of one chat scenario (one at a time per scenario).
    pub const SCENARIO_RUN: i32 = 0x4C41_0005;
}

/// Runs one statement so that it cannot interleave with another run under the same key.
///
/// On SQLite a write statement holds the database's one write lock from its first step, so
/// the statement alone is enough. On Postgres (READ COMMITTED) a statement's subqueries read
/// a snapshot that another transaction's uncommitted insert is not in: the statement runs in
/// a short transaction after `pg_advisory_xact_lock(ns, hashtext(key))`, so the next one under
/// that key starts (and takes its snapshot) only after this one has committed.
/// `$body` is an awaited `Result<T, sqlx::Error>` using `$conn` once as its executor.
macro_rules! serialized {
    ($db:expr, $ns:expr, $key:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($conn) => $body,
            $crate::db::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind($ns)
                    .bind($key)
                    .execute(&mut *tx)
                    .await?;
                let out = {
                    let $conn = &mut *tx;
                    $body
                }?;
                tx.commit().await?;
                Ok(out)
            }
        }
    };
}
pub(crate) use serialized;

/// Is `url` a Postgres URL (`postgres://` or `postgresql://`)?
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` fit for a log line or an error message: a password (in the authority or as a
/// `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not parseable: keep only the scheme, anything after it may be a secret.
        return match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***"),
            None => "***".into(),
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("password");
                (
                    k.into_owned(),
                    if secret { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Connections in the Postgres pool unless `LETTA_ADMIN_DB_MAX_CONNECTIONS` says otherwise.
pub const DEFAULT_PG_CONNECTIONS: u32 = 10;

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

/// Why the database could not be opened: the message names the URL with its password
/// redacted, never the URL as given.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String);

/// Opens (creating if needed) the database and applies every migration: Postgres for a
/// `postgres://` URL, else SQLite.
pub async fn connect(database_url: &str) -> Result<Db, ConnectError> {
    connect_with(database_url, DEFAULT_PG_CONNECTIONS).await
}

/// [`connect`] with the Postgres pool's size.
pub async fn connect_with(database_url: &str, pg_connections: u32) -> Result<Db, ConnectError> {
    if is_postgres(database_url) {
        return connect_postgres(database_url, pg_connections).await;
    }
    connect_sqlite(database_url)
        .await
        .map(Db::Sqlite)
        .map_err(|e| {
            ConnectError(format!(
                "cannot open the SQLite database {}: {e}",
                redact_url(database_url)
            ))
        })
}

async fn connect_postgres(database_url: &str, connections: u32) -> Result<Db, ConnectError> {
    let shown = redact_url(database_url);
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ConnectError(format!("{what} the Postgres database {shown}: {e}"))
    };
    let options = PgConnectOptions::from_str(database_url)
        .map_err(|e| fail("DATABASE_URL does not name", &e))?
        .application_name("letta-admin")
        // A process paused (or cut off) inside one of its short transactions holds that
        // transaction's locks: the server ends such a session after 10 s idle, and nobody
        // waits for a lock longer than that either (an error, not a hang).
        .options([
            ("idle_in_transaction_session_timeout", "10s"),
            ("lock_timeout", "10s"),
        ]);
    let pool = PgPoolOptions::new()
        .max_connections(connections.max(2))
        // A database that does not answer fails the start (and a request) in seconds, not
        // after sqlx's default 30 s.
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| fail("cannot connect to", &e))?;
    // sqlx's Postgres migrator holds an advisory lock while it runs: replicas starting together
    // apply each migration once.
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .map_err(|e| fail("cannot migrate", &e))?;
    Ok(Db::Postgres(pool))
}

async fn connect_sqlite(database_url: &str) -> Result<SqlitePool, sqlx::Error> {
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
        .pragma("cache_size", "-1024")
        // sqlx-sqlite hands rows from the connection's thread in a channel of this many; at its
        // default of 50 a persons page (51 rows) stalled the thread until the reader woke.
        .row_buffer_size(256);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // Each statement is a round trip to the connection's own thread (sqlx-sqlite runs
        // SQLite there). The pool's default test of a connection before every use is a second
        // round trip per statement, for a handle to a local file that cannot go stale as a
        // network connection can: off. (Postgres keeps it: its connections can be cut.)
        .test_before_acquire(false)
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

/// The database answers (for `/readyz`).
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact_url("postgres://admin:s3cret%21@db.internal:5432/letta"),
            "postgres://admin:***@db.internal:5432/letta"
        );
        let shown =
            redact_url("postgres://db.internal/letta?user=a&password=s3cret&sslmode=require");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert_eq!(
            redact_url("postgres://admin@db.internal/letta"),
            "postgres://admin@db.internal/letta"
        );
        // Not a URL at all: nothing after the scheme is shown.
        assert_eq!(redact_url("postgres://a:b@[bad"), "postgres://***");
        assert_eq!(
            redact_url("sqlite:///data/letta-admin.db"),
            "sqlite:///data/letta-admin.db"
        );
    }

    #[test]
    fn the_configuration_never_prints_the_database_password() {
        let mut config = crate::config::Config::for_dir(std::path::Path::new("/tmp/x"));
        config.database_url = "postgres://admin:s3cret@db/letta".into();
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(
            printed.contains("postgres://admin:***@db/letta"),
            "{printed}"
        );
    }
}

/// Cuts one keyset page out of rows fetched with `limit = page_size + 1` (newest first; when
/// paging backwards, `after` set and `before` not, the query read ascending and reversed, so
/// the extra row is the first). Returns the page and the cursors for the newer and the older
/// page, if there are any.
pub fn keyset_window<T>(
    mut rows: Vec<T>,
    page_size: i64,
    before: Option<i64>,
    backwards: bool,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>, Option<i64>) {
    let more = rows.len() as i64 > page_size;
    if more {
        if backwards {
            rows.remove(0);
        } else {
            rows.truncate(page_size as usize);
        }
    }
    let (newer, older) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) if backwards => (more.then_some(id(first)), Some(id(last))),
        (Some(first), Some(last)) => (before.map(|_| id(first)), more.then_some(id(last))),
        _ => (None, None),
    };
    (rows, newer, older)
}

#[cfg(test)]
mod keyset_tests {
    use super::keyset_window;

    #[test]
    fn a_page_names_its_neighbours() {
        let id = |v: &i64| *v;
        // First page: three rows fetched for a page of two, newest first.
        assert_eq!(
            keyset_window(vec![9, 8, 7], 2, None, false, id),
            (vec![9, 8], None, Some(8))
        );
        // An older page that is the last one.
        assert_eq!(
            keyset_window(vec![7], 2, Some(8), false, id),
            (vec![7], Some(7), None)
        );
        // Back to newer rows, with more beyond them.
        assert_eq!(
            keyset_window(vec![10, 9, 8], 2, None, true, id),
            (vec![9, 8], Some(9), Some(8))
        );
        assert_eq!(
            keyset_window(Vec::<i64>::new(), 2, None, false, id),
            (vec![], None, None)
        );
    }
}
