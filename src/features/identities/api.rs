//! Identities on the Letta server (operators and admins): list, create, upsert by key, edit,
//! replace properties, link agents, delete. Every write is audited.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::model::*;
use crate::error::AppError;

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRow {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    pub identity_type: IdentityKind,
    pub property_count: usize,
}

/// The list's query: the filters (as in the URL) and a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ListQuery {
    /// Case-insensitive substring of the name.
    #[serde(default)]
    pub name: String,
    /// The exact identifier key.
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub identity_type: Option<IdentityKind>,
    /// Identities older than this id (the next page).
    #[serde(default)]
    pub after: Option<String>,
    /// Identities newer than this id (the previous page).
    #[serde(default)]
    pub before: Option<String>,
    /// One of [`PAGE_SIZES`]; anything else is the default.
    #[serde(default)]
    pub size: u32,
}

impl ListQuery {
    pub fn is_filtered(&self) -> bool {
        !self.name.trim().is_empty() || !self.key.trim().is_empty() || self.identity_type.is_some()
    }

    pub fn page_size(&self) -> u32 {
        page_size(self.size)
    }
}

pub use crate::components::pager::{page_size, DEFAULT_PAGE_SIZE, PAGE_SIZES};
/// With a filter, the matches are counted by listing them (the server's count ignores filters);
/// beyond this many the page says "more than".
pub const MATCH_COUNT_CAP: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityList {
    pub rows: Vec<IdentityRow>,
    /// Every identity on the server (`GET /v1/identities/count`, which ignores filters).
    pub total: u64,
    /// With a filter: how many match (at most [`MATCH_COUNT_CAP`], then `matching_capped`).
    pub matching: Option<u64>,
    pub matching_capped: bool,
    /// Cursor for the newer page (`before`), if there is one.
    pub newer: Option<String>,
    /// Cursor for the older page (`after`), if there is one.
    pub older: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAgent {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedBlock {
    pub id: String,
    pub label: String,
    /// The start of the block's value.
    pub preview: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDetail {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    pub identity_type: IdentityKind,
    /// In the server's order, values as form text.
    pub properties: Vec<PropertyInput>,
    /// From `/v1/identities/{id}/agents` (the identity's own `agent_ids` is always empty).
    pub agents: Vec<LinkedAgent>,
    /// From `/v1/identities/{id}/blocks` (the identity's own `block_ids` is always empty).
    pub blocks: Vec<LinkedBlock>,
    /// The dashboard person that uses this identity. Hook for the persons feature (being built
    /// in parallel): always `None` until it fills this in.
    pub linked_person: Option<String>,
}

/// The answer of create / upsert / edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySaved {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    /// True when a new identity was made (an upsert tells which it did).
    pub created: bool,
}

/// An agent offered for linking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChoice {
    pub id: String,
    pub name: String,
    pub linked: bool,
}

/// How many agents a link search shows.
pub const AGENT_CHOICES: u32 = 20;

#[server(prefix = "/api", endpoint = "operator/identities/list")]
pub async fn list_identities(query: ListQuery) -> Result<IdentityList, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::list(&ctx, query).await
}

#[server(prefix = "/api", endpoint = "operator/identities/get")]
pub async fn get_identity(id: String) -> Result<IdentityDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::detail(&ctx, &id).await
}

#[server(prefix = "/api", endpoint = "operator/identities/create")]
pub async fn create_identity(input: IdentityInput) -> Result<IdentitySaved, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::create(&ctx, input).await
}

#[server(prefix = "/api", endpoint = "operator/identities/upsert")]
pub async fn upsert_identity(input: IdentityInput) -> Result<IdentitySaved, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::upsert(&ctx, input).await
}

#[server(prefix = "/api", endpoint = "operator/identities/update")]
pub async fn update_identity(
    id: String,
    details: IdentityDetailsInput,
) -> Result<IdentitySaved, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::update(&ctx, &id, details).await
}

#[server(prefix = "/api", endpoint = "operator/identities/set_properties")]
pub async fn set_identity_properties(
    input: PropertiesInput,
) -> Result<Vec<PropertyInput>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::set_properties(&ctx, input).await
}

/// `confirm_person`: the second confirmation needed when a dashboard person uses the identity.
#[server(prefix = "/api", endpoint = "operator/identities/delete")]
pub async fn delete_identity(
    id: String,
    #[server(default)] confirm_person: bool,
) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::delete(&ctx, &id, confirm_person).await
}

#[server(prefix = "/api", endpoint = "operator/identities/agent_choices")]
pub async fn identity_agent_choices(
    id: String,
    search: String,
) -> Result<Vec<AgentChoice>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::agent_choices(&ctx, &id, &search).await
}

#[server(prefix = "/api", endpoint = "operator/identities/link_agent")]
pub async fn link_identity_agent(id: String, agent_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::link_agent(&ctx, &id, &agent_id, true).await
}

#[server(prefix = "/api", endpoint = "operator/identities/unlink_agent")]
pub async fn unlink_identity_agent(id: String, agent_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::link_agent(&ctx, &id, &agent_id, false).await
}
