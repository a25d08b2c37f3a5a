use super::Db;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

pub async fn record(
    db: &Db,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    outcome: Outcome,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(super::now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(outcome.as_str())
    .bind(detail)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// Matches an action exactly or, ending in `.`, every action with that prefix.
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Keyset pagination: entries with an id below this one (older).
    pub before_id: Option<i64>,
    /// Keyset pagination backwards: entries with an id above this one (newer).
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Newest first. Filters that are `None` match everything (`$n IS NULL OR …`), so the
/// statement is one fixed, portable string.
pub async fn page(db: &Db, q: &AuditQuery) -> Result<Vec<AuditRow>, sqlx::Error> {
    let action_prefix = q
        .action
        .as_deref()
        .filter(|a| a.ends_with('.'))
        .map(|a| format!("{a}%"));
    let action_exact = q.action.as_deref().filter(|a| !a.ends_with('.'));
    let backwards = q.after_id.is_some() && q.before_id.is_none();
    let sql = format!(
        "SELECT id, at, actor, action, target, outcome, detail FROM audit_log \
         WHERE ($1 IS NULL OR actor = $1) \
           AND ($2 IS NULL OR action = $2) \
           AND ($3 IS NULL OR action LIKE $3) \
           AND ($4 IS NULL OR at >= $4) \
           AND ($5 IS NULL OR at < $5) \
           AND ($6 IS NULL OR id < $6) \
           AND ($7 IS NULL OR id > $7) \
         ORDER BY id {} LIMIT $8",
        if backwards { "ASC" } else { "DESC" }
    );
    let mut rows: Vec<AuditRow> = crate::with_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(q.actor.as_deref())
        .bind(action_exact)
        .bind(action_prefix)
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

/// Distinct action names, for the filter's choices.
pub async fn actions(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT DISTINCT action FROM audit_log ORDER BY action"
    )
    .fetch_all(pool)
    .await)
}
