//! `AppState`: what every request handler and server function can reach. It holds only what
//! lives below the features (configuration, the database, the Letta connection, the block
//! layer, this instance, the page cache): no feature defines state kept here.

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
    /// The memory-block layer: block locks, the agent lease, the running chat turns.
    pub blocks: crate::blocks::Blocks,
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
