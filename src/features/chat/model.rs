//! What the chat page and the server say to each other.

use serde::{Deserialize, Serialize};

/// The kinds of transcript parts a turn streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    Assistant,
    Reasoning,
    ToolCall,
    ToolReturn,
    /// A message type the dashboard does not show in detail.
    Other,
}

/// Token counts of one turn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub steps: u64,
}

/// One line of a streamed turn (newline-delimited JSON, ASCII only so a chunk boundary can never
/// split a character).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum TurnEvent {
    /// The turn exists; `turn_id` is what the stop button names.
    Started { turn_id: String },
    /// Other conversations hold the agent; `position` = turns ahead (1 = next).
    Waiting { position: usize },
    /// The agent is ours and the person's block is attached (or already was, and stays).
    Sending { pre_attached: bool },
    /// A piece of the reply. Parts with the same `id` and `kind` are appended to each other;
    /// `name` is the tool's name (tool calls).
    Part {
        id: String,
        kind: PartKind,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Keep-alive while the agent thinks.
    Ping,
    /// The reply is complete: `stop_reason` is Letta's (`end_turn`, `cancelled`, ...), `error`
    /// a message for the user if the turn failed after it started.
    Complete {
        stop_reason: String,
        usage: Option<Usage>,
        elapsed_ms: u64,
        error: Option<String>,
    },
    /// The block is detached again (or was left attached because it was before the turn) and
    /// the agent is free. `detached: false` = the detach failed and the sweeper will retry.
    Released { detached: bool },
    /// The turn did not happen (busy agent, Letta unreachable, ...); nothing stays attached.
    Failed { message: String },
    /// A background turn was handed to Letta as this run.
    Background { run_id: String },
}

impl TurnEvent {
    /// One NDJSON line, with every non-ASCII character escaped (`\uXXXX`).
    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{\"t\":\"ping\"}".into());
        let mut out = String::with_capacity(json.len() + 1);
        for c in json.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out.push('\n');
        out
    }
}

/// Splits a byte-chunked NDJSON stream back into events.
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: String,
}

impl LineBuffer {
    pub fn feed(&mut self, chunk: &str) -> Vec<Result<TurnEvent, String>> {
        self.buf.push_str(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.find('\n') {
            let line: String = self.buf.drain(..=pos).collect();
            let line = line.trim();
            if !line.is_empty() {
                out.push(serde_json::from_str(line).map_err(|e| e.to_string()));
            }
        }
        out
    }
}

/// A message to send, as the page posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OutgoingMessage {
    pub agent_id: String,
    pub person_id: i64,
    pub text: String,
}

/// The longest message the dashboard sends.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// Checks a message before anything is attached (the browser runs the same check).
pub fn validate_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("Write a message first.".into());
    }
    let n = text.chars().count();
    if n > MAX_MESSAGE_CHARS {
        return Err(format!(
            "The message is {n} characters long; the most is {MAX_MESSAGE_CHARS}."
        ));
    }
    Ok(())
}

/// Who sent a user message in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sender {
    Person {
        id: i64,
        username: String,
        display_name: String,
    },
    /// A `sender_id` no person of this dashboard has.
    Unknown { sender_id: String },
    /// No `sender_id` at all.
    None,
}

/// One entry of an agent's history, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub id: String,
    pub date: Option<String>,
    /// `user`, `assistant`, `reasoning`, `tool_call`, `tool_return`, `system` or the server's
    /// type name.
    pub kind: String,
    pub text: String,
    /// Tool name (tool calls).
    pub name: Option<String>,
    /// User messages only.
    pub sender: Option<Sender>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    /// Pass as `before` to load older messages; `None` = the beginning was reached.
    pub older: Option<String>,
}

/// A pickable agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChoice {
    pub id: String,
    pub name: String,
    pub model: Option<String>,
}

/// A pickable person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonChoice {
    pub id: i64,
    pub username: String,
    pub display_name: String,
}

