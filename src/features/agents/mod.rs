//! Agents (staff read, operators change): the list with filters and pages, create / rename /
//! delete, and one agent's page: details, linked identities, the persons who chatted with it,
//! its core memory blocks (edited with the persona editor's rules), the context window and its
//! archival memory (passages: browse, semantic search, add, replace, delete).
//!
//! `model` holds the types and validation shared by browser and server; `api` the guarded
//! server functions; `service` (server only) their logic; the views are in `page` (the list),
//! `detail` (one agent), `blocks`, `context` and `archival` (its cards).

pub mod api;
pub mod archival;
pub mod blocks;
pub mod context;
pub mod detail;
pub mod model;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
