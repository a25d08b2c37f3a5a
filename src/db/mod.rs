//! The only place SQL lives: one file per table family, plain functions over `&SqlitePool`.
//! Runtime-checked queries with `$n` placeholders and standard types, so a Postgres backend
//! stays a small step.

pub mod audit;
pub mod block_versions;
pub mod chat;
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

/// Opens (creating if needed) the database and applies every migration.
pub async fn connect(database_url: &str) -> Result<SqlitePool, sqlx::Error> {
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
