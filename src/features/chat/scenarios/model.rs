//! What the scenarios screen and the server say to each other, the JSON file format of an
//! export, and the input rules both ends check.

use serde::{Deserialize, Serialize};

use crate::features::chat::model::{validate_text, Usage};

/// The longest scenario name.
pub const MAX_NAME_CHARS: usize = 100;
/// The most steps in one scenario.
pub const MAX_STEPS: usize = 50;
/// The most expectations on one step.
pub const MAX_EXPECTATIONS: usize = 10;
/// The longest text of one expectation.
pub const MAX_EXPECT_CHARS: usize = 500;

/// What a step may expect of its turn. Texts are compared ignoring case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExpectKind {
    /// The reply contains the text.
    #[default]
    ReplyContains,
    /// The reply does not contain the text.
    ReplyLacks,
    /// The agent called a tool of this name.
    ToolCalled,
    /// The person's persona block contains the text after the turn.
    PersonaContains,
}

impl ExpectKind {
    pub const ALL: [ExpectKind; 4] = [
        ExpectKind::ReplyContains,
        ExpectKind::ReplyLacks,
        ExpectKind::ToolCalled,
        ExpectKind::PersonaContains,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExpectKind::ReplyContains => "reply_contains",
            ExpectKind::ReplyLacks => "reply_lacks",
            ExpectKind::ToolCalled => "tool_called",
            ExpectKind::PersonaContains => "persona_contains",
        }
    }

    pub fn parse(s: &str) -> Option<ExpectKind> {
        ExpectKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ExpectKind::ReplyContains => "Reply contains",
            ExpectKind::ReplyLacks => "Reply does not contain",
            ExpectKind::ToolCalled => "Tool was called",
            ExpectKind::PersonaContains => "Persona block afterwards contains",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Expectation {
    #[serde(default)]
    pub kind: ExpectKind,
    #[serde(default)]
    pub text: String,
}

/// One step as the form sends it and the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StepInput {
    #[serde(default)]
    pub person_id: i64,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

/// A scenario as the form sends it. `agent_id` empty: the agent is picked at each run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScenarioInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub agent_id: String,
    #[serde(default)]
    pub steps: Vec<StepInput>,
}

/// The field name of a step's part (`steps.2.text`), as the form's messages use them.
pub fn step_field(step: usize, part: &str) -> String {
    format!("steps.{step}.{part}")
}

/// The field name of an expectation's text (`steps.2.expect.0.text`).
pub fn expect_field(step: usize, expectation: usize) -> String {
    format!("steps.{step}.expect.{expectation}.text")
}

/// Is `id` shaped like a Letta agent id (`agent-<uuid>`)? The server checks it again.
pub fn agent_id_ok(id: &str) -> bool {
    id.len() <= 64
        && id
            .strip_prefix("agent-")
            .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
}

/// Everything wrong with a scenario, as (field, message); empty when it may be saved.
/// Persons are checked to exist by the server only.
pub fn problems(input: &ScenarioInput) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let name = input.name.trim();
    let n = name.chars().count();
    if name.is_empty() {
        out.push(("name".into(), "Give the scenario a name.".into()));
    } else if n > MAX_NAME_CHARS {
        out.push((
            "name".into(),
            format!("The name is {n} characters long; the most is {MAX_NAME_CHARS}."),
        ));
    }
    let agent = input.agent_id.trim();
    if !agent.is_empty() && !agent_id_ok(agent) {
        out.push((
            "agent_id".into(),
            "Pick an agent, or none to choose one at each run.".into(),
        ));
    }
    if input.steps.is_empty() {
        out.push(("steps".into(), "Add at least one step.".into()));
    } else if input.steps.len() > MAX_STEPS {
        out.push((
            "steps".into(),
            format!(
                "A scenario has at most {MAX_STEPS} steps; this one has {}.",
                input.steps.len()
            ),
        ));
    }
    for (i, step) in input.steps.iter().enumerate().take(MAX_STEPS) {
        if step.person_id <= 0 {
            out.push((step_field(i, "person_id"), "Pick a person.".into()));
        }
        if let Err(m) = validate_text(&step.text) {
            out.push((step_field(i, "text"), m));
        }
        if step.expect.len() > MAX_EXPECTATIONS {
            out.push((
                step_field(i, "expect"),
                format!("A step has at most {MAX_EXPECTATIONS} expectations."),
            ));
        }
        for (j, e) in step.expect.iter().enumerate().take(MAX_EXPECTATIONS) {
            let text = e.text.trim();
            let n = text.chars().count();
            if text.is_empty() {
                out.push((expect_field(i, j), "Say what to look for.".into()));
            } else if n > MAX_EXPECT_CHARS {
                out.push((
                    expect_field(i, j),
                    format!("The text is {n} characters long; the most is {MAX_EXPECT_CHARS}."),
                ));
            }
        }
    }
    out
}

