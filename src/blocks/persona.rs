//! A person's persona block, read and saved by the id stored with the person (Letta's block
//! list is not trusted to find it), with its history kept per person.

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

/// How a save ended.
#[derive(Debug)]
pub enum Saved {
    /// Written (and kept in the history); the block is now `block`, `chars` long.
    Saved { block: Block, chars: i64 },
    /// The block changed since the editor loaded it: nothing written; this is the new value.
    Conflict { block: Block },
}

/// One save of a person's block: under the block's lock, re-read, checked by the one rule
/// ([`edit::check`]), written, and kept in the person's history as `source` by `actor`.
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
) -> Result<Saved, AppError> {
    let lock = locks.lock_for(block_id);
    let _guard = lock.lock().await;
    // Re-read under the lock: the agent may have rewritten the block since the editor loaded it.
    let current = read(db, client, person_id, block_id, default_limit).await?;
    let now = edit::Now {
        value: &current.value,
        limit: current.limit,
        description: &current.description,
        read_only: current.read_only,
    };
    let (update, limit, chars) = match edit::check(&now, &change)? {
        edit::Checked::Conflict => return Ok(Saved::Conflict { block: current }),
        edit::Checked::Write {
            update,
            limit,
            chars,
        } => (update, limit, chars),
    };
    client.blocks().update(block_id, &update).await?;
    history::add(
        db,
        history::Of::Person(person_id),
        change.value,
        source,
        Some(actor),
    )
    .await?;
    Ok(Saved::Saved {
        block: Block {
            value: change.value.to_string(),
            limit,
            description: change
                .description
                .map(str::to_string)
                .unwrap_or(current.description),
            read_only: current.read_only,
        },
        chars,
    })
}
