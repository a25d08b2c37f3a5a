//! Chat scenarios (issue #27): staff test an agent as several persons, repeatably. A scenario
//! is a named, ordered list of steps (a person and a message, with optional expectations on
//! the reply, the tools called and the person's persona block afterwards) for one agent, or
//! for any agent picked at run time. A run sends the steps as ordinary chat turns through the
//! chat feature's turn path (`chat::service::start_turn` / `stop_turn`, nothing below them),
//! in a background task, and records every step; two runs compare side by side.
//!
//! `model`: the wire types, the export file format and the input rules both ends check.
//! `service` (server): the rules, export/import and the run. `api`: guarded server functions.
//! `page`: the screens `/chat/scenarios` and `/chat/scenarios/:id`. SQL in `db::scenarios`.
//! Depends on `chat::model` and `chat::service`; nothing outside the chat feature depends on
//! it but the route table.

pub mod api;
pub mod model;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
