//! Request and response types. Names mirror the server's OpenAPI document
//! (shared/letta/openapi-0.16.8.json); only the fields the dashboard needs are kept, and none is
//! renamed. Unknown fields in answers are ignored; fields the server may omit or send as `null`
//! fall back to their default.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Accept `null` where we want a default (e.g. `"tags": null` -> empty list). `#[serde(default)]`
/// alone only covers a missing field.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /v1/health/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub version: String,
    pub status: String,
}

/// Sort order of list routes (`order=asc|desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    Desc,
}

// ---- identities ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    Org,
    User,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityPropertyType {
    String,
    Number,
    Boolean,
    Json,
}

/// `{"key":..,"type":"string"|"number"|"boolean"|"json","value":..}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityProperty {
    pub key: String,
    pub value: Value,
    pub r#type: IdentityPropertyType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub identifier_key: String,
    pub name: String,
    pub identity_type: IdentityType,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<IdentityProperty>,
    /// Letta quirk (NOTES: Identities): ALWAYS `[]` on 0.16.8, whatever is linked. Use
    /// `identities().agents(id)` / `identities().blocks(id)` for the real links.
    #[serde(default, deserialize_with = "null_as_default")]
    pub agent_ids: Vec<String>,
    /// Letta quirk (NOTES: Identities): ALWAYS `[]`, see `agent_ids`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub block_ids: Vec<String>,
}

/// Body of `POST /v1/identities/` and of the upsert `PUT /v1/identities/` (`IdentityUpsert` has
/// the same fields). `agent_ids`/`block_ids` are left out on purpose: links are made with the
/// attach routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCreate {
    pub identifier_key: String,
    pub name: String,
    pub identity_type: IdentityType,
    /// On the upsert PUT: `Some` REPLACES all properties, `None` keeps them (observed on 0.16.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<IdentityProperty>>,
}

/// Body of `PATCH /v1/identities/{id}`: only the `Some` fields change. `properties` are MERGED
/// by key (NOTES: Identities); to replace them all use `identities().replace_properties`.
/// (`agent_ids`/`block_ids` are left out: PATCH appends them, a trap; use the attach routes.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<IdentityType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<IdentityProperty>>,
}

/// Query of `GET /v1/identities/`. `identifier_key` is exact, `name` a case-insensitive
/// substring; default order newest first, default limit 50.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdentityFilter {
    pub name: Option<String>,
    pub identifier_key: Option<String>,
    pub identity_type: Option<IdentityType>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub order: Option<Order>,
}

/// What `identities().upsert_by_key` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

// ---- blocks --------------------------------------------------------------------------------

/// `BlockResponse` / `Block` in the spec.
///
/// Letta quirk (NOTES: Blocks): the server enforces neither `limit` nor `read_only`; the
/// dashboard must.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    pub value: String,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub read_only: bool,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// Body of `POST /v1/blocks/` (`CreateBlock` in the spec); also the element type of
/// `CreateAgentRequest.memory_blocks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateBlock {
    pub label: String,
    pub value: String,
    /// Server default: 100000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl CreateBlock {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        CreateBlock {
            label: label.into(),
            value: value.into(),
            limit: None,
            description: None,
            read_only: None,
            metadata: None,
        }
    }
}

/// Body of `PATCH /v1/blocks/{id}`: only the `Some` fields change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

// ---- agents --------------------------------------------------------------------------------

/// The parts of `llm_config` the dashboard shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmConfig {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub context_window: Option<u64>,
}

/// The parts of `embedding_config` the dashboard shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    #[serde(default)]
    pub embedding_model: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
}

/// `AgentState`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// The model handle (`provider/model`). May be null on agents created through `llm_config`;
    /// then see `llm_config.handle`. Use [`AgentState::model_handle`].
    #[serde(default)]
    pub model: Option<String>,
    /// The embedding handle; may be null, then see `embedding_config.handle`.
    #[serde(default)]
    pub embedding: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub llm_config: LlmConfig,
    #[serde(default)]
    pub embedding_config: Option<EmbeddingConfig>,
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub last_run_completion: Option<String>,
    /// The agent's core memory blocks (the same list as `memory.blocks`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub blocks: Vec<Block>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub identity_ids: Vec<String>,
}

