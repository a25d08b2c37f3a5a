//! The one save of a core memory block, for every editor (a person's persona, any block on an
//! agent page): under the block's lock, re-read, checked by the one rule ([`edit::check`]),
//! written, and kept in its history. Only how the block is re-read and whose history it is
//! differ between the editors; they pass those in.

use std::future::Future;

use super::{edit, history, locks::BlockLocks};
use crate::{db::audit::Outcome, db::Db, error::AppError, letta::LettaClient};

/// A block as an editor knows it.
pub trait Current: Sized {
    /// What the rule compares against.
    fn now(&self) -> edit::Now<'_>;
    /// The block after a write of `value` (and `description`, if given) with `limit`.
    fn written(self, value: &str, description: Option<&str>, limit: i64) -> Self;
}

/// How a save ended.
#[derive(Debug)]
pub enum Saved<B> {
    /// Written and kept in the history: the block is now `block`, `chars` characters long.
    Written { block: B, chars: i64 },
    /// The block changed since the editor loaded it: nothing written; this is the new value.
    Conflict { now: B },
    /// Letta refused the write (nothing is kept in the history).
    Refused(AppError),
}

impl<B> Saved<B> {
    /// What the audit log records of it: the action (`{prefix}{source}`, a conflict as
    /// `{prefix}save`), the outcome and the detail. `None` for a refused write, which the
    /// caller records with its reason.
    pub fn audit(&self, prefix: &str, source: &str) -> Option<(String, Outcome, String)> {
        match self {
            Saved::Written { chars, .. } => Some((
                format!("{prefix}{source}"),
                Outcome::Ok,
                format!("{chars} characters"),
            )),
            Saved::Conflict { .. } => {
                Some((format!("{prefix}save"), Outcome::Denied, "conflict".into()))
            }
            Saved::Refused(_) => None,
        }
    }
}

/// One save of block `block_id`: `reread` reads it as it is now (taken under the lock, so
/// a concurrent save or the agent's own rewrite is seen), `of` is the history it belongs to,
/// `source` and `actor` say how and by whom it was changed.
#[allow(clippy::too_many_arguments)]
pub async fn save<B, F, Fut>(
    db: &Db,
    client: &LettaClient,
    locks: &BlockLocks,
    block_id: &str,
    of: history::Of<'_>,
    reread: F,
    change: edit::Edit<'_>,
    source: &str,
    actor: &str,
) -> Result<Saved<B>, AppError>
where
    B: Current,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<B, AppError>>,
{
    let lock = locks.lock_for(block_id);
    let _guard = lock.lock().await;
    let before = reread().await?;
    let (update, limit, chars) = match edit::check(&before.now(), &change)? {
        edit::Checked::Conflict => return Ok(Saved::Conflict { now: before }),
        edit::Checked::Write {
            update,
            limit,
            chars,
        } => (update, limit, chars),
    };
    if let Err(e) = client.blocks().update(block_id, &update).await {
        return Ok(Saved::Refused(e.into()));
    }
    history::add(db, of, change.value, source, Some(actor)).await?;
    Ok(Saved::Written {
        block: before.written(change.value, change.description, limit),
        chars,
    })
}
