//! The turn ledger: every chat turn, from queued to ended, with how it went.

use super::Db;

/// A turn as it is queued.
pub struct NewTurn<'a> {
    pub turn_id: &'a str,
    pub instance_id: &'a str,
    pub user_id: i64,
    pub username: &'a str,
    pub person_id: i64,
    pub person: &'a str,
    pub agent_id: &'a str,
    pub background: bool,
    pub queued_at: i64,
}

pub async fn queued(db: &Db, t: &NewTurn<'_>) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "INSERT INTO chat_turns (turn_id, instance_id, user_id, username, person_id, person, \
         agent_id, background, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.turn_id)
    .bind(t.instance_id)
    .bind(t.user_id)
    .bind(t.username)
    .bind(t.person_id)
    .bind(t.person)
    .bind(t.agent_id)
    .bind(i64::from(t.background))
    .bind(t.queued_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// How a turn ended, written once when it does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnEnd {
    pub started_at: Option<i64>,
    pub ended_at: i64,
    pub run_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub attach: Option<String>,
    pub detach: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
}

pub async fn ended(db: &Db, turn_id: &str, e: &TurnEnd) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE chat_turns SET started_at = $2, ended_at = $3, run_id = $4, outcome = $5, \
         reason = $6, attach = $7, detach = $8, prompt_tokens = $9, completion_tokens = $10, \
         total_tokens = $11 WHERE turn_id = $1",
    )
    .bind(turn_id)
    .bind(e.started_at)
    .bind(e.ended_at)
    .bind(e.run_id.as_deref())
    .bind(&e.outcome)
    .bind(e.reason.as_deref())
    .bind(e.attach.as_deref())
    .bind(e.detach.as_deref())
    .bind(e.prompt_tokens)
    .bind(e.completion_tokens)
    .bind(e.total_tokens)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Turns still open whose instance is no longer alive (it crashed or was killed mid-turn):
/// ended as `interrupted`. Returns how many.
pub async fn end_interrupted(db: &Db, now_ms: i64, expiry_ms: i64) -> Result<u64, sqlx::Error> {
    let done = crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE chat_turns SET ended_at = $1, outcome = 'interrupted', \
         reason = 'The dashboard process running this turn stopped before it ended.' \
         WHERE ended_at IS NULL AND instance_id NOT IN \
         (SELECT id FROM instances WHERE heartbeat_at >= $1 - $2)",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Drops entries queued before `before_ms`. Returns how many.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    let done = crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM chat_turns WHERE queued_at < $1 AND ended_at IS NOT NULL"
    )
    .bind(before_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct TurnRow {
    pub id: i64,
    pub turn_id: String,
    pub instance_id: String,
    pub username: String,
    pub person_id: i64,
    pub person: String,
    pub agent_id: String,
    pub background: i64,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub run_id: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub attach: Option<String>,
    pub detach: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
}

const TURN: &str = "id, turn_id, instance_id, username, person_id, person, agent_id, background, \
    queued_at, started_at, ended_at, run_id, outcome, reason, attach, detach, prompt_tokens, \
    completion_tokens, total_tokens";

/// What to list. `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct TurnQuery {
    pub agent_id: Option<String>,
    pub person_id: Option<i64>,
    pub username: Option<String>,
    /// An outcome, or `running` for the turns that have not ended.
    pub outcome: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Keyset pagination: entries with an id below this one (older).
    pub before_id: Option<i64>,
    /// Keyset pagination backwards: entries with an id above this one (newer).
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// The filter's conditions from `$1` to `$7`, shared by the page and the chart.
const FILTER: &str = "($1 IS NULL OR agent_id = $1) \
    AND ($2 IS NULL OR person_id = $2) \
    AND ($3 IS NULL OR username = $3) \
    AND ($4 IS NULL OR outcome = $4 OR ($4 = 'running' AND ended_at IS NULL)) \
    AND ($5 IS NULL OR queued_at >= $5) \
    AND ($6 IS NULL OR queued_at < $6)";

/// Newest first, one keyset page.
pub async fn page(db: &Db, q: &TurnQuery) -> Result<Vec<TurnRow>, sqlx::Error> {
    let backwards = q.after_id.is_some() && q.before_id.is_none();
    let sql = format!(
        "SELECT {TURN} FROM chat_turns WHERE {FILTER} \
           AND ($7 IS NULL OR id < $7) AND ($8 IS NULL OR id > $8) \
         ORDER BY id {} LIMIT $9",
        if backwards { "ASC" } else { "DESC" }
    );
    let mut rows: Vec<TurnRow> = crate::with_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(q.agent_id.as_deref())
        .bind(q.person_id)
        .bind(q.username.as_deref())
        .bind(q.outcome.as_deref())
        .bind(q.from_ms)
        .bind(q.to_ms)
        .bind(q.before_id)
        .bind(q.after_id)
        .bind(q.limit)
        .fetch_all(pool)
        .await)?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

pub async fn by_turn(db: &Db, turn_id: &str) -> Result<Option<TurnRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {TURN} FROM chat_turns WHERE turn_id = $1"
    ))
    .bind(turn_id)
    .fetch_optional(pool)
    .await)
}

