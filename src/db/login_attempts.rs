//! Sign-in attempts, for the throttle. An attempt is written (as failed) BEFORE its password is
//! checked, in the same statement that counts the earlier ones, so the limit holds however
//! many attempts arrive at once; a success then marks its row.

use super::Db;

/// The limits one attempt is counted against, over failures since `since_ms`.
pub struct Limits {
    pub since_ms: i64,
    /// Failures for this username from this client address.
    pub per_pair: i64,
    /// Failures from this client address, any username.
    pub per_addr: i64,
}

/// Records a new attempt if the limits allow it, and returns its row id; `None` when the
/// client is over a limit (nothing is written).
///
/// One statement, serialised per client address (every limit counts rows of this address; see
/// [`super::serialized`]), so the counts and the insert cannot interleave with another
/// attempt's, on any instance.
pub async fn admit(
    db: &Db,
    username: &str,
    client_addr: &str,
    now_ms: i64,
    limits: &Limits,
) -> Result<Option<i64>, sqlx::Error> {
    super::serialized!(db, super::lock_ns::LOGIN_ADDR, client_addr, |conn| {
        sqlx::query_scalar(
            "INSERT INTO login_attempts (username, client_addr, at, succeeded) \
         SELECT $1, $2, $3, FALSE \
         WHERE (SELECT COUNT(*) FROM login_attempts \
                WHERE username = $1 AND client_addr = $2 AND at >= $4 AND succeeded = FALSE) < $5 \
           AND (SELECT COUNT(*) FROM login_attempts \
                WHERE client_addr = $2 AND at >= $4 AND succeeded = FALSE) < $6 \
         RETURNING id",
        )
        .bind(username)
        .bind(client_addr)
        .bind(now_ms)
        .bind(limits.since_ms)
        .bind(limits.per_pair)
        .bind(limits.per_addr)
        .fetch_optional(conn)
        .await
    })
}

/// The attempt's password was right.
pub async fn mark_succeeded(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "UPDATE login_attempts SET succeeded = TRUE WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The attempt was never checked (no hashing worker was free): it does not count.
pub async fn forget(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM login_attempts WHERE id = $1"
    )
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Failures since `since_ms`, and the oldest of them (when the window starts to free up).
#[derive(Debug, Clone, Copy, Default)]
pub struct Failures {
    pub count: i64,
    pub oldest_ms: Option<i64>,
}

/// Failures for (username, address), for the address, and for the username from anywhere.
pub async fn recent_failures(
    db: &Db,
    username: &str,
    client_addr: &str,
    since_ms: i64,
) -> Result<(Failures, Failures, Failures), sqlx::Error> {
    let row = |(count, oldest_ms): (i64, Option<i64>)| Failures { count, oldest_ms };
    let pair = crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts \
         WHERE username = $1 AND client_addr = $2 AND at >= $3 AND succeeded = FALSE",
    )
    .bind(username)
    .bind(client_addr)
    .bind(since_ms)
    .fetch_one(pool)
    .await)
    .map(row)?;
    let addr = crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts \
         WHERE client_addr = $1 AND at >= $2 AND succeeded = FALSE",
    )
    .bind(client_addr)
    .bind(since_ms)
    .fetch_one(pool)
    .await)
    .map(row)?;
    let user = crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts \
         WHERE username = $1 AND at >= $2 AND succeeded = FALSE",
    )
    .bind(username)
    .bind(since_ms)
    .fetch_one(pool)
    .await)
    .map(row)?;
    Ok((pair, addr, user))
}

/// Forget attempts older than the throttling window.
pub async fn prune(db: &Db, before_ms: i64) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query(
        "DELETE FROM login_attempts WHERE at < $1"
    )
    .bind(before_ms)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
