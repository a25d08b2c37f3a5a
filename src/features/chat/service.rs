//! Chat's reads: an agent's history (one person's exchanges, or all), the agent and person
//! pickers, and the background runs. The turn itself (attach, send, detach) is in [`turn`].
//!
//! [`turn`]: super::turn

use std::collections::HashMap;

use crate::db;
use crate::error::AppError;
use crate::letta::ids::AgentId;
use crate::letta::types::{AgentFilter, LettaMessage, MessageFilter};
use crate::state::AppState;

use super::model::*;

use super::turn::{internal, part_of};
pub use super::turn::{start_turn, stop_turn};

/// Letta ids are `agent-<uuid>` ([`AgentId`]); anything else never reaches a URL.
pub fn check_agent_id(agent_id: &str) -> Result<(), AppError> {
    match AgentId::parse(agent_id) {
        Some(_) => Ok(()),
        None => Err(AppError::invalid("agent_id", "Pick an agent.")),
    }
}

/// A user message's text: plain, or the `{"type":"user_message","message":..}` JSON some agent
/// types store.
fn user_text(raw: String) -> String {
    match serde_json::from_str::<serde_json::Value>(&raw) {
        Ok(v) => match v.get("message").and_then(|m| m.as_str()) {
            Some(m) => m.to_owned(),
            None => raw,
        },
        Err(_) => raw,
    }
}

pub const HISTORY_PAGE: u32 = 50;

pub async fn history(
    state: &AppState,
    agent_id: &str,
    before: Option<String>,
    only_person: Option<i64>,
) -> Result<HistoryPage, AppError> {
    check_agent_id(agent_id)?;
    let client = state.letta.client()?;
    let filter = MessageFilter {
        limit: Some(HISTORY_PAGE),
        before: before.filter(|b| !b.is_empty()),
        ..Default::default()
    };
    let messages = client.messages().list(agent_id, &filter).await?;
    let older = (messages.len() as u32 >= HISTORY_PAGE)
        .then(|| messages.first().and_then(|m| m.id().map(str::to_owned)))
        .flatten();
    let mut senders: HashMap<String, Sender> = HashMap::new();
    let mut items = Vec::with_capacity(messages.len());
    for m in messages {
        let item = match m {
            LettaMessage::UserMessage(m) => {
                let sender = match m.sender_id.as_deref().filter(|s| !s.is_empty()) {
                    None => Sender::None,
                    Some(sid) => match senders.get(sid) {
                        Some(s) => s.clone(),
                        None => {
                            let s = match db::persons::by_identity(&state.db, sid)
                                .await
                                .map_err(internal)?
                            {
                                Some(p) => Sender::Person {
                                    id: p.id,
                                    username: p.username,
                                    display_name: p.display_name,
                                },
                                None => Sender::Unknown {
                                    sender_id: sid.to_owned(),
                                },
                            };
                            senders.insert(sid.to_owned(), s.clone());
                            s
                        }
                    },
                };
                HistoryItem {
                    id: m.id,
                    date: m.date,
                    kind: "user".into(),
                    text: user_text(m.content.text()),
                    name: None,
                    sender: Some(sender),
                }
            }
            LettaMessage::SystemMessage(_) => continue,
            other => {
                let date = match &other {
                    LettaMessage::AssistantMessage(m) => m.date.clone(),
                    LettaMessage::ReasoningMessage(m) => m.date.clone(),
                    LettaMessage::ToolCallMessage(m) => m.date.clone(),
                    LettaMessage::ToolReturnMessage(m) => m.date.clone(),
                    _ => None,
                };
                let Some(TurnEvent::Part {
                    id,
                    kind,
                    text,
                    name,
                }) = part_of(other)
                else {
                    continue;
                };
                let kind = match kind {
                    PartKind::Assistant => "assistant".to_string(),
                    PartKind::Reasoning => "reasoning".into(),
                    PartKind::ToolCall => "tool_call".into(),
                    PartKind::ToolReturn => "tool_return".into(),
                    PartKind::Other => name.clone().unwrap_or_else(|| "other".into()),
                };
                HistoryItem {
                    id,
                    date,
                    kind,
                    text,
                    name,
                    sender: None,
                }
            }
        };
        items.push(item);
    }
    if let Some(person_id) = only_person {
        items = only_exchanges_of(items, person_id);
    }
    Ok(HistoryPage { items, older })
}

