//! The memory-block layer: how the dashboard changes Letta core memory blocks safely, under
//! every feature that does.
//!
//! The features (persona editing, agents' core memory, chat, persons) call down into this
//! layer; it depends only on the layers below it (`db`, `letta`, `instance`, `error`) and
//! never on a feature. `AppState` holds its [`Blocks`].
//!
//! - [`locks`]: one lock per block, taken by every editor of that block;
//! - [`edit`]: the one compare-and-save rule (based-on value, read-only, limit, length);
//! - [`save`]: the one save sequence (lock, re-read, check, write, history) for every editor;
//! - [`history`]: every value written or seen, one interface for persona and other blocks;
//! - [`persona`]: a person's block, read and saved by the id stored with the person;
//! - [`lease`]: one chat turn per agent, queued in the database for every process;
//! - [`turns`]: the turns running in this process, and which block each holds on which agent;
//! - [`attach`]: a person's block on an agent for one turn, as one guard (journal + attach,
//!   detach + unjournal), and the sweeper of what a failed detach left.

#[cfg(feature = "ssr")]
pub mod attach;
#[cfg(feature = "ssr")]
pub mod edit;
#[cfg(feature = "ssr")]
pub mod history;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod locks;
pub mod model;
#[cfg(feature = "ssr")]
pub mod persona;
#[cfg(feature = "ssr")]
pub mod save;
#[cfg(feature = "ssr")]
pub mod turns;

/// The layer's state, shared by every request (held by `AppState`).
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Blocks {
    pub locks: locks::BlockLocks,
    pub turns: turns::Turns,
}
