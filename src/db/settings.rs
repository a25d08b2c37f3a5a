use sqlx::SqlitePool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingRow {
    pub key: String,
    pub value: String,
    pub source: String,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

pub async fn get(db: &SqlitePool, key: &str) -> Result<Option<SettingRow>, sqlx::Error> {
    sqlx::query_as("SELECT key, value, source, updated_at, updated_by FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(db)
        .await
}

pub async fn put(
    db: &SqlitePool,
    key: &str,
    value: &str,
    source: &str,
    updated_by: Option<&str>,
) -> Result<(), sqlx::Error> {
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
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts only if the key has never been set: how environment defaults are copied in once.
pub async fn put_if_absent(
    db: &SqlitePool,
    key: &str,
    value: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO settings (key, value, source, updated_at, updated_by) VALUES ($1, $2, $3, $4, NULL) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(source)
    .bind(super::now_ms())
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Every setting's key, value and time of change, for telling whether another instance saved
/// something since this one last read them.
pub async fn fingerprint(db: &SqlitePool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT key, value, updated_at FROM settings ORDER BY key")
        .fetch_all(db)
        .await
}