/// Keeps the person's messages and what followed each of them up to the next user message.
pub fn only_exchanges_of(items: Vec<HistoryItem>, person_id: i64) -> Vec<HistoryItem> {
    let mut keep = false;
    items
        .into_iter()
        .filter(|item| {
            if let Some(sender) = &item.sender {
                keep = matches!(sender, Sender::Person { id, .. } if *id == person_id);
            }
            keep
        })
        .collect()
}

/// Agents matching `query` (name, case-insensitive), with the `selected` one always included.
pub async fn agent_choices(
    state: &AppState,
    query: &str,
    selected: Option<String>,
) -> Result<Vec<AgentChoice>, AppError> {
    let client = state.letta.client()?;
    let query = query.trim();
    let filter = AgentFilter {
        query_text: (!query.is_empty()).then(|| query.to_owned()),
        limit: Some(20),
        ..Default::default()
    };
    let mut agents = client.agents().list(&filter).await?;
    if let Some(id) = selected.filter(|id| check_agent_id(id).is_ok()) {
        if !agents.iter().any(|a| a.id == id) {
            match client.agents().get(&id).await {
                Ok(a) => agents.insert(0, a),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(agents
        .into_iter()
        .map(|a| AgentChoice {
            model: a.model_handle().map(str::to_owned),
            id: a.id,
            name: a.name,
        })
        .collect())
}

/// Persons whose username or display name starts with `query`, with `selected` included.
pub async fn person_choices(
    state: &AppState,
    query: &str,
    selected: Option<i64>,
) -> Result<Vec<PersonChoice>, AppError> {
    let mut rows = db::persons::page(
        &state.db,
        query,
        db::persons::PersonSort::Username,
        None,
        false,
        20,
    )
    .await
    .map_err(internal)?;
    if let Some(id) = selected {
        if !rows.iter().any(|p| p.id == id) {
            if let Some(p) = db::persons::by_id(&state.db, id).await.map_err(internal)? {
                rows.insert(0, p.into());
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|p| PersonChoice {
            id: p.id,
            username: p.username,
            display_name: p.display_name,
        })
        .collect())
}

pub async fn background_runs(
    state: &AppState,
    agent_id: &str,
) -> Result<Vec<BackgroundRun>, AppError> {
    check_agent_id(agent_id)?;
    let rows = db::chat::runs_on(&state.db, agent_id, 10)
        .await
        .map_err(internal)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let person = db::persons::by_id(&state.db, r.person_id)
            .await
            .map_err(internal)?
            .map_or_else(|| "(deleted person)".to_string(), |p| p.username);
        out.push(BackgroundRun {
            turn_id: r.turn_id,
            run_id: r.run_id,
            person,
            message: r.message,
            status: r.status,
            detail: r.detail,
            reply: r.reply,
            created_at: r.created_at,
            finished: r.finished_at.is_some(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &str, sender: Option<i64>) -> HistoryItem {
        HistoryItem {
            id: format!("{kind}-{sender:?}"),
            date: None,
            kind: kind.into(),
            text: String::new(),
            name: None,
            sender: sender.map(|id| Sender::Person {
                id,
                username: format!("p{id}"),
                display_name: String::new(),
            }),
        }
    }

    #[test]
    fn only_exchanges_keeps_the_persons_turns_and_their_replies() {
        let items = vec![
            item("assistant", None),
            item("user", Some(1)),
            item("assistant", None),
            item("user", Some(2)),
            item("reasoning", None),
            item("assistant", None),
            item("user", Some(1)),
            item("tool_call", None),
        ];
        let kept: Vec<String> = only_exchanges_of(items, 1)
            .into_iter()
            .map(|i| i.kind)
            .collect();
        assert_eq!(kept, ["user", "assistant", "user", "tool_call"]);
    }

    #[test]
    fn agent_ids_are_checked_before_any_url() {
        assert!(check_agent_id("agent-0c1d-42").is_ok());
        assert!(check_agent_id("agent-../../x").is_err());
        assert!(check_agent_id("block-1").is_err());
        assert!(check_agent_id("").is_err());
    }

    #[test]
    fn stored_user_messages_are_unwrapped() {
        assert_eq!(
            user_text(r#"{"type":"user_message","message":"hi"}"#.into()),
            "hi"
        );
        assert_eq!(user_text("plain".into()), "plain");
    }
}
