//! The agents feature's server functions: staff read (`/api/staff/agents/...`), operators
//! change (`/api/operator/agents/...`). Thin: guard first, then [`super::service`]. Every write
//! is audited there.
//!
//! Nothing here carries a passage's embedding: [`crate::letta::Passage`] drops it while decoding
//! and the rows below have no such field.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::model::*;
pub use crate::blocks::model::Version;
use crate::error::AppError;

pub use crate::components::pager::{page_size, DEFAULT_PAGE_SIZE, PAGE_SIZES};
/// How many of the newest messages are read to find who chatted with an agent.
pub const CHATTER_SCAN: u32 = 1000;

/// The agents list's query (as in the URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AgentListQuery {
    /// Part of the name (case-insensitive).
    #[serde(default)]
    pub search: String,
    /// Agents having this tag.
    #[serde(default)]
    pub tag: String,
    /// Agents linked to the identity with this identifier key (a person's key is its username).
    #[serde(default)]
    pub identity: String,
    /// Agents older than this id (the next page).
    #[serde(default)]
    pub after: Option<String>,
    /// Agents newer than this id (the previous page).
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub size: u32,
}

impl AgentListQuery {
    pub fn is_filtered(&self) -> bool {
        ![&self.search, &self.tag, &self.identity]
            .iter()
            .all(|s| s.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: String,
    pub name: String,
    pub model: Option<String>,
    pub tags: Vec<String>,
    /// When its last run completed (RFC 3339), if it ever ran.
    pub last_run: Option<String>,
    pub created_at: Option<String>,
    pub block_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPage {
    pub rows: Vec<AgentRow>,
    /// How many agents match the filters (all of them without filters).
    pub matching: u64,
    pub newer: Option<String>,
    pub older: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    pub handle: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoices {
    pub llm: Vec<ModelChoice>,
    pub embedding: Vec<ModelChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedIdentity {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    pub person: Option<PersonRef>,
}

/// Someone who sent the agent messages, from the `sender_id` of its user messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chatter {
    pub sender_id: String,
    pub person: Option<PersonRef>,
    pub messages: u32,
    pub last_at: Option<String>,
}

/// One core memory block of the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreBlock {
    pub id: String,
    pub label: String,
    pub value: String,
    pub limit: i64,
    pub description: String,
    pub read_only: bool,
    /// A person's `Persona_` block, attached right now (normally only during a chat turn).
    pub persona_of: Option<PersonRef>,
}

impl CoreBlock {
    /// A `Persona_` block no dashboard person owns, attached through Letta's API by another
    /// client: while it is there, every chat turn on the agent refuses to send (two persons'
    /// memories in one message), so it can be detached like a person's leftover.
    pub fn foreign_persona(&self) -> bool {
        self.persona_of.is_none() && self.label.starts_with("Persona_")
    }

    pub fn chars(&self) -> i64 {
        self.value.chars().count() as i64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub model: Option<String>,
    pub embedding: Option<String>,
    pub system: String,
    pub created_at: Option<String>,
    pub last_run: Option<String>,
    pub identities: Vec<LinkedIdentity>,
    pub chatters: Vec<Chatter>,
    pub blocks: Vec<CoreBlock>,
    /// From the context overview, for the delete confirmation (None if it could not be read).
    pub message_count: Option<u64>,
    pub passage_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSaved {
    pub id: String,
    pub name: String,
}

/// One section of the context window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPart {
    /// Stable key (CSS class and test id): system, core, summary, messages, tools, other.
    pub key: String,
    pub label: String,
    pub tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextView {
    pub max: u64,
    pub current: u64,
    pub parts: Vec<ContextPart>,
    pub num_messages: u64,
    pub num_archival: u64,
    pub num_recall: u64,
    pub system_prompt: String,
    pub core_memory: String,
    pub external_summary: String,
    pub summary_memory: String,
}

/// The archival memory list's query: newest first; a cursor goes one way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PassageQuery {
    /// Text filter (case-insensitive substring, on the server).
    #[serde(default)]
    pub search: String,
    /// Passages older than this id (the next page).
    #[serde(default)]
    pub older_than: Option<String>,
    /// Passages newer than this id (the previous page).
    #[serde(default)]
    pub newer_than: Option<String>,
    #[serde(default)]
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassageRow {
    pub id: String,
    pub text: String,
    pub tags: Vec<String>,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassagePage {
    pub rows: Vec<PassageRow>,
    /// Cursor for the newer page, if there is one.
    pub newer: Option<String>,
    /// Cursor for the older page, if there is one.
    pub older: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub id: String,
    pub content: String,
    pub tags: Vec<String>,
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityChoice {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    pub linked: bool,
}

/// A save of one core block from the agent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BlockSave {
    pub agent_id: String,
    pub block_id: String,
    /// The value the editor loaded (to detect a change underneath).
    pub base: String,
    pub value: String,
    /// Empty: unchanged.
    #[serde(default)]
    pub limit: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockSaveOutcome {
    Saved(CoreBlock),
    /// The block changed since it was loaded; nothing was written.
    Conflict {
        server: CoreBlock,
    },
}

#[server(prefix = "/api", endpoint = "staff/agents/list")]
pub async fn list_agents(query: AgentListQuery) -> Result<AgentPage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::list(&ctx, query).await
}

#[server(prefix = "/api", endpoint = "staff/agents/get")]
pub async fn get_agent(id: String) -> Result<AgentDetail, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::detail(&ctx, &id).await
}

#[server(prefix = "/api", endpoint = "staff/agents/context")]
pub async fn agent_context(id: String) -> Result<ContextView, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::context(&ctx, &id).await
}

#[server(prefix = "/api", endpoint = "staff/agents/passages")]
pub async fn list_passages(id: String, query: PassageQuery) -> Result<PassagePage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::passages(&ctx, &id, query).await
}

#[server(prefix = "/api", endpoint = "staff/agents/passages_search")]
pub async fn search_passages(id: String, search: SearchInput) -> Result<Vec<SearchHit>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::search(&ctx, &id, search).await
}

#[server(prefix = "/api", endpoint = "staff/agents/block_history")]
pub async fn block_history(agent_id: String, block_id: String) -> Result<Vec<Version>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::block_history(&ctx, &agent_id, &block_id).await
}

#[server(prefix = "/api", endpoint = "operator/agents/models")]
pub async fn agent_models() -> Result<ModelChoices, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::models(&ctx).await
}

