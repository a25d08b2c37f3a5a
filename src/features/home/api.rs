//! The Overview's data: one server function per card, so a slow or failing source holds up
//! only its own card. What a card holds depends on the role (staff see no audit entries and no
//! operator actions).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::chart::Bars;
use crate::error::AppError;

/// The Letta server as the Overview shows it. A server that is not set up or does not answer
/// is a state of the card, not a failure of the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LettaCard {
    NotConfigured,
    /// The short message of what went wrong (never an upstream body).
    Unreachable {
        message: String,
    },
    Connected(LettaFigures),
}

/// The connection, and what the server holds (counts read at `read_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LettaFigures {
    pub host: String,
    pub version: String,
    /// How long the health check took when the numbers were read.
    pub latency_ms: u64,
    pub read_at: i64,
    pub agents: u64,
    /// Operators and admins only.
    pub identities: Option<u64>,
    pub blocks: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemPerson {
    pub id: i64,
    pub username: String,
    pub health: String,
}

/// Persons, and what their last checks found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonsCard {
    pub total: i64,
    pub problems: i64,
    /// Never checked (created before any verify, or since).
    pub unchecked: i64,
    pub last_checked: Option<i64>,
    /// The first few with a problem.
    pub problem_list: Vec<ProblemPerson>,
}

/// Turns on one agent right now, across every dashboard process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentQueue {
    pub agent_id: String,
    pub running: i64,
    pub waiting: i64,
}

/// A recent chat of the signed-in user: reopened by its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentChat {
    pub agent_id: String,
    pub person_id: i64,
    pub person: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedTurn {
    pub at: i64,
    pub user: String,
    pub person: String,
    pub agent_id: String,
    pub outcome: String,
    pub reason: Option<String>,
}

/// What operators see of the chat beyond the queues: the journal and the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatOps {
    /// Persona blocks the journal holds right now.
    pub attached: i64,
    /// Of those, the ones whose turn has ended (a detach that failed).
    pub stuck: i64,
    /// The last 24 hours, by the hour.
    pub day: Bars,
    /// The last 7 days, by the day.
    pub week: Bars,
    pub failures: Vec<FailedTurn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCard {
    pub queues: Vec<AgentQueue>,
    pub mine: Vec<RecentChat>,
    /// Operators and admins only.
    pub ops: Option<ChatOps>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
}

#[server(prefix = "/api", endpoint = "staff/overview/letta")]
pub async fn overview_letta() -> Result<LettaCard, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::letta(&ctx).await
}

#[server(prefix = "/api", endpoint = "staff/overview/persons")]
pub async fn overview_persons() -> Result<PersonsCard, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::persons(&ctx).await
}

#[server(prefix = "/api", endpoint = "staff/overview/chat")]
pub async fn overview_chat() -> Result<ChatCard, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    // The charts' days are the viewer's (UTC until the browser has said its zone once).
    let tz = crate::components::time::viewer_tz().await;
    super::service::chat(&ctx, tz).await
}

/// The last audit entries (operators and admins).
#[server(prefix = "/api", endpoint = "operator/overview/audit")]
pub async fn overview_audit() -> Result<Vec<AuditLine>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::service::audit(&ctx).await
}