/// A background turn as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundRun {
    pub turn_id: String,
    pub run_id: Option<String>,
    pub person: String,
    pub message: String,
    pub status: String,
    pub detail: Option<String>,
    pub reply: Option<String>,
    pub created_at: i64,
    pub finished: bool,
}

// ---- the turn ledger (Chat activity) --------------------------------------------------------

/// The outcomes a turn can end with, and `running` for one that has not ended.
pub const OUTCOMES: &[&str] = &[
    "complete",
    "cancelled",
    "stopped",
    "timed_out",
    "failed",
    "interrupted",
    "running",
];

/// What the Chat activity screen lists: every filter optional; the dates `YYYY-MM-DD`,
/// inclusive, the viewer's days (see `tz`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ActivityFilter {
    pub agent: Option<String>,
    pub person: Option<i64>,
    pub user: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The viewer's offset from UTC in minutes (east positive) when the `from` day starts,
    /// and when the day after `to` starts (`components::time::filter_range`): the dates are
    /// the viewer's days. Without them, UTC days.
    pub tz: Option<i32>,
    pub tz_to: Option<i32>,
    /// Cursor: entries older than this id.
    pub before: Option<i64>,
    /// Cursor: entries newer than this id.
    pub after: Option<i64>,
}

/// One chat turn as the ledger recorded it. Times are UTC milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub turn_id: String,
    pub user: String,
    pub person_id: i64,
    pub person: String,
    pub agent_id: String,
    pub background: bool,
    pub queued_at: i64,
    /// How long the turn waited for the agent (`None`: it never got it).
    pub wait_ms: Option<i64>,
    /// From getting the agent to the end (`None`: not both happened).
    pub run_ms: Option<i64>,
    pub run_id: Option<String>,
    /// `None` while the turn runs.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub attach: Option<String>,
    pub detach: Option<String>,
    pub total_tokens: Option<i64>,
}

/// A persona block the chat journal still holds (a detach that failed, or a turn that is
/// running right now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRow {
    pub turn_id: String,
    pub agent_id: String,
    pub block_id: String,
    pub person: Option<String>,
    pub since: i64,
    /// Its turn is still running (on this or another dashboard process).
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub entries: Vec<LedgerEntry>,
    /// Cursor for the newer page (`after`), if there is one.
    pub newer: Option<i64>,
    /// Cursor for the older page (`before`), if there is one.
    pub older: Option<i64>,
    /// Turns and failures over time.
    pub chart: crate::components::chart::Bars,
    pub journal: Vec<JournalRow>,
    /// The filter's choices: agents, persons (id, username) and users seen in the ledger.
    pub agents: Vec<String>,
    pub persons: Vec<(i64, String)>,
    pub users: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_ascii_and_round_trip_through_any_chunking() {
        let events = vec![
            TurnEvent::Started {
                turn_id: "t1".into(),
            },
            TurnEvent::Part {
                id: "m1".into(),
                kind: PartKind::Assistant,
                text: "héllo 👋 \"quoted\"\nnext".into(),
                name: None,
            },
            TurnEvent::Released { detached: true },
        ];
        let wire: String = events.iter().map(TurnEvent::to_line).collect();
        assert!(wire.is_ascii());
        for size in [1, 2, 3, 7, 64] {
            let mut buf = LineBuffer::default();
            let mut got = Vec::new();
            for chunk in wire.as_bytes().chunks(size) {
                got.extend(buf.feed(std::str::from_utf8(chunk).unwrap()));
            }
            let got: Vec<TurnEvent> = got.into_iter().map(Result::unwrap).collect();
            assert_eq!(got, events, "chunk size {size}");
        }
    }

    #[test]
    fn message_text_is_checked() {
        assert!(validate_text("  \n").is_err());
        assert!(validate_text("hi").is_ok());
        assert!(validate_text(&"x".repeat(MAX_MESSAGE_CHARS + 1))
            .unwrap_err()
            .contains("20000"));
    }
}
