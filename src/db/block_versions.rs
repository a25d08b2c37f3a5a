//! History of agents' core memory blocks that are not persona blocks (`block_versions`).
//! Same shape as `persona_versions`, keyed by the Letta block id.

use super::Db;

pub use super::persons::VersionRow;

/// The newest value of the block the dashboard knows (wrote or saw).
pub async fn last_known_value(db: &Db, block_id: &str) -> Result<Option<String>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM block_versions WHERE block_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(block_id)
    .fetch_optional(pool)
    .await)
}

pub async fn add(
    db: &Db,
    block_id: &str,
    value: &str,
    source: &str,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO block_versions (block_id, value, source, actor, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(block_id)
    .bind(value)
    .bind(source)
    .bind(actor)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The block's history, newest first (the latest 100).
pub async fn list(db: &Db, block_id: &str) -> Result<Vec<VersionRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, at, source, actor, value FROM block_versions WHERE block_id = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(block_id)
    .fetch_all(pool)
    .await
    })
}

pub async fn get(db: &Db, block_id: &str, id: i64) -> Result<Option<String>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM block_versions WHERE block_id = $1 AND id = $2"
    )
    .bind(block_id)
    .bind(id)
    .fetch_optional(pool)
    .await)
}