impl AgentState {
    /// The model handle, wherever this server version put it.
    pub fn model_handle(&self) -> Option<&str> {
        self.model
            .as_deref()
            .or(self.llm_config.handle.as_deref())
            .or(self.llm_config.model.as_deref())
    }

    /// The embedding handle, wherever this server version put it.
    pub fn embedding_handle(&self) -> Option<&str> {
        self.embedding.as_deref().or_else(|| {
            self.embedding_config
                .as_ref()
                .and_then(|c| c.handle.as_deref().or(c.embedding_model.as_deref()))
        })
    }
}

/// Query of `GET /v1/agents/`. Default limit 50.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentFilter {
    pub name: Option<String>,
    /// Agents having any of these tags (all of them with `match_all_tags`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub match_all_tags: Option<bool>,
    pub identity_id: Option<String>,
    /// Agents linked to an identity with any of these (exact) identifier keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier_keys: Vec<String>,
    /// Case-insensitive substring of the name (`name` is an exact match).
    pub query_text: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub order: Option<Order>,
}

/// Query of `GET /v1/agents/count`: the same filters as [`AgentFilter`], no paging. Unlike
/// `/v1/identities/count`, this count honours its filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentCountFilter {
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub match_all_tags: Option<bool>,
    pub identity_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier_keys: Vec<String>,
    pub query_text: Option<String>,
}

impl From<&AgentFilter> for AgentCountFilter {
    fn from(f: &AgentFilter) -> Self {
        AgentCountFilter {
            name: f.name.clone(),
            tags: f.tags.clone(),
            match_all_tags: f.match_all_tags,
            identity_id: f.identity_id.clone(),
            identifier_keys: f.identifier_keys.clone(),
            query_text: f.query_text.clone(),
        }
    }
}

/// Body of `POST /v1/agents/` (`CreateAgentRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateAgentRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model handle, e.g. `openai-proxy/fake-model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Embedding handle, e.g. `openai/text-embedding-3-small`. Needed for archival memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// New blocks created with the agent. Without any, a default agent has NO core blocks
    /// (NOTES: More verified behaviour).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory_blocks: Vec<CreateBlock>,
    /// Existing blocks to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_ids: Vec<String>,
}

/// Body of `PATCH /v1/agents/{id}` (`UpdateAgent`): only the `Some` fields change.
/// `identity_ids`/`tags` REPLACE the lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateAgent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_ids: Option<Vec<String>>,
}

/// `GET /v1/agents/{id}/context` (`ContextWindowOverview`): token counts per section plus the
/// text of the sections. The in-context `messages` and `functions_definitions` lists are left
/// out (large; use the message history instead).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextWindowOverview {
    pub context_window_size_max: u64,
    pub context_window_size_current: u64,
    #[serde(default)]
    pub num_messages: u64,
    #[serde(default)]
    pub num_archival_memory: u64,
    #[serde(default)]
    pub num_recall_memory: u64,
    #[serde(default)]
    pub num_tokens_system: u64,
    #[serde(default)]
    pub num_tokens_core_memory: u64,
    #[serde(default)]
    pub num_tokens_external_memory_summary: u64,
    #[serde(default)]
    pub num_tokens_summary_memory: u64,
    #[serde(default)]
    pub num_tokens_messages: u64,
    #[serde(default)]
    pub num_tokens_functions_definitions: u64,
    /// Sections newer servers report separately (0.16.8 sends them, usually 0). Kept so the
    /// parts add up to `context_window_size_current`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_tokens_memory_filesystem: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_tokens_tool_usage_rules: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_tokens_directories: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub system_prompt: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub core_memory: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub external_memory_summary: String,
    #[serde(default)]
    pub summary_memory: Option<String>,
}

// ---- messages ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    User,
    System,
    Assistant,
}

/// One input message (`MessageCreate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageCreate {
    pub role: MessageRole,
    pub content: String,
    /// Letta quirk (NOTES: Messages): there is NO `identity_id` parameter anywhere (unknown
    /// fields are silently ignored); to record who sent a message, put the identity id here. It
    /// is stored as given and comes back in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
}

impl MessageCreate {
    pub fn user(content: impl Into<String>, sender_id: Option<String>) -> Self {
        MessageCreate {
            role: MessageRole::User,
            content: content.into(),
            sender_id,
        }
    }
}

/// Message content: a plain string, or a list of content parts (`[{"type":"text","text":..}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl Default for MessageContent {
    fn default() -> Self {
        MessageContent::Text(String::new())
    }
}

