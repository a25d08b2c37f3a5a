//! Every value the dashboard wrote to a block, or saw in it: one interface over the history
//! of persona blocks (kept per person, so it survives a repaired block) and of agents' other
//! core blocks (kept per Letta block id).

use crate::db::{self, Db};

pub use crate::db::persons::VersionRow;

/// Whose history.
#[derive(Debug, Clone, Copy)]
pub enum Of<'a> {
    /// A person's persona block.
    Person(i64),
    /// Any other block, by its Letta id.
    Block(&'a str),
}

/// The newest value the dashboard knows of.
pub async fn last_known(db: &Db, of: Of<'_>) -> Result<Option<String>, sqlx::Error> {
    match of {
        Of::Person(id) => db::persons::last_known_value(db, id).await,
        Of::Block(id) => db::block_versions::last_known_value(db, id).await,
    }
}

/// Keeps `value`, written by `actor` (none: seen in Letta) through `source`.
pub async fn add(
    db: &Db,
    of: Of<'_>,
    value: &str,
    source: &str,
    actor: Option<&str>,
) -> Result<(), sqlx::Error> {
    match of {
        Of::Person(id) => db::persons::add_version(db, id, value, source, actor).await,
        Of::Block(id) => db::block_versions::add(db, id, value, source, actor).await,
    }
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
    match of {
        Of::Person(id) => db::persons::versions(db, id).await,
        Of::Block(id) => db::block_versions::list(db, id).await,
    }
}

/// One kept value.
pub async fn get(db: &Db, of: Of<'_>, version_id: i64) -> Result<Option<String>, sqlx::Error> {
    match of {
        Of::Person(id) => db::persons::version(db, id, version_id).await,
        Of::Block(id) => db::block_versions::get(db, id, version_id).await,
    }
}
