//! `AppState`: what every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    auth::setup_token::SetupToken, config::Config, connection::LettaHub, crypto::SecretBox,
};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: crate::db::Db,
    pub config: Arc<Config>,
    pub secrets: SecretBox,
    pub setup: SetupToken,
    /// The Letta connection, rebuilt whenever the settings change.
    pub letta: LettaHub,
    pub persons: crate::features::persons::service::PersonsRuntime,
    pub persona_locks: crate::features::persona::service::BlockLocks,
    /// Chat turns: per-agent locks, running turns.
    pub chat: crate::features::chat::service::ChatRuntime,
    /// This process among the dashboards sharing the database.
    pub instance: crate::instance::Instance,
    /// Rendered pages kept while nothing they show has changed (the persons list).
    pub pages: Arc<crate::page_cache::PageCache>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for crate::db::Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