impl MessageContent {
    /// The text of the message (text parts concatenated; other parts skipped).
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(s) => s.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(""),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    pub r#type: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// `system_message` / `user_message` / `assistant_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextMessage {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub content: MessageContent,
    /// As sent in `MessageCreate.sender_id` (user messages).
    #[serde(default)]
    pub sender_id: Option<String>,
    #[serde(default)]
    pub otid: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningMessage {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub reasoning: String,
    #[serde(default)]
    pub otid: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HiddenReasoningMessage {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub hidden_reasoning: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
}

/// `ToolCall` and `ToolCallDelta` (in streams every field is a partial delta).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallMessage {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub tool_call: Option<ToolCall>,
    #[serde(default)]
    pub otid: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReturnMessage {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub tool_return: String,
    /// `success` or `error`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default)]
    pub otid: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

/// A message type this client does not model (approval, summary, event messages...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownMessage {
    /// The server's `message_type`.
    pub original_type: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

/// `LettaMessageUnion`, tagged by `message_type`. Types we do not model become
/// [`LettaMessage::Unknown`] instead of failing the whole page (serde's `#[serde(other)]` only
/// works on unit variants, and we want to keep the type name and id, hence the hand-written
/// `Deserialize`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "message_type", rename_all = "snake_case")]
pub enum LettaMessage {
    SystemMessage(TextMessage),
    UserMessage(TextMessage),
    AssistantMessage(TextMessage),
    ReasoningMessage(ReasoningMessage),
    HiddenReasoningMessage(HiddenReasoningMessage),
    ToolCallMessage(ToolCallMessage),
    ToolReturnMessage(ToolReturnMessage),
    #[serde(rename = "unknown")]
    Unknown(UnknownMessage),
}

/// The modelled variants, for the derived decoder used by `LettaMessage`'s `Deserialize`.
/// (Variant names are the server's `message_type` values, hence the shared suffix.)
#[allow(clippy::enum_variant_names)]
#[derive(Deserialize)]
#[serde(tag = "message_type", rename_all = "snake_case")]
enum KnownMessage {
    SystemMessage(TextMessage),
    UserMessage(TextMessage),
    AssistantMessage(TextMessage),
    ReasoningMessage(ReasoningMessage),
    HiddenReasoningMessage(HiddenReasoningMessage),
    ToolCallMessage(ToolCallMessage),
    ToolReturnMessage(ToolReturnMessage),
}

impl From<KnownMessage> for LettaMessage {
    fn from(m: KnownMessage) -> Self {
        match m {
            KnownMessage::SystemMessage(m) => LettaMessage::SystemMessage(m),
            KnownMessage::UserMessage(m) => LettaMessage::UserMessage(m),
            KnownMessage::AssistantMessage(m) => LettaMessage::AssistantMessage(m),
            KnownMessage::ReasoningMessage(m) => LettaMessage::ReasoningMessage(m),
            KnownMessage::HiddenReasoningMessage(m) => LettaMessage::HiddenReasoningMessage(m),
            KnownMessage::ToolCallMessage(m) => LettaMessage::ToolCallMessage(m),
            KnownMessage::ToolReturnMessage(m) => LettaMessage::ToolReturnMessage(m),
        }
    }
}

impl<'de> Deserialize<'de> for LettaMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        LettaMessage::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl LettaMessage {
    pub(crate) const KNOWN_TYPES: [&'static str; 7] = [
        "system_message",
        "user_message",
        "assistant_message",
        "reasoning_message",
        "hidden_reasoning_message",
        "tool_call_message",
        "tool_return_message",
    ];

    pub(crate) fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        let message_type = value
            .get("message_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if Self::KNOWN_TYPES.contains(&message_type.as_str()) {
            return serde_json::from_value::<KnownMessage>(value).map(Into::into);
        }
        let field = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(LettaMessage::Unknown(UnknownMessage {
            id: field("id"),
            date: field("date"),
            original_type: message_type,
        }))
    }

    /// The message id (stream chunks of one message share it).
    pub fn id(&self) -> Option<&str> {
        match self {
            LettaMessage::SystemMessage(m)
            | LettaMessage::UserMessage(m)
            | LettaMessage::AssistantMessage(m) => Some(&m.id),
            LettaMessage::ReasoningMessage(m) => Some(&m.id),
            LettaMessage::HiddenReasoningMessage(m) => Some(&m.id),
            LettaMessage::ToolCallMessage(m) => Some(&m.id),
            LettaMessage::ToolReturnMessage(m) => Some(&m.id),
            LettaMessage::Unknown(m) => m.id.as_deref(),
        }
    }

    /// The server's `message_type` string.
    pub fn message_type(&self) -> &str {
        match self {
            LettaMessage::SystemMessage(_) => "system_message",
            LettaMessage::UserMessage(_) => "user_message",
            LettaMessage::AssistantMessage(_) => "assistant_message",
            LettaMessage::ReasoningMessage(_) => "reasoning_message",
            LettaMessage::HiddenReasoningMessage(_) => "hidden_reasoning_message",
            LettaMessage::ToolCallMessage(_) => "tool_call_message",
            LettaMessage::ToolReturnMessage(_) => "tool_return_message",
            LettaMessage::Unknown(m) => &m.original_type,
        }
    }
}

/// `StopReasonType`; values this client does not know become `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReasonType {
    EndTurn,
    Error,
    LlmApiError,
    InvalidLlmResponse,
    InvalidToolCall,
    MaxSteps,
    MaxTokensExceeded,
    NoToolCall,
    ToolRule,
    Cancelled,
    InsufficientCredits,
    RequiresApproval,
    ContextWindowOverflowInSystemPrompt,
    #[serde(other)]
    Other,
}

impl StopReasonType {
    /// The wire name (`end_turn`, …; `other` for a value this client does not know).
    pub fn as_str(self) -> &'static str {
        use StopReasonType::*;
        match self {
            EndTurn => "end_turn",
            Error => "error",
            LlmApiError => "llm_api_error",
            InvalidLlmResponse => "invalid_llm_response",
            InvalidToolCall => "invalid_tool_call",
            MaxSteps => "max_steps",
            MaxTokensExceeded => "max_tokens_exceeded",
            NoToolCall => "no_tool_call",
            ToolRule => "tool_rule",
            Cancelled => "cancelled",
            InsufficientCredits => "insufficient_credits",
            RequiresApproval => "requires_approval",
            ContextWindowOverflowInSystemPrompt => "context_window_overflow_in_system_prompt",
            Other => "other",
        }
    }
}