/// The input as it is stored: trimmed name, agent and expectation texts (a message is kept as
/// typed: its spaces and lines may matter to the agent).
pub fn normalized(input: ScenarioInput) -> ScenarioInput {
    ScenarioInput {
        name: input.name.trim().to_string(),
        agent_id: input.agent_id.trim().to_string(),
        steps: input
            .steps
            .into_iter()
            .map(|s| StepInput {
                person_id: s.person_id,
                text: s.text,
                expect: s
                    .expect
                    .into_iter()
                    .map(|e| Expectation {
                        kind: e.kind,
                        text: e.text.trim().to_string(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// "Step 3: " for a field of step index 2, "" for any other field: a message that must be
/// read without the form (an import's, a run's).
pub fn where_of(field: &str) -> String {
    field
        .strip_prefix("steps.")
        .and_then(|r| r.split('.').next())
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| format!("Step {}: ", n + 1))
        .unwrap_or_default()
}

// ---- what the screen shows -----------------------------------------------------------------

/// A step as the scenario's page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub person_id: i64,
    /// "Ada Lovelace (@ada)", or a note that the person is gone.
    pub person: String,
    pub text: String,
    pub expect: Vec<Expectation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub id: i64,
    pub name: String,
    pub agent_id: Option<String>,
    pub steps: usize,
    pub owner: String,
    pub updated_at: i64,
    /// The newest run's status and start.
    pub last_status: Option<String>,
    pub last_run_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioDetail {
    pub id: i64,
    pub name: String,
    pub agent_id: Option<String>,
    pub steps: Vec<StepView>,
    pub owner: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The viewer may edit and delete it (its owner, or an operator).
    pub can_edit: bool,
}

/// A run in a list, and the head of a run's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub scenario_id: i64,
    pub name: String,
    pub agent_id: String,
    /// running, passed, failed, stopped, interrupted.
    pub status: String,
    pub reason: Option<String>,
    pub by: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub steps_total: usize,
    pub steps_done: usize,
    /// Stop was asked and the run has not ended yet.
    pub stopping: bool,
}

impl RunSummary {
    pub fn running(&self) -> bool {
        self.ended_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: String,
}

/// One expectation's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub kind: ExpectKind,
    pub text: String,
    pub passed: bool,
    /// Why it failed, when that is more than "not found" (the block could not be read).
    pub detail: Option<String>,
}

/// One step of a run, as it went (or goes: `status` running).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub person: String,
    pub message: String,
    pub turn_id: Option<String>,
    /// running, passed, failed (an expectation), error (the turn failed), stopped.
    pub status: String,
    pub reply: String,
    pub tools: Vec<ToolCall>,
    pub checks: Vec<CheckResult>,
    pub error: Option<String>,
    pub usage: Option<Usage>,
    pub elapsed_ms: Option<i64>,
    /// `Some(false)`: the block could not be detached yet (the sweeper retries).
    pub detached: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunSummary,
    pub steps: Vec<StepRecord>,
    /// The viewer may stop it (while it runs: who started it, or an operator).
    pub can_stop: bool,
}

/// Two runs of a scenario, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub left: RunSummary,
    pub right: RunSummary,
    pub steps: Vec<StepPair>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepPair {
    pub index: usize,
    pub person: String,
    pub message: String,
    /// `None`: that run never reached the step.
    pub left: Option<StepRecord>,
    pub right: Option<StepRecord>,
}

impl StepPair {
    /// Both runs replied with the same text.
    pub fn same_reply(&self) -> bool {
        match (&self.left, &self.right) {
            (Some(l), Some(r)) => l.reply == r.reply,
            _ => false,
        }
    }
}

// ---- export / import ------------------------------------------------------------------------

/// The `format` of an export file.
pub const FILE_FORMAT: &str = "letta-admin-scenarios";
/// The file version this dashboard writes and reads.
pub const FILE_VERSION: u32 = 1;

/// An export: persons by username, so the file can be imported on another dashboard that has
/// the same persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioFile {
    pub format: String,
    pub version: u32,
    pub scenarios: Vec<ScenarioExport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioExport {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub steps: Vec<StepExport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepExport {
    /// The person's username.
    pub person: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub created: Vec<ScenarioSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(person_id: i64, text: &str) -> StepInput {
        StepInput {
            person_id,
            text: text.into(),
            expect: vec![],
        }
    }

    fn fields(input: &ScenarioInput) -> Vec<String> {
        problems(input).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_scenario_needs_a_name_steps_persons_and_messages() {
        assert_eq!(
            fields(&ScenarioInput::default()),
            ["name".to_string(), "steps".to_string()]
        );
        let ok = ScenarioInput {
            name: "Greeting".into(),
            agent_id: String::new(),
            steps: vec![step(1, "hi")],
        };
        assert!(problems(&ok).is_empty());
        let bad = ScenarioInput {
            name: "x".repeat(MAX_NAME_CHARS + 1),
            agent_id: "not-an-agent".into(),
            steps: vec![
                step(0, "hi"),
                StepInput {
                    person_id: 2,
                    text: " ".into(),
                    expect: vec![
                        Expectation {
                            kind: ExpectKind::ToolCalled,
                            text: " ".into(),
                        },
                        Expectation {
                            kind: ExpectKind::ReplyLacks,
                            text: "y".repeat(MAX_EXPECT_CHARS + 1),
                        },
                    ],
                },
            ],
        };
        assert_eq!(
            fields(&bad),
            [
                "name",
                "agent_id",
                "steps.0.person_id",
                "steps.1.text",
                "steps.1.expect.0.text",
                "steps.1.expect.1.text"
            ]
        );
        let many = ScenarioInput {
            steps: vec![step(1, "hi"); MAX_STEPS + 1],
            ..ok
        };
        assert_eq!(fields(&many), ["steps"]);
    }

    #[test]
    fn messages_name_their_step() {
        assert_eq!(where_of("steps.2.expect.0.text"), "Step 3: ");
        assert_eq!(where_of("name"), "");
    }

    #[test]
    fn kinds_round_trip_and_agent_ids_are_shaped() {
        for k in ExpectKind::ALL {
            assert_eq!(ExpectKind::parse(k.as_str()), Some(k));
        }
        assert!(agent_id_ok("agent-0a1b-2c"));
        assert!(!agent_id_ok("agent-"));
        assert!(!agent_id_ok("agent-../x"));
    }
}
