use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonaState {
    pub person_id: i64,
    pub username: String,
    pub block_id: String,
    pub value: String,
    pub limit: i64,
    pub description: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveOutcome {
    Saved(PersonaState),
    /// The block changed since it was loaded; nothing was written.
    Conflict {
        server: PersonaState,
    },
}

pub use crate::blocks::model::Version;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PersonaSave {
    pub person_id: i64,
    /// The value the editor loaded (to detect a change underneath).
    pub base: String,
    pub value: String,
    /// Empty: unchanged.
    #[serde(default)]
    pub limit: String,
    pub description: Option<String>,
}

#[server(prefix = "/api", endpoint = "staff/persona/get")]
pub async fn get_persona(person_id: i64) -> Result<PersonaState, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::load(&ctx.state, person_id).await
}

#[server(prefix = "/api", endpoint = "operator/persona/save")]
pub async fn save_persona(save: PersonaSave) -> Result<SaveOutcome, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::save(&ctx, save, "editor").await
}

#[server(prefix = "/api", endpoint = "staff/persona/history")]
pub async fn persona_history(person_id: i64) -> Result<Vec<Version>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::history(&ctx.state, person_id).await
}

#[server(prefix = "/api", endpoint = "operator/persona/restore")]
pub async fn restore_persona(
    person_id: i64,
    version_id: i64,
    base: String,
) -> Result<SaveOutcome, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::restore(&ctx, person_id, version_id, base).await
}
