//! The journal of multi-step Letta operations: what has been done and must be undone if the
//! whole does not complete.

use sqlx::SqlitePool;

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct StepRow {
    pub id: i64,
    pub saga_id: String,
    pub kind: String,
    pub step: String,
    pub resource_id: String,
    pub other_id: Option<String>,
}

pub async fn record(
    db: &SqlitePool,
    saga_id: &str,
    kind: &str,
    step: &str,
    resource_id: &str,
    other_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO saga_steps (saga_id, kind, step, resource_id, other_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(saga_id)
    .bind(kind)
    .bind(step)
    .bind(resource_id)
    .bind(other_id)
    .bind(super::now_ms())
    .fetch_one(db)
    .await
}

pub async fn remove_step(db: &SqlitePool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM saga_steps WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn finish(db: &SqlitePool, saga_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM saga_steps WHERE saga_id = $1")
        .bind(saga_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Steps of unfinished sagas, newest first (the order to undo them in).
pub async fn pending(db: &SqlitePool) -> Result<Vec<StepRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, saga_id, kind, step, resource_id, other_id FROM saga_steps ORDER BY id DESC",
    )
    .fetch_all(db)
    .await
}