/// `LettaStopReason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LettaStopReason {
    pub stop_reason: StopReasonType,
}

/// `LettaUsageStatistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LettaUsageStatistics {
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default)]
    pub step_count: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub run_ids: Vec<String>,
}

/// Answer of a non-streaming send. The user message is NOT echoed back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LettaResponse {
    pub messages: Vec<LettaMessage>,
    pub stop_reason: LettaStopReason,
    #[serde(default)]
    pub usage: LettaUsageStatistics,
}

/// `LettaErrorMessage` (an `event: error` in a stream). `detail` may hold internals: log it,
/// do not show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LettaErrorMessage {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// One event of `POST /v1/agents/{id}/messages/stream`.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Keep-alive.
    Ping,
    /// A message or a token chunk of one: with `stream_tokens`, each `assistant_message` chunk
    /// carries the same `id` and a `content` DELTA to append.
    Message(LettaMessage),
    StopReason(LettaStopReason),
    Usage(LettaUsageStatistics),
    /// Letta quirk (NOTES: Messages): an LLM failure mid-stream still answers HTTP 200, then a
    /// `stop_reason` `llm_api_error` and this.
    Error(LettaErrorMessage),
    /// `data: [DONE]`: nothing follows.
    Done,
}

/// Query of `GET /v1/agents/{id}/messages` (history). Default `order=desc` returns the newest
/// `limit` messages, in chronological order inside the page (NOTES: Messages).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MessageFilter {
    pub limit: Option<u32>,
    pub order: Option<Order>,
    pub before: Option<String>,
    pub after: Option<String>,
}

// ---- runs ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Created,
    Running,
    Completed,
    Failed,
    Cancelled,
    #[serde(other)]
    Other,
}

impl RunStatus {
    /// The wire name (`running`, …; `other` for a value this client does not know).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Created => "created",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Other => "other",
        }
    }

    /// `completed`, `failed` or `cancelled`: polling can stop.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub status: RunStatus,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<StopReasonType>,
}

