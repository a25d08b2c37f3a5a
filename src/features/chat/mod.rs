//! Chat: staff talk to an agent as a person. Each message attaches the person's `Persona_`
//! block, sends with the person's identity as `sender_id`, and detaches the block again:
//! always, and never two persons' blocks on one agent at once (see `turn`).

pub mod activity;
pub mod api;
#[cfg(feature = "ssr")]
pub mod ledger;
pub mod model;
pub mod page;
pub mod scenarios;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod turn;
