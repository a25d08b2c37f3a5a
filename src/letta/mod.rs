//! (Server-side only, `ssr`.) The typed client for the Letta 0.16.8 agent server.
//!
//! One `send` core in `client.rs` (auth header, timeout, user agent, trailing-slash rules,
//! GET-only retries, status checking, decoding) and one small borrowed accessor per resource:
//! `client.identities().list(&filter)`, `client.blocks().get(id)`,
//! `client.agents().attach_block(agent, block)`, `client.messages().stream(agent, &msgs)`, ...
//!
//! Every quirk of the server (shared/letta/NOTES.md) is handled once, here, with a comment
//! naming it (`Letta quirk (NOTES: <section>)`). Errors are [`LettaError`]: their `Display` is
//! short and never contains a server body (Letta bodies hold raw SQL); the raw body is kept for
//! logs only ([`LettaError::log_detail`]).
//!
//! Depends only on external crates; the rest of the app depends on it, never the reverse.

pub mod agents;
pub mod blocks;
pub mod client;
pub mod error;
pub mod identities;
pub mod ids;
pub mod messages;
pub mod models;
pub mod paging;
pub mod passages;
pub mod runs;
pub mod types;

pub use client::{http_client, Connection, LettaClient};
pub use error::LettaError;
pub use messages::EventStream;
pub use types::*;
