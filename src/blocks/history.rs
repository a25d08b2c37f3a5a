//! Every value the dashboard wrote to a block, or saw in it, in one table
//! (`db::block_history`): persona blocks kept per person (so the history survives a repaired
//! block), agents' other core blocks per Letta block id.

use crate::db::{block_history, Db};

pub use crate::db::block_history::{Of, VersionRow};

/// The newest value the dashboard knows of.
pub async fn last_known(db: &Db, of: Of<'_>) -> Result<Option<String>, sqlx::Error> {
    block_history::last_known_value(db, of).await
}

/// Keeps `value`, written by `actor` (none: seen in Letta) through `source`.
pub async fn add(
    db: &Db,
    of: Of<'_>,
    value: &str,
    source: &str,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    block_history::add(db, of, value, source, actor).await
}

/// Keeps `value` as "observed" if it is not the newest value known: the agent (or another
/// client) wrote it.
pub async fn observe(db: &Db, of: Of<'_>, value: &str) -> Result<(), sqlx::Error> {
    if last_known(db, of).await?.as_deref() != Some(value) {
        add(db, of, value, "observed", None).await?;
    }
    Ok(())
}

/// The latest 100 values, newest first.
pub async fn list(db: &Db, of: Of<'_>) -> Result<Vec<VersionRow>, sqlx::Error> {
    block_history::list(db, of).await
}

/// One kept value.
pub async fn get(db: &Db, of: Of<'_>, version_id: i64) -> Result<Option<String>, sqlx::Error> {
    block_history::get(db, of, version_id).await
}
