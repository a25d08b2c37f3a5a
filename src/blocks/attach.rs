//! A person's block on an agent for one chat turn, held as one guard value.
//!
//! [`Attachment::take`] journals the block (`chat_attachments`) and then attaches it;
//! [`Attachment::release`] detaches it and removes the journal row. From the journal write on
//! the block counts as attached, whatever the attach answered: a failed (or timed-out) attach
//! may still have happened on the server. A release whose detach fails, or a guard dropped
//! without a release (a panic in the turn), leaves the row: the sweeper ([`sweep`]) detaches it
//! later, and no turn starts on that agent while the row is there ([`clear_leftovers`]).

use std::collections::HashSet;
use std::time::Duration;

use super::lease::AgentLease;
use super::turns::Turns;
use crate::db::{self, Db};
use crate::instance::Instance;
use crate::letta::error::LettaError;
use crate::letta::types::AgentState;
use crate::letta::LettaClient;

/// How many times a release tries the detach before it leaves the row for the sweeper.
const DETACH_TRIES: u32 = 3;

/// What the layer needs to change an agent's blocks.
#[derive(Clone, Copy)]
pub struct Io<'a> {
    pub db: &'a Db,
    pub instance: &'a Instance,
    pub turns: &'a Turns,
    pub client: &'a LettaClient,
}

/// The block one turn puts on one agent.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub turn_id: &'a str,
    pub agent_id: &'a str,
    pub block_id: &'a str,
    pub person_id: i64,
}

/// Why the attach of a taken [`Attachment`] did not happen (or may not have).
#[derive(Debug)]
pub enum AttachError {
    /// The turn no longer owns the agent (its process was paused past the lease): nothing was
    /// sent to Letta.
    LeaseLost,
    /// Letta refused or did not answer in time.
    Letta(LettaError),
}

/// A journaled (and attached) block. Release it: dropping it only leaves the row for the
/// sweeper.
#[must_use = "an attachment is released with `release`; dropping it leaves the block for the sweeper"]
pub struct Attachment {
    turn_id: String,
    agent_id: String,
    block_id: String,
    released: bool,
}

impl Attachment {
    /// Journals the block, then attaches it (if the turn still owns the agent). `Err`: the
    /// journal could not be written and nothing was attached. `Ok`: the guard, to be released
    /// whatever the attach answered, and that answer (the agent as Letta returned it).
    pub async fn take(
        io: Io<'_>,
        target: Target<'_>,
        lease: &dyn AgentLease,
    ) -> Result<(Attachment, Result<AgentState, AttachError>), sqlx::Error> {
        db::chat::journal(
            io.db,
            target.turn_id,
            target.agent_id,
            target.block_id,
            target.person_id,
            &io.instance.id(),
        )
        .await?;
        let attachment = Attachment {
            turn_id: target.turn_id.to_owned(),
            agent_id: target.agent_id.to_owned(),
            block_id: target.block_id.to_owned(),
            released: false,
        };
        io.turns.forget_blocks(target.agent_id);
        if !lease.still_held().await {
            return Ok((attachment, Err(AttachError::LeaseLost)));
        }
        let attached = io
            .client
            .agents()
            .attach_block(target.agent_id, target.block_id)
            .await
            .map_err(AttachError::Letta);
        Ok((attachment, attached))
    }

