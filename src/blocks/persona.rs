//! A person's persona block, read and saved by the id stored with the person (Letta's block
//! list is not trusted to find it), with its history kept per person.

use super::save::{Current, Saved};
use super::{edit, history, locks::BlockLocks};
use crate::{db::Db, error::AppError, letta::LettaClient};

/// The block as Letta has it now.
#[derive(Debug, Clone)]
pub struct Block {
    pub value: String,
    pub limit: i64,
    pub description: String,
    pub read_only: bool,
}

/// Reads the person's block, keeping a value not seen before as "observed".
/// `default_limit`: the person's own limit, for a block Letta reports without one.
pub async fn read(
    db: &Db,
    client: &LettaClient,
    person_id: i64,
    block_id: &str,
    default_limit: i64,
) -> Result<Block, AppError> {
    let block = client.blocks().get(block_id).await?;
    history::observe(db, history::Of::Person(person_id), &block.value).await?;
    Ok(Block {
        limit: block.limit.map(|l| l as i64).unwrap_or(default_limit),
        description: block.description.unwrap_or_default(),
        read_only: block.read_only,
        value: block.value,
    })
}

impl Current for Block {
    fn now(&self) -> edit::Now<'_> {
        edit::Now {
            value: &self.value,
            limit: self.limit,
            description: &self.description,
            read_only: self.read_only,
        }
    }

    fn written(self, value: &str, description: Option<&str>, limit: i64) -> Block {
        Block {
            value: value.to_string(),
            limit,
            description: description.map_or(self.description, str::to_string),
            read_only: self.read_only,
        }
    }
}

/// The audit actions of a person's block: `persona.{source}`.
pub const AUDIT_PREFIX: &str = "persona.";

/// One save of a person's block ([`super::save::save`]), kept in the person's history as
/// `source` by `actor`.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    db: &Db,
    client: &LettaClient,
    locks: &BlockLocks,
    person_id: i64,
    block_id: &str,
    default_limit: i64,
    change: edit::Edit<'_>,
    source: &str,
    actor: &str,
) -> Result<Saved<Block>, AppError> {
    super::save::save(
        db,
        client,
        locks,
        block_id,
        history::Of::Person(person_id),
        || read(db, client, person_id, block_id, default_limit),
        change,
        source,
        actor,
    )
    .await
}
