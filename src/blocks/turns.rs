//! The chat turns of this process, as the block layer keeps them: which turn holds which
//! person's block on which agent, so nothing else (an operator's detach, a person's deletion,
//! the sweeper) pulls a block from under a running turn.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::lease::AgentLocks;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::instance::Instance;

/// How long the agent's block list, as the dashboard last saw it after a detach, is trusted to
/// answer "was the block attached before this turn" without asking Letta (which costs a
/// request on the critical path of every turn).
const KNOWN_BLOCKS_FRESH: Duration = Duration::from_secs(30);

/// A chat turn running (or waiting for its agent) in this process.
pub struct ActiveTurn {
    /// The dashboard user who sent it (the stop button is theirs, and operators').
    pub user_id: i64,
    pub person_id: i64,
    pub agent_id: String,
    /// The person's persona block, attached for the turn.
    pub block_id: String,
    /// Set to stop the turn.
    pub stop: watch::Sender<bool>,
}

/// A turn's place among the running ones: the turn counts as running here until this is
/// dropped (when its task ends, however it ends).
pub struct Registered {
    active: Arc<Mutex<HashMap<String, ActiveTurn>>>,
    turn_id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.turn_id);
    }
}

/// An agent's attached block ids as last seen, and when.
type KnownBlocks = (HashSet<String>, Instant);

/// The turns of this process: the per-agent lease, the turns running here, what the dashboard
/// last saw attached to each agent, and each user's turn count.
#[derive(Clone)]
pub struct Turns {
    /// One turn per agent, across every dashboard process sharing the database.
    pub locks: Arc<dyn AgentLocks>,
    /// The turns running here, by turn id.
    active: Arc<Mutex<HashMap<String, ActiveTurn>>>,
    known_blocks: Arc<Mutex<HashMap<String, KnownBlocks>>>,
    /// Turns each user has running or waiting (see [`UserSlot`]).
    per_user: Arc<Mutex<HashMap<i64, usize>>>,
}

/// One of a user's running-or-waiting turns, counted from the moment the request arrives
/// (before anything slow) until the turn's task ends, so the cap holds however many tabs send
/// at once. Dropping it frees the place.
pub struct UserSlot {
    per_user: Arc<Mutex<HashMap<i64, usize>>>,
    user_id: i64,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut counts = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.user_id);
            }
        }
    }
}

impl Turns {
    pub fn with_locks(locks: Arc<dyn AgentLocks>) -> Self {
        Turns {
            locks,
            active: Default::default(),
            known_blocks: Default::default(),
            per_user: Default::default(),
        }
    }

    /// A place for one more turn of `user_id`, if they have fewer than `max` running or
    /// waiting.
    pub fn take_user_slot(&self, user_id: i64, max: usize) -> Result<UserSlot, AppError> {
        let mut counts = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(user_id).or_insert(0);
        if *n >= max {
            return Err(AppError::Limit(format!(
                "You already have {max} conversations running or waiting. Wait for one to \
                 finish (or stop it), then send again."
            )));
        }
        *n += 1;
        Ok(UserSlot {
            per_user: self.per_user.clone(),
            user_id,
        })
    }

    /// Registers a turn as running here until the returned value is dropped.
    pub fn register(&self, turn_id: &str, turn: ActiveTurn) -> Registered {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(turn_id.to_owned(), turn);
        Registered {
            active: self.active.clone(),
            turn_id: turn_id.to_owned(),
        }
    }

    /// Asks a running turn to stop, if `may` allows it for the turn's sender (else
    /// `Forbidden`). `Ok(false)`: no such turn here.
    pub fn stop(
        &self,
        turn_id: &str,
        may: impl FnOnce(&ActiveTurn) -> bool,
    ) -> Result<bool, AppError> {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let Some(turn) = active.get(turn_id) else {
            return Ok(false);
        };
        if !may(turn) {
            return Err(AppError::Forbidden);
        }
        turn.stop.send_replace(true);
        Ok(true)
    }

    /// Whether the turn is running here.
    pub fn is_active(&self, turn_id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(turn_id)
    }

    /// Forget what the dashboard knows of an agent's blocks (someone changed them).
    pub fn forget_blocks(&self, agent_id: &str) {
        self.known_blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(agent_id);
    }

    /// What Letta said is attached to the agent, just now.
    pub fn remember_blocks(&self, agent_id: &str, blocks: HashSet<String>) {
        self.known_blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(agent_id.to_owned(), (blocks, Instant::now()));
    }

    /// Whether the block is attached to the agent, if the dashboard saw it recently.
    pub fn known_attached(&self, agent_id: &str, block_id: &str) -> Option<bool> {
        let known = self.known_blocks.lock().unwrap_or_else(|e| e.into_inner());
        let (blocks, at) = known.get(agent_id)?;
        (at.elapsed() < KNOWN_BLOCKS_FRESH).then(|| blocks.contains(block_id))
    }

    /// Whether a chat turn is using the person's block: running or waiting here, or journaled
    /// (attached and not yet detached, by this process or one that crashed).
    pub async fn person_in_turn(&self, db: &Db, person_id: i64) -> Result<bool, AppError> {
        let running = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|t| t.person_id == person_id);
        Ok(running
            || db::chat::person_attached(db, person_id)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "chat journal");
                    AppError::Internal
                })?)
    }

    /// Whether a turn running here (or waiting for the agent) uses this block on this agent.
    pub fn turn_holds(&self, agent_id: &str, block_id: &str) -> bool {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|t| t.agent_id == agent_id && t.block_id == block_id)
    }
}

impl Turns {
    /// Whether a chat turn uses this block on this agent right now: one running here, or a
    /// journal row of another live instance (its turn, or its own retry of a failed detach).
    pub async fn in_use(
        &self,
        db: &Db,
        instance: &Instance,
        agent_id: &str,
        block_id: &str,
    ) -> bool {
        if self.turn_holds(agent_id, block_id) {
            return true;
        }
        let Ok(rows) = db::chat::attachments_on(db, agent_id).await else {
            return true; // unknown: do not detach
        };
        let me = instance.id();
        for row in rows.iter().filter(|r| r.block_id == block_id) {
            if let Some(id) = row.instance_id.as_deref().filter(|id| *id != me) {
                if instance.is_alive(id).await.unwrap_or(true) {
                    return true;
                }
            }
        }
        false
    }

    /// Number of turns running in this process (waiting, streaming or in the background).
    pub fn active_turns(&self) -> usize {
        self.active.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Turns {
    /// A block was detached by hand (the agent page): forget what was known of the agent's
    /// blocks, and drop journal rows of ended turns for it (they were waiting for the sweeper).
    pub async fn detached_outside_turn(&self, db: &Db, agent_id: &str, block_id: &str) {
        self.forget_blocks(agent_id);
        let Ok(rows) = db::chat::attachments_on(db, agent_id).await else {
            return;
        };
        for row in rows {
            if row.block_id == block_id && !self.is_active(&row.turn_id) {
                if let Err(e) = db::chat::unjournal(db, &row.turn_id).await {
                    // The sweeper's detach will get a 404 and remove it.
                    tracing::error!(error = %e, turn_id = row.turn_id, "chat journal delete");
                }
            }
        }
    }
}
