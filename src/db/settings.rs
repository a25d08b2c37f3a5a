use super::Db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingRow {
    pub key: String,
    pub value: String,
    pub source: String,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub async fn get(db: &Db, key: &str) -> Result<Option<SettingRow>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT key, value, source, updated_at, updated_by FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await)
}

pub async fn put(
    db: &Db,
    key: &str,
    value: &str,
    source: &str,
    updated_by: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO settings (key, value, source, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, source = excluded.source, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(key)
    .bind(value)
    .bind(source)
    .bind(super::now_ms())
    .bind(updated_by)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Inserts only if the key has never been set: how environment defaults are copied in once.
pub async fn put_if_absent(
    db: &Db,
    key: &str,
    value: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let r = crate::with_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO settings (key, value, source, updated_at, updated_by) VALUES ($1, $2, $3, $4, NULL) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(source)
    .bind(super::now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(r == 1)
}

/// Every setting's key, value and time of change, for telling whether another instance saved
/// something since this one last read them.
pub async fn fingerprint(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    crate::with_pool!(db, |pool| sqlx::query_as(
        "SELECT key, value, updated_at FROM settings ORDER BY key"
    )
    .fetch_all(pool)
    .await)
}
