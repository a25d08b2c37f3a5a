//! The chat journal (persona blocks attached for a turn) and background turns.

use super::Db;

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct AttachmentRow {
    pub turn_id: String,
    pub agent_id: String,
    pub block_id: String,
    pub person_id: i64,
    pub run_id: Option<String>,
    pub started_at: i64,
    /// The instance whose turn attached the block (`None`: from before instances existed).
    pub instance_id: Option<String>,
}

const ATTACHMENT: &str = "turn_id, agent_id, block_id, person_id, run_id, started_at, instance_id";

/// Journal a block before attaching it.
pub async fn journal(
    db: &Db,
    turn_id: &str,
    agent_id: &str,
    block_id: &str,
    person_id: i64,
    instance_id: &str,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO chat_attachments (turn_id, agent_id, block_id, person_id, started_at, instance_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(turn_id)
    .bind(agent_id)
    .bind(block_id)
    .bind(person_id)
    .bind(super::now_ms())
    .bind(instance_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn set_run(db: &Db, turn_id: &str, run_id: &str) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE chat_attachments SET run_id = $2 WHERE turn_id = $1"
    )
    .bind(turn_id)
    .bind(run_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The block is detached: forget it.
pub async fn unjournal(db: &Db, turn_id: &str) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM chat_attachments WHERE turn_id = $1"
    )
    .bind(turn_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn attachments(db: &Db) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {ATTACHMENT} FROM chat_attachments ORDER BY started_at"
    ))
    .fetch_all(pool)
    .await)
}

pub async fn attachment(db: &Db, turn_id: &str) -> Result<Option<AttachmentRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {ATTACHMENT} FROM chat_attachments WHERE turn_id = $1"
    ))
    .bind(turn_id)
    .fetch_optional(pool)
    .await)
}

pub async fn attachments_on(db: &Db, agent_id: &str) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {ATTACHMENT} FROM chat_attachments WHERE agent_id = $1 ORDER BY started_at"
    ))
    .bind(agent_id)
    .fetch_all(pool)
    .await)
}

/// Whether a chat turn has this person's block attached right now.
pub async fn person_attached(db: &Db, person_id: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM chat_attachments WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_one(pool)
    .await)?;
    Ok(n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct RunRow {
    pub turn_id: String,
    pub run_id: Option<String>,
    pub agent_id: String,
    pub person_id: i64,
    pub user_id: i64,
    pub message: String,
    pub status: String,
    pub detail: Option<String>,
    pub reply: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// The instance polling the run (`None`: from before instances existed).
    pub instance_id: Option<String>,
}

const RUN: &str = "turn_id, run_id, agent_id, person_id, user_id, message, status, detail, reply, \
                   created_at, finished_at, instance_id";

pub struct NewRun<'a> {
    pub turn_id: &'a str,
    pub agent_id: &'a str,
    pub person_id: i64,
    pub user_id: i64,
    pub message: &'a str,
    pub instance_id: &'a str,
}

pub async fn insert_run(db: &Db, r: &NewRun<'_>) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO chat_runs (turn_id, agent_id, person_id, user_id, message, status, created_at, instance_id) \
         VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7)",
    )
    .bind(r.turn_id)
    .bind(r.agent_id)
    .bind(r.person_id)
    .bind(r.user_id)
    .bind(r.message)
    .bind(super::now_ms())
    .bind(r.instance_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Records a run's progress; a terminal status also sets `finished_at`.
pub async fn update_run(
    db: &Db,
    turn_id: &str,
    run_id: Option<&str>,
    status: &str,
    detail: Option<&str>,
    reply: Option<&str>,
    finished: bool,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE chat_runs SET run_id = COALESCE($2, run_id), status = $3, \
         detail = COALESCE($4, detail), reply = COALESCE($5, reply), \
         finished_at = CASE WHEN $6 THEN $7 ELSE finished_at END WHERE turn_id = $1",
    )
    .bind(turn_id)
    .bind(run_id)
    .bind(status)
    .bind(detail)
    .bind(reply)
    .bind(finished)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn run(db: &Db, turn_id: &str) -> Result<Option<RunRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RUN} FROM chat_runs WHERE turn_id = $1"
    ))
    .bind(turn_id)
    .fetch_optional(pool)
    .await)
}

/// The newest background turns on an agent.
pub async fn runs_on(db: &Db, agent_id: &str, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RUN} FROM chat_runs WHERE agent_id = $1 ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(agent_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Background turns a stop interrupted (the process ended while they ran).
pub async fn unfinished_runs(db: &Db) -> Result<Vec<RunRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RUN} FROM chat_runs WHERE finished_at IS NULL ORDER BY created_at"
    ))
    .fetch_all(pool)
    .await)
}