    /// Detaches the block (a few tries) and removes its journal row. `false`: still attached;
    /// the row stays for the sweeper, and no other turn starts on the agent until it is gone.
    pub async fn release(mut self, io: Io<'_>) -> bool {
        self.released = true;
        for attempt in 0..DETACH_TRIES {
            match io
                .client
                .agents()
                .detach_block(&self.agent_id, &self.block_id)
                .await
            {
                Ok(agent) => {
                    io.turns.remember_blocks(
                        &self.agent_id,
                        agent.blocks.into_iter().map(|b| b.id).collect(),
                    );
                    return unjournal(io.db, &self.turn_id).await;
                }
                // Already detached (or the agent/block is gone): nothing is attached.
                Err(e) if e.is_not_found() => return unjournal(io.db, &self.turn_id).await,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        turn_id = self.turn_id,
                        agent_id = self.agent_id,
                        attempt,
                        "detach failed"
                    );
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
        io.turns.forget_blocks(&self.agent_id);
        false
    }

    /// Gives the guard up without touching the agent: the turn lost its lease, so the
    /// instance that swept its journal row detached the block already.
    pub fn abandon(mut self) {
        self.released = true;
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if !self.released {
            tracing::error!(
                turn_id = self.turn_id,
                agent_id = self.agent_id,
                "attachment dropped without release; the sweeper detaches its block"
            );
        }
    }
}

/// Whether the block was on the agent before the turn (then the turn leaves it there). What
/// this process last saw of the agent's blocks is trusted only while no other instance runs
/// (another could have changed them); otherwise Letta is asked.
pub async fn attached_before(
    io: Io<'_>,
    agent_id: &str,
    block_id: &str,
) -> Result<bool, LettaError> {
    if io.instance.alone() {
        if let Some(known) = io.turns.known_attached(agent_id, block_id) {
            return Ok(known);
        }
    }
    let blocks = io.client.agents().core_blocks(agent_id).await?;
    let ids: HashSet<String> = blocks.into_iter().map(|b| b.id).collect();
    let there = ids.contains(block_id);
    io.turns.remember_blocks(agent_id, ids);
    Ok(there)
}

/// Detaches what earlier turns left journaled on the agent (a failed detach, a process that
/// died). Called holding the agent, so no running turn can be using those blocks. `Ok(false)`:
/// one is still attached.
pub async fn clear_leftovers(io: Io<'_>, agent_id: &str) -> Result<bool, sqlx::Error> {
    for row in db::chat::attachments_on(io.db, agent_id).await? {
        if !detach_leftover(io, &row).await {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Detaches one journaled block and removes its row. `false`: Letta did not detach it.
pub async fn detach_leftover(io: Io<'_>, row: &db::chat::AttachmentRow) -> bool {
    match io
        .client
        .agents()
        .detach_block(&row.agent_id, &row.block_id)
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            tracing::warn!(error = %e, turn = row.turn_id, "sweeper: detach failed");
            return false;
        }
    }
    io.turns.forget_blocks(&row.agent_id);
    tracing::info!(
        turn = row.turn_id,
        agent = row.agent_id,
        block = row.block_id,
        "detached a persona block left by an earlier turn"
    );
    unjournal(io.db, &row.turn_id).await
}

/// Whose journal row (or background run) the sweeper may act on: this instance's own whose
/// turn is not running here (a failed detach), and those of instances that are no longer alive
/// (or of none: written before instances existed). Never a live instance's: it retries its own.
pub async fn orphaned(
    instance: &Instance,
    turns: &Turns,
    row_instance: Option<&str>,
    turn_id: &str,
) -> bool {
    match row_instance {
        Some(id) if id == instance.id() => !turns.is_active(turn_id),
        Some(id) => match instance.is_alive(id).await {
            Ok(alive) => !alive,
            Err(e) => {
                tracing::error!(error = %e, "sweeper: instance lookup");
                false
            }
        },
        None => !turns.is_active(turn_id),
    }
}

/// Detaches every journaled block the sweeper may act on (see [`orphaned`]). Returns how many
/// of those rows are left (the detach failed).
pub async fn sweep(io: Io<'_>) -> usize {
    let rows = match db::chat::attachments(io.db).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "sweeper: journal read");
            return 0;
        }
    };
    let mut left = 0;
    for row in rows {
        if !orphaned(
            io.instance,
            io.turns,
            row.instance_id.as_deref(),
            &row.turn_id,
        )
        .await
        {
            continue;
        }
        if !detach_leftover(io, &row).await {
            left += 1;
        }
    }
    left
}

async fn unjournal(db: &Db, turn_id: &str) -> bool {
    if let Err(e) = db::chat::unjournal(db, turn_id).await {
        // Detached, but the row stays: the sweeper's detach will get a 404 and remove it.
        tracing::error!(error = %e, turn_id, "chat journal delete");
    }
    true
}