/// Answer of `POST /v1/agents/{id}/messages/cancel`.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// The server's answer (an object keyed by run id).
    Cancelled(Value),
    /// Letta quirk (NOTES: More verified behaviour): with no active run the server answers
    /// 409 "No active runs to cancel"; that is not a failure for a "stop" button.
    NothingToCancel,
}

// ---- passages (archival memory) ------------------------------------------------------------

/// An archival-memory passage.
///
/// Letta quirk (NOTES: Archival memory): the server sends each passage with its 4096-number
/// `embedding` array. This type has no such field, so serde skips it while decoding: the
/// vectors are never stored, logged or sent on to a browser. Do not add it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub id: String,
    pub text: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Query of `GET /v1/agents/{id}/archival-memory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PassageFilter {
    pub limit: Option<u32>,
    /// Text filter on the passage text.
    pub search: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub ascending: Option<bool>,
}

/// Body of `POST /v1/agents/{id}/archival-memory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateArchivalMemory {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagMatchMode {
    Any,
    All,
}

/// Query of `GET /v1/agents/{id}/archival-memory/search` (semantic search).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArchivalMemorySearch {
    pub query: String,
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub tag_match_mode: Option<TagMatchMode>,
    /// RFC 3339 date-time: only passages created after it.
    pub start_datetime: Option<String>,
    /// RFC 3339 date-time: only passages created before it.
    pub end_datetime: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivalMemorySearchResult {
    pub id: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    pub content: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivalMemorySearchResponse {
    pub results: Vec<ArchivalMemorySearchResult>,
    pub count: u64,
}

// ---- models --------------------------------------------------------------------------------

/// An LLM model (`Model`). `handle` is what `CreateAgentRequest.model` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub handle: Option<String>,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub context_window: Option<u64>,
}

/// An embedding model (`EmbeddingModel`). `handle` is what `CreateAgentRequest.embedding` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingModel {
    #[serde(default)]
    pub handle: Option<String>,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub embedding_dim: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_message_type_is_kept_not_fatal() {
        let msgs: Vec<LettaMessage> = serde_json::from_value(json!([
            {"message_type": "approval_request_message", "id": "message-1", "date": "d",
             "tool_call": {"name": "x"}},
            {"message_type": "assistant_message", "id": "message-2", "date": "d",
             "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]},
            {"message_type": "user_message", "id": "message-3", "date": "d", "content": "yo",
             "sender_id": "identity-1"}
        ]))
        .unwrap();
        assert_eq!(msgs[0].message_type(), "approval_request_message");
        assert_eq!(msgs[0].id(), Some("message-1"));
        match &msgs[1] {
            LettaMessage::AssistantMessage(m) => assert_eq!(m.content.text(), "hi there"),
            other => panic!("{other:?}"),
        }
        match &msgs[2] {
            LettaMessage::UserMessage(m) => assert_eq!(m.sender_id.as_deref(), Some("identity-1")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn passage_drops_embedding_and_accepts_null_tags() {
        let p: Passage = serde_json::from_value(json!({
            "id": "passage-1", "text": "t", "tags": null, "embedding": [0.1, 0.2],
            "embedding_config": {"embedding_dim": 2}
        }))
        .unwrap();
        assert!(p.tags.is_empty());
        let back = serde_json::to_string(&p).unwrap();
        assert!(!back.contains("embedding"), "{back}");
    }

    #[test]
    fn unknown_enum_values_fall_back() {
        let r: Run = serde_json::from_value(
            json!({"id": "run-1", "status": "paused", "stop_reason": "new_reason"}),
        )
        .unwrap();
        assert_eq!(r.status, RunStatus::Other);
        assert_eq!(r.stop_reason, Some(StopReasonType::Other));
    }

    #[test]
    fn identity_property_uses_type_key() {
        let p = IdentityProperty {
            key: "k".into(),
            value: json!(1),
            r#type: IdentityPropertyType::Number,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"key": "k", "value": 1, "type": "number"})
        );
    }

    #[test]
    fn as_str_is_the_wire_name() {
        use StopReasonType::*;
        for r in [
            EndTurn,
            Error,
            LlmApiError,
            InvalidLlmResponse,
            InvalidToolCall,
            MaxSteps,
            MaxTokensExceeded,
            NoToolCall,
            ToolRule,
            Cancelled,
            InsufficientCredits,
            RequiresApproval,
            ContextWindowOverflowInSystemPrompt,
            Other,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
        for s in [
            RunStatus::Created,
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::Other,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
    }
}
