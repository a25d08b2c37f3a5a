use sqlx::SqlitePool;

pub async fn record(
    db: &SqlitePool,
    username: &str,
    client_addr: &str,
    succeeded: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_attempts (username, client_addr, at, succeeded) VALUES ($1, $2, $3, $4)",
    )
    .bind(username)
    .bind(client_addr)
    .bind(super::now_ms())
    .bind(succeeded)
    .execute(db)
    .await?;
    Ok(())
}

/// Failed attempts since `since_ms` for this username or this client address, and the oldest
/// of them (when the window starts to free up).
pub async fn recent_failures(
    db: &SqlitePool,
    username: &str,
    client_addr: &str,
    since_ms: i64,
) -> Result<(i64, Option<i64>, i64, Option<i64>), sqlx::Error> {
    let (by_user, user_oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE username = $1 AND at >= $2 AND succeeded = 0",
    )
    .bind(username)
    .bind(since_ms)
    .fetch_one(db)
    .await?;
    let (by_addr, addr_oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_attempts WHERE client_addr = $1 AND at >= $2 AND succeeded = 0",
    )
    .bind(client_addr)
    .bind(since_ms)
    .fetch_one(db)
    .await?;
    Ok((by_user, user_oldest, by_addr, addr_oldest))
}

/// Forget attempts older than the throttling window.
pub async fn prune(db: &SqlitePool, before_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_attempts WHERE at < $1")
        .bind(before_ms)
        .execute(db)
        .await?;
    Ok(())
}
