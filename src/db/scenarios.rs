//! Chat scenarios, their runs and each run's steps (see `features::chat::scenarios`). The
//! `steps`, `tools` and `checks` columns are JSON text the feature writes and reads; here they
//! are strings.

use super::Db;

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ScenarioRow {
    pub id: i64,
    pub name: String,
    pub agent_id: Option<String>,
    pub steps: String,
    pub owner_id: i64,
    pub owner: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const SCENARIO: &str = "id, name, agent_id, steps, owner_id, owner, created_at, updated_at";

pub struct NewScenario<'a> {
    pub name: &'a str,
    pub agent_id: Option<&'a str>,
    pub steps: &'a str,
    pub owner_id: i64,
    pub owner: &'a str,
}

pub async fn insert(db: &Db, s: &NewScenario<'_>) -> Result<i64, sqlx::Error> {
    let now = super::now_ms();
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "INSERT INTO scenarios (name, agent_id, steps, owner_id, owner, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(s.name)
    .bind(s.agent_id)
    .bind(s.steps)
    .bind(s.owner_id)
    .bind(s.owner)
    .bind(now)
    .fetch_one(pool)
    .await)
}

/// Several scenarios in one transaction (an import: all or none).
pub async fn insert_all(db: &Db, all: &[NewScenario<'_>]) -> Result<Vec<i64>, sqlx::Error> {
    let now = super::now_ms();
    crate::with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut ids = Vec::with_capacity(all.len());
        for s in all {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO scenarios (name, agent_id, steps, owner_id, owner, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            )
            .bind(s.name)
            .bind(s.agent_id)
            .bind(s.steps)
            .bind(s.owner_id)
            .bind(s.owner)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    })
}

/// `false`: no such scenario.
pub async fn update(
    db: &Db,
    id: i64,
    name: &str,
    agent_id: Option<&str>,
    steps: &str,
) -> Result<bool, sqlx::Error> {
    let n = crate::with_pool!(db, |pool| {
        sqlx::query(
        "UPDATE scenarios SET name = $2, agent_id = $3, steps = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(agent_id)
    .bind(steps)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

/// Deletes the scenario and (cascading) its runs. `false`: no such scenario.
pub async fn delete(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let n = crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM scenarios WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<ScenarioRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {SCENARIO} FROM scenarios WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)
}

/// A scenario in the list, with its newest run's status.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ListedScenario {
    pub id: i64,
    pub name: String,
    pub agent_id: Option<String>,
    pub steps: String,
    pub owner_id: i64,
    pub owner: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_run_id: Option<i64>,
    pub last_status: Option<String>,
    pub last_started_at: Option<i64>,
}

/// Scenarios whose name contains `query` (any case), by name; at most `limit`.
pub async fn list(db: &Db, query: &str, limit: i64) -> Result<Vec<ListedScenario>, sqlx::Error> {
    // LIKE's wildcards in the query are matched as themselves.
    let pattern = format!(
        "%{}%",
        query
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT s.id, s.name, s.agent_id, s.steps, s.owner_id, s.owner, s.created_at, \
         s.updated_at, r.id AS last_run_id, r.status AS last_status, \
         r.started_at AS last_started_at \
         FROM scenarios s LEFT JOIN scenario_runs r ON r.id = \
           (SELECT MAX(id) FROM scenario_runs WHERE scenario_id = s.id) \
         WHERE LOWER(s.name) LIKE $1 ESCAPE '\\' ORDER BY LOWER(s.name), s.id LIMIT $2",
    )
    .bind(pattern)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Every scenario, by name (an export of all).
pub async fn all(db: &Db) -> Result<Vec<ScenarioRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {SCENARIO} FROM scenarios ORDER BY LOWER(name), id"
    ))
    .fetch_all(pool)
    .await)
}

// ---- runs --------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub scenario_id: i64,
    pub name: String,
    pub agent_id: String,
    pub steps: String,
    pub user_id: i64,
    pub username: String,
    pub instance_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub stop_at: Option<i64>,
    pub stop_by: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// Steps that have ended.
    pub steps_done: i64,
}

const RUN: &str = "r.id, r.scenario_id, r.name, r.agent_id, r.steps, r.user_id, r.username, \
    r.instance_id, r.status, r.reason, r.stop_at, r.stop_by, r.started_at, r.ended_at, \
    (SELECT COUNT(*) FROM scenario_run_steps s WHERE s.run_id = r.id AND s.ended_at IS NOT NULL) \
    AS steps_done";

pub struct NewRun<'a> {
    pub scenario_id: i64,
    pub name: &'a str,
    pub agent_id: &'a str,
    pub steps: &'a str,
    pub user_id: i64,
    pub username: &'a str,
    pub instance_id: &'a str,
}

/// Starts a run, unless one of the same scenario is still running: `None` then.
///
/// One statement, so two starts cannot both pass the check: SQLite runs it under its one write
/// lock; on Postgres it runs under an advisory lock per scenario (see `db::serialized`).
pub async fn start_run(db: &Db, r: &NewRun<'_>) -> Result<Option<i64>, sqlx::Error> {
    let key = format!("scenario-{}", r.scenario_id);
    super::serialized!(db, super::lock_ns::SCENARIO_RUN, &key, |conn| {
        sqlx::query_scalar(
        "INSERT INTO scenario_runs (scenario_id, name, agent_id, steps, user_id, username, \
         instance_id, status, started_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, 'running', $8 \
         WHERE NOT EXISTS (SELECT 1 FROM scenario_runs WHERE scenario_id = $1 AND ended_at IS NULL) \
         RETURNING id",
    )
    .bind(r.scenario_id)
    .bind(r.name)
    .bind(r.agent_id)
    .bind(r.steps)
    .bind(r.user_id)
    .bind(r.username)
    .bind(r.instance_id)
    .bind(super::now_ms())
    .fetch_optional(conn)
    .await
    })
}

