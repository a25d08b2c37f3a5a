use sqlx::SqlitePool;

use crate::auth::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: i64,
    pub created_at: i64,
}

impl UserRow {
    pub fn role(&self) -> Role {
        // The column has a CHECK constraint; anything else is treated as the lowest role.
        Role::parse(&self.role).unwrap_or(Role::Staff)
    }
}

const COLUMNS: &str = "id, username, password_hash, role, disabled, session_epoch, created_at";

/// Active admins: the ones that count when refusing to remove "the last admin".
pub async fn count_active_admins(db: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_one(db)
        .await
}

pub async fn by_username(db: &SqlitePool, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: &SqlitePool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// One page of users, optionally filtered by a case-insensitive username substring, in
/// username order after `after` (keyset pagination).
pub async fn page(
    db: &SqlitePool,
    search: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let pattern = format!("%{}%", search.to_lowercase());
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE LOWER(username) LIKE $1 AND username > $2 \
         ORDER BY username LIMIT $3"
    ))
    .bind(pattern)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn insert(
    db: &SqlitePool,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<i64, sqlx::Error> {
    let now = super::now_ms();
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(db)
    .await
}

/// Creates the first admin only while there is no admin: the check and the insert are one
/// statement, so two concurrent setup requests cannot both succeed.
pub async fn insert_first_admin(
    db: &SqlitePool,
    username: &str,
    password_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let now = super::now_ms();
    sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
         SELECT $1, $2, 'admin', $3, $3 WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin') \
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

pub async fn set_password(
    db: &SqlitePool,
    id: i64,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(password_hash)
    .bind(super::now_ms())
    .bind(id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// SQL condition: applying the change to user `$id` still leaves an active admin. Part of the
/// same statement as the change, so two admins demoting each other at once cannot both win.
const LEAVES_AN_ADMIN: &str = "(role <> 'admin' OR disabled = 1 OR \
     (SELECT COUNT(*) FROM users AS o WHERE o.role = 'admin' AND o.disabled = 0 AND o.id <> users.id) > 0)";

/// What a guarded change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    NoSuchUser,
    /// Refused: it would leave no active admin.
    LastAdmin,
}

async fn guarded(db: &SqlitePool, id: i64, affected: u64) -> Result<Change, sqlx::Error> {
    if affected == 1 {
        Ok(Change::Done)
    } else if by_id(db, id).await?.is_none() {
        Ok(Change::NoSuchUser)
    } else {
        Ok(Change::LastAdmin)
    }
}

pub async fn set_role(db: &SqlitePool, id: i64, role: Role) -> Result<Change, sqlx::Error> {
    let keep = if role == Role::Admin {
        "1 = 1"
    } else {
        LEAVES_AN_ADMIN
    };
    let r = sqlx::query(&format!(
        "UPDATE users SET role = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3 AND {keep}"
    ))
    .bind(role.as_str())
    .bind(super::now_ms())
    .bind(id)
    .execute(db)
    .await?;
    guarded(db, id, r.rows_affected()).await
}

pub async fn set_disabled(db: &SqlitePool, id: i64, disabled: bool) -> Result<Change, sqlx::Error> {
    let keep = if disabled { LEAVES_AN_ADMIN } else { "1 = 1" };
    let r = sqlx::query(&format!(
        "UPDATE users SET disabled = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3 AND {keep}"
    ))
    .bind(disabled)
    .bind(super::now_ms())
    .bind(id)
    .execute(db)
    .await?;
    guarded(db, id, r.rows_affected()).await
}

pub async fn delete(db: &SqlitePool, id: i64) -> Result<Change, sqlx::Error> {
    let r = sqlx::query(&format!(
        "DELETE FROM users WHERE id = $1 AND {LEAVES_AN_ADMIN}"
    ))
    .bind(id)
    .execute(db)
    .await?;
    guarded(db, id, r.rows_affected()).await
}
