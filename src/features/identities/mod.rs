//! Letta identities (operators and admins): the list with server-side filters and cursor
//! pagination, create, upsert by key, edit, the properties editor, agent links, delete.
//!
//! `model` (types and validation shared by browser and server) may be used by other features
//! (persons link to identities); `api` holds the guarded server functions, `editor` the shared
//! form pieces, `page` the two screens.

pub mod api;
pub mod editor;
pub mod model;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
