//! The Overview: the state of the Letta server and of the dashboard at a glance, per role.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