#[server(prefix = "/api", endpoint = "operator/agents/create")]
pub async fn create_agent(input: NewAgentInput) -> Result<AgentSaved, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::create(&ctx, input).await
}

#[server(prefix = "/api", endpoint = "operator/agents/update")]
pub async fn edit_agent(id: String, input: AgentEditInput) -> Result<AgentSaved, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::update(&ctx, &id, input).await
}

#[server(prefix = "/api", endpoint = "operator/agents/delete")]
pub async fn delete_agent(id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::delete(&ctx, &id).await
}

#[server(prefix = "/api", endpoint = "operator/agents/identity_choices")]
pub async fn agent_identity_choices(
    id: String,
    search: String,
) -> Result<Vec<IdentityChoice>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::identity_choices(&ctx, &id, &search).await
}

#[server(prefix = "/api", endpoint = "operator/agents/link_identity")]
pub async fn link_agent_identity(id: String, identity_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::link_identity(&ctx, &id, &identity_id, true).await
}

#[server(prefix = "/api", endpoint = "operator/agents/unlink_identity")]
pub async fn unlink_agent_identity(id: String, identity_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::link_identity(&ctx, &id, &identity_id, false).await
}

#[server(prefix = "/api", endpoint = "operator/agents/save_block")]
pub async fn save_agent_block(save: BlockSave) -> Result<BlockSaveOutcome, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::save_block(&ctx, save, "editor").await
}

#[server(prefix = "/api", endpoint = "operator/agents/restore_block")]
pub async fn restore_agent_block(
    agent_id: String,
    block_id: String,
    version_id: i64,
    base: String,
) -> Result<BlockSaveOutcome, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::restore_block(&ctx, &agent_id, &block_id, version_id, base).await
}

#[server(prefix = "/api", endpoint = "operator/agents/detach_block")]
pub async fn detach_agent_block(agent_id: String, block_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::detach_block(&ctx, &agent_id, &block_id).await
}

#[server(prefix = "/api", endpoint = "operator/agents/passage_add")]
pub async fn add_passage(id: String, input: PassageInput) -> Result<Vec<PassageRow>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::add_passage(&ctx, &id, input).await
}

#[server(prefix = "/api", endpoint = "operator/agents/passage_delete")]
pub async fn delete_passage(id: String, passage_id: String) -> Result<(), AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::delete_passage(&ctx, &id, &passage_id).await
}

/// There is no passage update on this server: the new text is added, then the old passage
/// deleted.
#[server(prefix = "/api", endpoint = "operator/agents/passage_replace")]
pub async fn replace_passage(
    id: String,
    passage_id: String,
    input: PassageInput,
) -> Result<Vec<PassageRow>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::replace_passage(&ctx, &id, &passage_id, input).await
}