/// Turns and failed turns per time bucket (`bucket_ms` wide, from `from_ms` to `to_ms`),
/// under the same filter as [`page`] (its keyset cursor aside).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's index: its start is `from_ms + index * bucket_ms`.
    pub bucket: i64,
    pub turns: i64,
    /// Failed, timed out or interrupted.
    pub failures: i64,
}

pub async fn buckets(
    db: &Db,
    q: &TurnQuery,
    from_ms: i64,
    to_ms: i64,
    bucket_ms: i64,
) -> Result<Vec<Bucket>, sqlx::Error> {
    let sql = format!(
        "SELECT (queued_at - $7) / $8 AS bucket, COUNT(*) AS turns, \
         SUM(CASE WHEN outcome IN ('failed', 'timed_out', 'interrupted') THEN 1 ELSE 0 END) \
           AS failures \
         FROM chat_turns WHERE {FILTER} AND queued_at >= $7 AND queued_at < $9 \
         GROUP BY bucket ORDER BY bucket"
    );
    crate::with_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(q.agent_id.as_deref())
        .bind(q.person_id)
        .bind(q.username.as_deref())
        .bind(q.outcome.as_deref())
        .bind(q.from_ms)
        .bind(q.to_ms)
        .bind(from_ms)
        .bind(bucket_ms)
        .bind(to_ms)
        .fetch_all(pool)
        .await)
}

/// The filter's choices: the agents, persons and users that appear in the ledger.
pub async fn choices(
    db: &Db,
) -> Result<(Vec<String>, Vec<(i64, String)>, Vec<String>), sqlx::Error> {
    let agents = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT agent_id FROM chat_turns ORDER BY agent_id"
    )
    .fetch_all(pool)
    .await)?;
    let persons = crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT person_id, MAX(person) FROM chat_turns GROUP BY person_id ORDER BY MAX(person)",
    )
    .fetch_all(pool)
    .await)?;
    let users = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT username FROM chat_turns ORDER BY username"
    )
    .fetch_all(pool)
    .await)?;
    Ok((agents, persons, users))
}

/// A user's recent chats: each (agent, person) pair once, newest first.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct RecentChat {
    pub agent_id: String,
    pub person_id: i64,
    pub person: String,
    pub at: i64,
}

pub async fn recent_chats(
    db: &Db,
    user_id: i64,
    limit: i64,
) -> Result<Vec<RecentChat>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT agent_id, person_id, MAX(person) AS person, MAX(queued_at) AS at \
         FROM chat_turns WHERE user_id = $1 GROUP BY agent_id, person_id \
         ORDER BY at DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// The newest turns that failed, timed out or were interrupted.
pub async fn recent_failures(db: &Db, limit: i64) -> Result<Vec<TurnRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {TURN} FROM chat_turns \
         WHERE outcome IN ('failed', 'timed_out', 'interrupted') ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await)
}
