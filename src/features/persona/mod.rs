//! The persona editor: safe editing of a person's `Persona_` block. Letta has no versions, no
//! ETags, and enforces neither the block's limit nor `read_only`, so the dashboard does: it
//! serialises saves per block, re-reads before writing, refuses a save over the limit, and keeps
//! every value it writes or sees.

pub mod api;
pub mod doc;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
