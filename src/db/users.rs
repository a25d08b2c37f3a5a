use super::Db;

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
pub async fn count_active_admins(db: &Db) -> Result<i64, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE"
    )
    .fetch_one(pool)
    .await)
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await)
}

/// Every signed-in request reads its user: on SQLite on the serving thread (`db::reader`).
pub async fn by_id(db: &Db, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    if let Db::Sqlite(pool) = db {
        if let Some(row) = super::reader::query_optional(pool, &sql, &[&id], |r| {
            Ok(UserRow {
                id: r.get("id")?,
                username: r.get("username")?,
                password_hash: r.get("password_hash")?,
                role: r.get("role")?,
                disabled: r.get("disabled")?,
                session_epoch: r.get("session_epoch")?,
                created_at: r.get("created_at")?,
            })
        }) {
            return Ok(row);
        }
    }
    crate::with_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

/// One page of users, optionally filtered by a case-insensitive username substring, in
/// username order after `after` (keyset pagination).
pub async fn page(
    db: &Db,
    search: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let pattern = format!("%{}%", search.to_lowercase());
    crate::with_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE LOWER(username) LIKE $1 AND username > $2 \
         ORDER BY username LIMIT $3"
    ))
    .bind(pattern)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await)
}

pub async fn insert(
    db: &Db,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<i64, sqlx::Error> {
    let now = super::now_ms();
    crate::with_pool!(db, |pool| sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(pool)
    .await)
}

/// Creates the first admin only while there is no admin: the check and the insert are one
/// statement, serialised with every other change to the set of admins (see
/// [`super::serialized`]: on Postgres two setups would otherwise both find no admin in their
/// snapshots), so two concurrent setup requests, on any instances, cannot both succeed.
pub async fn insert_first_admin(
    db: &Db,
    username: &str,
    password_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let now = super::now_ms();
    super::serialized!(db, super::lock_ns::ADMINS, "", |conn| {
        sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
         SELECT $1, $2, 'admin', $3, $3 WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin') \
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
    })
}

pub async fn set_password(db: &Db, id: i64, password_hash: &str) -> Result<bool, sqlx::Error> {
    let r = crate::with_pool!(db, |pool| {
        sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(password_hash)
    .bind(super::now_ms())
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(r == 1)
}

/// SQL condition: applying the change to user `$id` still leaves an active admin. Part of the
/// same statement as the change, and that statement serialised with the other changes to the
/// admins (on Postgres each would otherwise count the other as still an admin), so two admins
/// demoting each other at once cannot both win.
const LEAVES_AN_ADMIN: &str = "(role <> 'admin' OR disabled = TRUE OR \
     (SELECT COUNT(*) FROM users AS o WHERE o.role = 'admin' AND o.disabled = FALSE AND o.id <> users.id) > 0)";

/// What a guarded change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    NoSuchUser,
    /// Refused: it would leave no active admin.
    LastAdmin,
}

async fn guarded(db: &Db, id: i64, affected: u64) -> Result<Change, sqlx::Error> {
    if affected == 1 {
        Ok(Change::Done)
    } else if by_id(db, id).await?.is_none() {
        Ok(Change::NoSuchUser)
    } else {
        Ok(Change::LastAdmin)
    }
}

pub async fn set_role(db: &Db, id: i64, role: Role) -> Result<Change, sqlx::Error> {
    let keep = if role == Role::Admin {
        "1 = 1"
    } else {
        LEAVES_AN_ADMIN
    };
    let r = super::serialized!(db, super::lock_ns::ADMINS, "", |conn| sqlx::query(
        &format!(
            "UPDATE users SET role = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3 AND {keep}"
        )
    )
    .bind(role.as_str())
    .bind(super::now_ms())
    .bind(id)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    guarded(db, id, r).await
}

pub async fn set_disabled(db: &Db, id: i64, disabled: bool) -> Result<Change, sqlx::Error> {
    let keep = if disabled { LEAVES_AN_ADMIN } else { "1 = 1" };
    let r = super::serialized!(db, super::lock_ns::ADMINS, "", |conn| sqlx::query(
        &format!(
            "UPDATE users SET disabled = $1, session_epoch = session_epoch + 1, updated_at = $2 \
         WHERE id = $3 AND {keep}"
        )
    )
    .bind(disabled)
    .bind(super::now_ms())
    .bind(id)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    guarded(db, id, r).await
}

pub async fn delete(db: &Db, id: i64) -> Result<Change, sqlx::Error> {
    let r = super::serialized!(db, super::lock_ns::ADMINS, "", |conn| sqlx::query(
        &format!("DELETE FROM users WHERE id = $1 AND {LEAVES_AN_ADMIN}")
    )
    .bind(id)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    guarded(db, id, r).await
}
