//! Dashboard instances (one per running process) and the per-agent chat tickets.
//!
//! Times are the callers' `now_ms`. On SQLite every instance shares one file and so one
//! machine and one clock. On Postgres the instances may run on several machines: each reads
//! the database server's clock ([`server_clock_ms`]) and corrects its own by the difference
//! (`crate::instance::Instance::now_ms`), so all of them judge heartbeats by one clock.

use super::Db;

pub async fn register(
    db: &Db,
    id: &str,
    host: &str,
    pid: u32,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO instances (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id)
    .bind(host)
    .bind(pid as i64)
    .bind(now_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Renews the instance's heartbeat if it is still alive. `false`: it had already expired, so
/// other instances may have taken over its agents and swept its journal rows; it must not
/// act as this instance again.
pub async fn heartbeat(
    db: &Db,
    id: &str,
    now_ms: i64,
    expiry_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE instances SET heartbeat_at = $2 WHERE id = $1 AND heartbeat_at >= $2 - $3",
    )
    .bind(id)
    .bind(now_ms)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// A clean stop: the instance is gone at once (its tickets are void).
pub async fn deregister(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM agent_tickets WHERE instance_id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM instances WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct InstanceRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: i64,
    pub heartbeat_at: i64,
}

pub async fn all(db: &Db) -> Result<Vec<InstanceRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT id, host, pid, started_at, heartbeat_at FROM instances ORDER BY started_at",
    )
    .fetch_all(pool)
    .await)
}

/// Removes the tickets of dead instances, and dead instances that own no journal row any more
/// (their blocks are all detached). Returns the number of tickets removed.
pub async fn prune_dead(db: &Db, now_ms: i64, expiry_ms: i64) -> Result<u64, sqlx::Error> {
    let tickets = crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM agent_tickets WHERE instance_id NOT IN \
         (SELECT id FROM instances WHERE heartbeat_at >= $1 - $2)",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM instances WHERE heartbeat_at < $1 - $2 \
         AND id NOT IN (SELECT instance_id FROM chat_attachments WHERE instance_id IS NOT NULL)",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(tickets)
}

/// A new ticket for `agent_id`, in arrival order: its id.
///
/// Serialised per agent (see [`super::serialized`]): on Postgres a sequence hands out ids in
/// call order but transactions commit in any order, so without the lock a later ticket could
/// be visible (and find itself lowest: the holder) before an earlier one commits. Under the
/// lock each ticket of an agent is committed before the next is numbered.
pub async fn take_ticket(
    db: &Db,
    agent_id: &str,
    instance_id: &str,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    super::serialized!(db, super::lock_ns::AGENT_QUEUE, agent_id, |conn| {
        sqlx::query_scalar(
        "INSERT INTO agent_tickets (agent_id, instance_id, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(agent_id)
    .bind(instance_id)
    .bind(now_ms)
    .fetch_one(conn)
    .await
    })
}

pub async fn drop_ticket(db: &Db, ticket: i64) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM agent_tickets WHERE id = $1"
    )
    .bind(ticket)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Where a ticket stands: `None` when it is void (gone, or its instance is no longer alive),
/// else how many live tickets are ahead of it on its agent (0: it holds the agent).
///
/// `margin_ms` asks for the holder's instance to stay alive at least that much longer, so a
/// holder whose heartbeat is about to lapse does not start a Letta write that could outlive
/// its lease.
pub async fn standing(
    db: &Db,
    ticket: i64,
    now_ms: i64,
    expiry_ms: i64,
    margin_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM agent_tickets o JOIN instances oi ON oi.id = o.instance_id \
                 WHERE o.agent_id = t.agent_id AND o.id < t.id AND oi.heartbeat_at >= $2 - $3) \
         FROM agent_tickets t JOIN instances i ON i.id = t.instance_id \
         WHERE t.id = $1 AND i.heartbeat_at >= $2 - $3 + $4",
    )
    .bind(ticket)
    .bind(now_ms)
    .bind(expiry_ms)
    .bind(margin_ms)
    .fetch_optional(pool)
    .await)
}

/// Live tickets per agent (running plus waiting turns), for pages that show the queues.
pub async fn queued(
    db: &Db,
    agent_id: &str,
    now_ms: i64,
    expiry_ms: i64,
) -> Result<i64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM agent_tickets t JOIN instances i ON i.id = t.instance_id \
         WHERE t.agent_id = $1 AND i.heartbeat_at >= $2 - $3",
    )
    .bind(agent_id)
    .bind(now_ms)
    .bind(expiry_ms)
    .fetch_one(pool)
    .await)
}

/// Whether `instance_id` is alive (its heartbeat within the expiry).
pub async fn is_alive(
    db: &Db,
    instance_id: &str,
    now_ms: i64,
    expiry_ms: i64,
) -> Result<bool, sqlx::Error> {
    let n: i64 = crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM instances WHERE id = $1 AND heartbeat_at >= $2 - $3",
    )
    .bind(instance_id)
    .bind(now_ms)
    .bind(expiry_ms)
    .fetch_one(pool)
    .await)?;
    Ok(n > 0)
}

/// The database server's clock in UTC milliseconds, on Postgres (`None` on SQLite, whose
/// instances share one machine's clock).
pub async fn server_clock_ms(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    match db {
        Db::Sqlite(_) => Ok(None),
        Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)",
        )
        .fetch_one(pool)
        .await
        .map(Some),
    }
}

/// Live tickets per agent (running plus waiting turns, across every instance), busiest first.
pub async fn queues(
    db: &Db,
    now_ms: i64,
    expiry_ms: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT t.agent_id, COUNT(*) AS n FROM agent_tickets t \
         JOIN instances i ON i.id = t.instance_id \
         WHERE i.heartbeat_at >= $1 - $2 GROUP BY t.agent_id ORDER BY n DESC, t.agent_id",
    )
    .bind(now_ms)
    .bind(expiry_ms)
    .fetch_all(pool)
    .await)
}
