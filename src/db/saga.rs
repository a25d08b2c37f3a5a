//! The journal of multi-step Letta operations: what has been done and must be undone if the
//! whole does not complete.

use super::Db;

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
    db: &Db,
    saga_id: &str,
    kind: &str,
    step: &str,
    resource_id: &str,
    other_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "INSERT INTO saga_steps (saga_id, kind, step, resource_id, other_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(saga_id)
    .bind(kind)
    .bind(step)
    .bind(resource_id)
    .bind(other_id)
    .bind(super::now_ms())
    .fetch_one(pool)
    .await)
}

pub async fn remove_step(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM saga_steps WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn finish(db: &Db, saga_id: &str) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM saga_steps WHERE saga_id = $1"
    )
    .bind(saga_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Steps of unfinished sagas, newest first (the order to undo them in).
pub async fn pending(db: &Db) -> Result<Vec<StepRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT id, saga_id, kind, step, resource_id, other_id FROM saga_steps ORDER BY id DESC",
    )
    .fetch_all(pool)
    .await)
}
