//! Persons: local records bound to a Letta identity (type `user`) and a `Persona_<username>`
//! core memory block, whose ids live in our database and are always used from there.

pub mod api;
pub mod csv;
pub mod page;
#[cfg(feature = "ssr")]
pub mod saga;
#[cfg(feature = "ssr")]
pub mod service;
