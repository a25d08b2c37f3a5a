//! One folder per screen: `api.rs` (thin, guarded server functions whose logic lives in an
//! `ssr` module), `page.rs` (the view).

pub mod agents;
pub mod audit;
pub mod chat;
pub mod home;
pub mod identities;
pub mod login;
pub mod not_found;
pub mod persona;
pub mod persons;
pub mod settings;
pub mod setup;
pub mod users;
