use leptos::prelude::*;
use leptos::server_fn::codec::{PostUrl, StreamingText, TextStream};

use super::model::*;
use crate::error::AppError;

/// Sends one message as a person: the reply streams back as NDJSON [`TurnEvent`] lines. With
/// `background`, the turn is handed to Letta as a run and polled on the server.
#[server(prefix = "/api", endpoint = "staff/chat/send", input = PostUrl, output = StreamingText)]
pub async fn chat_send(
    send: OutgoingMessage,
    #[server(default)] background: bool,
) -> Result<TextStream<AppError>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    let rx = super::service::start_turn(&ctx, send, background).await?;
    let lines = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|ev| (Ok(ev.to_line()), rx))
    });
    Ok(TextStream::new(lines))
}

/// The stop button: cancels the turn's run; its block is detached as always.
#[server(prefix = "/api", endpoint = "staff/chat/stop")]
pub async fn chat_stop(turn_id: String) -> Result<bool, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    let stopped = super::service::stop_turn(&ctx, &turn_id)?;
    if stopped {
        use crate::db::audit::Outcome;
        ctx.audit("chat.stop", Some(&turn_id), Outcome::Ok, None)
            .await;
    }
    Ok(stopped)
}

#[server(prefix = "/api", endpoint = "staff/chat/history")]
pub async fn chat_history(
    agent_id: String,
    #[server(default)] before: Option<String>,
    #[server(default)] only_person: Option<i64>,
) -> Result<HistoryPage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::history(&ctx.state, &agent_id, before, only_person).await
}

#[server(prefix = "/api", endpoint = "staff/chat/agents")]
pub async fn chat_agents(
    #[server(default)] query: String,
    #[server(default)] selected: Option<String>,
) -> Result<Vec<AgentChoice>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::agent_choices(&ctx.state, &query, selected).await
}

#[server(prefix = "/api", endpoint = "staff/chat/persons")]
pub async fn chat_persons(
    #[server(default)] query: String,
    #[server(default)] selected: Option<i64>,
) -> Result<Vec<PersonChoice>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::person_choices(&ctx.state, &query, selected).await
}

#[server(prefix = "/api", endpoint = "staff/chat/runs")]
pub async fn chat_runs(agent_id: String) -> Result<Vec<BackgroundRun>, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Staff).await?;
    super::service::background_runs(&ctx.state, &agent_id).await
}

/// The turn ledger, filtered and paged, with its chart and the journal (operators).
#[server(prefix = "/api", endpoint = "operator/chat/activity")]
pub async fn chat_activity(
    #[server(default)] filter: ActivityFilter,
) -> Result<ActivityPage, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    let tz = crate::components::time::viewer_tz().await;
    super::ledger::activity(&ctx, filter, tz).await
}

/// "Detach now" for a block the journal still holds. `false`: it was already gone.
#[server(prefix = "/api", endpoint = "operator/chat/detach-now")]
pub async fn chat_detach_now(turn_id: String) -> Result<bool, AppError> {
    let ctx = crate::auth::guard::require_role(crate::auth::Role::Operator).await?;
    super::ledger::detach_now(&ctx, &turn_id).await
}