/// Ends a run (once: a run already ended keeps its first ending).
pub async fn end_run(
    db: &Db,
    run_id: i64,
    status: &str,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE scenario_runs SET status = $2, reason = $3, ended_at = $4 \
         WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(run_id)
    .bind(status)
    .bind(reason)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Asks a running run to stop. `false`: it is not running.
pub async fn request_stop(db: &Db, run_id: i64, by: &str) -> Result<bool, sqlx::Error> {
    let n = crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE scenario_runs SET stop_at = $2, stop_by = $3 \
         WHERE id = $1 AND ended_at IS NULL AND stop_at IS NULL",
    )
    .bind(run_id)
    .bind(super::now_ms())
    .bind(by)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn stop_requested(db: &Db, run_id: i64) -> Result<bool, sqlx::Error> {
    let at: Option<Option<i64>> = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT stop_at FROM scenario_runs WHERE id = $1"
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await)?;
    // A run deleted with its scenario counts as stopped.
    Ok(!matches!(at, Some(None)))
}

pub async fn run(db: &Db, run_id: i64) -> Result<Option<RunRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RUN} FROM scenario_runs r WHERE r.id = $1"
    ))
    .bind(run_id)
    .fetch_optional(pool)
    .await)
}

/// A scenario's runs, newest first.
pub async fn runs_of(db: &Db, scenario_id: i64, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RUN} FROM scenario_runs r WHERE r.scenario_id = $1 ORDER BY r.id DESC LIMIT $2"
    ))
    .bind(scenario_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Whether the scenario has a run that has not ended.
pub async fn running_of(db: &Db, scenario_id: i64) -> Result<Option<i64>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(id) FROM scenario_runs WHERE scenario_id = $1 AND ended_at IS NULL"
    )
    .bind(scenario_id)
    .fetch_one(pool)
    .await)
}

/// Runs still open whose process is no longer alive: ended as `interrupted`. Returns how many.
pub async fn end_interrupted(db: &Db, now_ms: i64, expiry_ms: i64) -> Result<u64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE scenario_runs SET ended_at = $1, status = 'interrupted', \
         reason = 'The dashboard process running this scenario stopped before it ended.' \
         WHERE ended_at IS NULL AND instance_id NOT IN \
         (SELECT id FROM instances WHERE heartbeat_at >= $1 - $2)",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
}

// ---- steps of a run ------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct StepRow {
    pub step_index: i64,
    pub person_id: i64,
    pub person: String,
    pub message: String,
    pub turn_id: Option<String>,
    pub status: String,
    pub reply: String,
    pub tools: String,
    pub checks: String,
    pub error: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    pub elapsed_ms: Option<i64>,
    pub detached: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

const STEP: &str = "step_index, person_id, person, message, turn_id, status, reply, tools, \
    checks, error, prompt_tokens, completion_tokens, total_tokens, elapsed_ms, detached, \
    started_at, ended_at";

pub async fn step_started(
    db: &Db,
    run_id: i64,
    step_index: i64,
    person_id: i64,
    person: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "INSERT INTO scenario_run_steps (run_id, step_index, person_id, person, message, \
         status, reply, tools, checks, started_at) \
         VALUES ($1, $2, $3, $4, $5, 'running', '', '[]', '[]', $6)",
    )
    .bind(run_id)
    .bind(step_index)
    .bind(person_id)
    .bind(person)
    .bind(message)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A step's progress while its turn runs: the turn's id and the reply so far.
pub async fn step_progress(
    db: &Db,
    run_id: i64,
    step_index: i64,
    turn_id: Option<&str>,
    reply: &str,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE scenario_run_steps SET turn_id = COALESCE($3, turn_id), reply = $4 \
         WHERE run_id = $1 AND step_index = $2",
    )
    .bind(run_id)
    .bind(step_index)
    .bind(turn_id)
    .bind(reply)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// How a step ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepEnd {
    pub turn_id: Option<String>,
    pub status: String,
    pub reply: String,
    pub tools: String,
    pub checks: String,
    pub error: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    pub elapsed_ms: Option<i64>,
    pub detached: Option<bool>,
}

pub async fn step_ended(
    db: &Db,
    run_id: i64,
    step_index: i64,
    e: &StepEnd,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE scenario_run_steps SET turn_id = COALESCE($3, turn_id), status = $4, \
         reply = $5, tools = $6, checks = $7, error = $8, prompt_tokens = $9, \
         completion_tokens = $10, total_tokens = $11, elapsed_ms = $12, detached = $13, \
         ended_at = $14 WHERE run_id = $1 AND step_index = $2",
    )
    .bind(run_id)
    .bind(step_index)
    .bind(e.turn_id.as_deref())
    .bind(&e.status)
    .bind(&e.reply)
    .bind(&e.tools)
    .bind(&e.checks)
    .bind(e.error.as_deref())
    .bind(e.prompt_tokens)
    .bind(e.completion_tokens)
    .bind(e.total_tokens)
    .bind(e.elapsed_ms)
    .bind(e.detached.map(i64::from))
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A run's steps, in order.
pub async fn steps_of(db: &Db, run_id: i64) -> Result<Vec<StepRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {STEP} FROM scenario_run_steps WHERE run_id = $1 ORDER BY step_index"
    ))
    .bind(run_id)
    .fetch_all(pool)
    .await)
}
