//! Scenarios: the rules (who may change which), the store, export and import, and a run.
//!
//! A run is a task of its own (it outlives the request and the browser) that sends the steps
//! one after another as ordinary chat turns through [`chat::service::start_turn`], so each step
//! goes through everything a turn from the chat page does: the per-agent lock, the journal,
//! attach, send as the person, detach. Each step is written to the database as it starts and
//! when it ends (its reply also while it streams): the page polls that, from any instance.
//!
//! 1. the run row is created (one running run per scenario), with a snapshot of its steps;
//! 2. per step: stop asked? → the run ends as stopped; else the turn starts and its events are
//!    read to the end (`Released`), checking the stop flag meanwhile and stopping the turn
//!    through [`chat::service::stop_turn`] when it is set;
//! 3. the expectations are checked (the persona block read by the id stored with the person);
//! 4. a step that did not pass (a failed expectation, a failed or stopped turn) ends the run
//!    with its reason; after the last step the run has passed.
//!
//! [`chat::service::start_turn`]: crate::features::chat::service::start_turn
//! [`chat::service::stop_turn`]: crate::features::chat::service::stop_turn

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use tracing::Instrument;

use super::model::*;
use crate::auth::guard::Ctx;
use crate::auth::Role;
use crate::db::{self, audit::Outcome, scenarios as store};
use crate::error::AppError;
use crate::features::chat::model::{OutgoingMessage, PartKind, TurnEvent, Usage};
use crate::features::chat::service as chat;

/// How often a running step looks at the stop flag (and writes the reply so far).
const STOP_POLL: Duration = Duration::from_millis(250);
/// The most scenarios the list shows.
const LIST_LIMIT: i64 = 200;
/// The most runs the run list shows.
const RUNS_LIMIT: i64 = 50;

fn internal(e: sqlx::Error) -> AppError {
    tracing::error!(error = %e, "scenarios database");
    AppError::Internal
}

fn not_found() -> AppError {
    AppError::NotFound("No such scenario.".into())
}

fn run_not_found() -> AppError {
    AppError::NotFound("No such run.".into())
}

/// The owner of a scenario, or an operator.
fn may_edit(ctx: &Ctx, owner_id: i64) -> bool {
    owner_id == ctx.user.id || ctx.user.role >= Role::Operator
}

fn steps_of(json: &str) -> Vec<StepInput> {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::error!(error = %e, "unreadable scenario steps");
        Vec::new()
    })
}

fn person_label(p: &db::persons::PersonRow) -> String {
    format!("{} (@{})", p.display_name, p.username)
}

/// Checks the input (the same rules as the browser, and that every person exists) and gives
/// it back as stored.
async fn checked(ctx: &Ctx, input: ScenarioInput) -> Result<ScenarioInput, AppError> {
    let input = normalized(input);
    if let Some((field, message)) = problems(&input).into_iter().next() {
        return Err(AppError::invalid(&field, message));
    }
    if !input.agent_id.is_empty() {
        chat::check_agent_id(&input.agent_id)
            .map_err(|_| AppError::invalid("agent_id", "Pick an agent."))?;
    }
    for (i, step) in input.steps.iter().enumerate() {
        if db::persons::by_id(&ctx.state.db, step.person_id)
            .await
            .map_err(internal)?
            .is_none()
        {
            return Err(AppError::invalid(
                &step_field(i, "person_id"),
                "That person no longer exists; pick another.",
            ));
        }
    }
    Ok(input)
}

fn steps_json(steps: &[StepInput]) -> String {
    serde_json::to_string(steps).unwrap_or_else(|_| "[]".into())
}

pub async fn list(ctx: &Ctx, query: &str) -> Result<Vec<ScenarioSummary>, AppError> {
    let rows = store::list(&ctx.state.db, query.trim(), LIST_LIMIT)
        .await
        .map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|r| ScenarioSummary {
            id: r.id,
            name: r.name,
            agent_id: r.agent_id,
            steps: steps_of(&r.steps).len(),
            owner: r.owner,
            updated_at: r.updated_at,
            last_status: r.last_status,
            last_run_at: r.last_started_at,
        })
        .collect())
}

async fn detail_of(ctx: &Ctx, row: store::ScenarioRow) -> Result<ScenarioDetail, AppError> {
    let mut steps = Vec::new();
    for s in steps_of(&row.steps) {
        let person = match db::persons::by_id(&ctx.state.db, s.person_id)
            .await
            .map_err(internal)?
        {
            Some(p) => person_label(&p),
            None => format!("a deleted person (#{})", s.person_id),
        };
        steps.push(StepView {
            person_id: s.person_id,
            person,
            text: s.text,
            expect: s.expect,
        });
    }
    Ok(ScenarioDetail {
        can_edit: may_edit(ctx, row.owner_id),
        id: row.id,
        name: row.name,
        agent_id: row.agent_id,
        steps,
        owner: row.owner,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

async fn row(ctx: &Ctx, id: i64) -> Result<store::ScenarioRow, AppError> {
    store::by_id(&ctx.state.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)
}

pub async fn get(ctx: &Ctx, id: i64) -> Result<ScenarioDetail, AppError> {
    let row = row(ctx, id).await?;
    detail_of(ctx, row).await
}

pub async fn create(ctx: &Ctx, input: ScenarioInput) -> Result<ScenarioDetail, AppError> {
    let input = checked(ctx, input).await?;
    let id = store::insert(
        &ctx.state.db,
        &store::NewScenario {
            name: &input.name,
            agent_id: (!input.agent_id.is_empty()).then_some(input.agent_id.as_str()),
            steps: &steps_json(&input.steps),
            owner_id: ctx.user.id,
            owner: &ctx.user.username,
        },
    )
    .await
    .map_err(internal)?;
    ctx.audit(
        "scenario.create",
        Some(&format!("scenario {id}")),
        Outcome::Ok,
        Some(&format!("{} ({} steps)", input.name, input.steps.len())),
    )
    .await;
    get(ctx, id).await
}

pub async fn update(ctx: &Ctx, id: i64, input: ScenarioInput) -> Result<ScenarioDetail, AppError> {
    let current = row(ctx, id).await?;
    if !may_edit(ctx, current.owner_id) {
        ctx.audit(
            "scenario.update",
            Some(&format!("scenario {id}")),
            Outcome::Denied,
            Some("not the owner"),
        )
        .await;
        return Err(AppError::Forbidden);
    }
    let input = checked(ctx, input).await?;
    let agent = (!input.agent_id.is_empty()).then_some(input.agent_id.as_str());
    if !store::update(
        &ctx.state.db,
        id,
        &input.name,
        agent,
        &steps_json(&input.steps),
    )
    .await
    .map_err(internal)?
    {
        return Err(not_found());
    }
    ctx.audit(
        "scenario.update",
        Some(&format!("scenario {id}")),
        Outcome::Ok,
        Some(&format!("{} ({} steps)", input.name, input.steps.len())),
    )
    .await;
    get(ctx, id).await
}

pub async fn delete(ctx: &Ctx, id: i64) -> Result<(), AppError> {
    let current = row(ctx, id).await?;
    if !may_edit(ctx, current.owner_id) {
        ctx.audit(
            "scenario.delete",
            Some(&format!("scenario {id}")),
            Outcome::Denied,
            Some("not the owner"),
        )
        .await;
        return Err(AppError::Forbidden);
    }
    settle_interrupted(ctx).await;
    if store::running_of(&ctx.state.db, id)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(AppError::Conflict(
            "This scenario is running; stop the run before deleting it.".into(),
        ));
    }
    store::delete(&ctx.state.db, id).await.map_err(internal)?;
    ctx.audit(
        "scenario.delete",
        Some(&format!("scenario {id}")),
        Outcome::Ok,
        Some(&current.name),
    )
    .await;
    Ok(())
}

// ---- export / import ------------------------------------------------------------------------

/// One scenario (`Some(id)`) or all of them, as an export file.
pub async fn export(ctx: &Ctx, id: Option<i64>) -> Result<String, AppError> {
    let rows = match id {
        Some(id) => vec![row(ctx, id).await?],
        None => store::all(&ctx.state.db).await.map_err(internal)?,
    };
    let mut scenarios = Vec::new();
    for r in rows {
        let mut steps = Vec::new();
        for s in steps_of(&r.steps) {
            let person = db::persons::by_id(&ctx.state.db, s.person_id)
                .await
                .map_err(internal)?
                .map(|p| p.username)
                .unwrap_or_default();
            steps.push(StepExport {
                person,
                text: s.text,
                expect: s.expect,
            });
        }
        scenarios.push(ScenarioExport {
            name: r.name,
            agent_id: r.agent_id,
            steps,
        });
    }
    let count = scenarios.len();
    let file = ScenarioFile {
        format: FILE_FORMAT.into(),
        version: FILE_VERSION,
        scenarios,
    };
    ctx.audit(
        "scenario.export",
        id.map(|id| format!("scenario {id}")).as_deref(),
        Outcome::Ok,
        Some(&format!("{count} scenario(s)")),
    )
    .await;
    serde_json::to_string_pretty(&file).map_err(|e| {
        tracing::error!(error = %e, "scenario export");
        AppError::Internal
    })
}

/// The most scenarios one import may hold.
pub const MAX_IMPORT: usize = 200;

/// Imports an export file: every scenario is checked like a saved one (persons by username)
/// before any is created; the first problem is reported with the scenario and step it is in.
pub async fn import(ctx: &Ctx, json: &str) -> Result<ImportReport, AppError> {
    let bad = |m: String| AppError::invalid("json", m);
    let file: ScenarioFile = serde_json::from_str(json).map_err(|e| {
        bad(format!(
            "This is not a scenarios file (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })?;
    if file.format != FILE_FORMAT || file.version != FILE_VERSION {
        return Err(bad(format!(
            "This is not a scenarios file of this dashboard (expected format \"{FILE_FORMAT}\", version {FILE_VERSION})."
        )));
    }
    if file.scenarios.is_empty() {
        return Err(bad("The file holds no scenarios.".into()));
    }
    if file.scenarios.len() > MAX_IMPORT {
        return Err(bad(format!(
            "The file holds {} scenarios; one import takes at most {MAX_IMPORT}.",
            file.scenarios.len()
        )));
    }
    let mut inputs = Vec::new();
    for (n, s) in file.scenarios.into_iter().enumerate() {
        let label = format!("Scenario {} (“{}”)", n + 1, s.name.trim());
        let mut steps = Vec::new();
        for (i, step) in s.steps.into_iter().enumerate().take(MAX_STEPS + 1) {
            let person = db::persons::by_username(&ctx.state.db, step.person.trim())
                .await
                .map_err(internal)?;
            let Some(person) = person else {
                return Err(bad(format!(
                    "{label}, step {}: there is no person @{} on this dashboard.",
                    i + 1,
                    step.person.trim()
                )));
            };
            steps.push(StepInput {
                person_id: person.id,
                text: step.text,
                expect: step.expect,
            });
        }
        let input = normalized(ScenarioInput {
            name: s.name,
            agent_id: s.agent_id.unwrap_or_default(),
            steps,
        });
        if let Some((field, message)) = problems(&input).into_iter().next() {
            let at = where_of(&field);
            let at = if at.is_empty() {
                format!("{label}: ")
            } else {
                format!("{label}, {}", at.to_lowercase())
            };
            return Err(bad(format!("{at}{message}")));
        }
        inputs.push(input);
    }
    let steps: Vec<String> = inputs.iter().map(|i| steps_json(&i.steps)).collect();
    let new: Vec<store::NewScenario<'_>> = inputs
        .iter()
        .zip(&steps)
        .map(|(i, steps)| store::NewScenario {
            name: &i.name,
            agent_id: (!i.agent_id.is_empty()).then_some(i.agent_id.as_str()),
            steps,
            owner_id: ctx.user.id,
            owner: &ctx.user.username,
        })
        .collect();
    let ids = store::insert_all(&ctx.state.db, &new)
        .await
        .map_err(internal)?;
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    ctx.audit(
        "scenario.import",
        None,
        Outcome::Ok,
        Some(&format!("{} scenario(s): {}", ids.len(), names.join(", "))),
    )
    .await;
    let mut created = Vec::new();
    for (id, input) in ids.into_iter().zip(inputs) {
        created.push(ScenarioSummary {
            id,
            name: input.name,
            agent_id: (!input.agent_id.is_empty()).then_some(input.agent_id),
            steps: input.steps.len(),
            owner: ctx.user.username.clone(),
            updated_at: db::now_ms(),
            last_status: None,
            last_run_at: None,
        });
    }
    Ok(ImportReport { created })
}

// ---- runs ------------------------------------------------------------------------------------

/// A step as the run keeps it: the scenario's step with the person's name at the time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RunStep {
    person_id: i64,
    person: String,
    text: String,
    expect: Vec<Expectation>,
}

/// Runs whose process died are ended as interrupted (any instance may see it first).
async fn settle_interrupted(ctx: &Ctx) {
    let inst = &ctx.state.instance;
    if let Err(e) = store::end_interrupted(&ctx.state.db, inst.now_ms(), inst.expiry_ms()).await {
        tracing::error!(error = %e, "scenario runs: ending interrupted runs");
    }
}

fn summary_of(r: &store::RunRow) -> RunSummary {
    let total = serde_json::from_str::<Vec<RunStep>>(&r.steps)
        .map(|s| s.len())
        .unwrap_or(0);
    RunSummary {
        id: r.id,
        scenario_id: r.scenario_id,
        name: r.name.clone(),
        agent_id: r.agent_id.clone(),
        status: r.status.clone(),
        reason: r.reason.clone(),
        by: r.username.clone(),
        started_at: r.started_at,
        ended_at: r.ended_at,
        steps_total: total,
        steps_done: r.steps_done.max(0) as usize,
        stopping: r.stop_at.is_some() && r.ended_at.is_none(),
    }
}

/// Starts a run of scenario `id` on its agent, or on `agent_id` for a scenario without one.
pub async fn start_run(ctx: &Ctx, id: i64, agent_id: &str) -> Result<RunSummary, AppError> {
    let scenario = row(ctx, id).await?;
    let agent = match (&scenario.agent_id, agent_id.trim()) {
        (Some(fixed), "") => fixed.clone(),
        (Some(fixed), given) if given == fixed => fixed.clone(),
        (Some(_), _) => {
            return Err(AppError::invalid(
                "agent_id",
                "This scenario always runs on its own agent.",
            ))
        }
        (None, "") => {
            return Err(AppError::invalid(
                "agent_id",
                "Pick the agent to run this scenario on.",
            ))
        }
        (None, given) => given.to_string(),
    };
    chat::check_agent_id(&agent)?;
    // Letta must be reachable as configured before anything is recorded.
    ctx.state.letta.client()?;
    let mut steps = Vec::new();
    for (i, s) in steps_of(&scenario.steps).into_iter().enumerate() {
        let person = db::persons::by_id(&ctx.state.db, s.person_id)
            .await
            .map_err(internal)?;
        let Some(person) = person else {
            return Err(AppError::Conflict(format!(
                "Step {}: its person no longer exists; edit the scenario first.",
                i + 1
            )));
        };
        steps.push(RunStep {
            person_id: person.id,
            person: person_label(&person),
            text: s.text,
            expect: s.expect,
        });
    }
    if steps.is_empty() {
        return Err(AppError::Conflict("This scenario has no steps.".into()));
    }
    settle_interrupted(ctx).await;
    let snapshot = serde_json::to_string(&steps).map_err(|_| AppError::Internal)?;
    let run_id = store::start_run(
        &ctx.state.db,
        &store::NewRun {
            scenario_id: id,
            name: &scenario.name,
            agent_id: &agent,
            steps: &snapshot,
            user_id: ctx.user.id,
            username: &ctx.user.username,
            instance_id: &ctx.state.instance.id(),
        },
    )
    .await
    .map_err(internal)?
    .ok_or_else(|| {
        AppError::Conflict("This scenario is running already; wait for it or stop it.".into())
    })?;
    ctx.audit(
        "scenario.run",
        Some(&format!("scenario {id}")),
        Outcome::Ok,
        Some(&format!("run {run_id} on {agent} ({} steps)", steps.len())),
    )
    .await;

    let task_ctx = ctx.clone();
    let span = tracing::info_span!("scenario_run", run_id, scenario_id = id, agent_id = %agent);
    tokio::spawn(
        async move {
            let ctx = task_ctx;
            let db = ctx.state.db.clone();
            let outcome = AssertUnwindSafe(run_steps(&ctx, run_id, &agent, &steps))
                .catch_unwind()
                .await;
            let (status, reason) = match outcome {
                Ok(end) => end,
                Err(_) => {
                    tracing::error!(run_id, "scenario run panicked");
                    (
                        "failed",
                        Some("Something went wrong on the server. It has been logged.".into()),
                    )
                }
            };
            if let Err(e) = store::end_run(&db, run_id, status, reason.as_deref()).await {
                tracing::error!(error = %e, run_id, "scenario run end write");
            }
            ctx.audit(
                "scenario.run_end",
                Some(&format!("scenario {id}")),
                if status == "passed" {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                },
                Some(&match &reason {
                    Some(r) => format!("run {run_id}: {status}: {r}"),
                    None => format!("run {run_id}: {status}"),
                }),
            )
            .await;
        }
        .instrument(span),
    );
    let run = store::run(&ctx.state.db, run_id)
        .await
        .map_err(internal)?
        .ok_or_else(run_not_found)?;
    Ok(summary_of(&run))
}

/// Every step in order; the run's status and reason at its end.
async fn run_steps(
    ctx: &Ctx,
    run_id: i64,
    agent: &str,
    steps: &[RunStep],
) -> (&'static str, Option<String>) {
    let db = &ctx.state.db;
    for (i, step) in steps.iter().enumerate() {
        if stop_asked(db, run_id).await {
            return ("stopped", Some(format!("Stopped before step {}.", i + 1)));
        }
        if let Err(e) = store::step_started(
            db,
            run_id,
            i as i64,
            step.person_id,
            &step.person,
            &step.text,
        )
        .await
        {
            tracing::error!(error = %e, run_id, "scenario step write");
            return ("failed", Some(AppError::Internal.to_string()));
        }
        let record = run_step(ctx, run_id, i, agent, step).await;
        let end = record.end();
        if let Err(e) = store::step_ended(db, run_id, i as i64, &end).await {
            tracing::error!(error = %e, run_id, "scenario step write");
            return ("failed", Some(AppError::Internal.to_string()));
        }
        match end.status.as_str() {
            "passed" => {}
            "stopped" => return ("stopped", Some(format!("Stopped during step {}.", i + 1))),
            _ => {
                let why = record
                    .failure()
                    .unwrap_or_else(|| "the step did not pass".into());
                return ("failed", Some(format!("Step {}: {why}", i + 1)));
            }
        }
    }
    ("passed", None)
}

async fn stop_asked(db: &db::Db, run_id: i64) -> bool {
    match store::stop_requested(db, run_id).await {
        Ok(asked) => asked,
        Err(e) => {
            // Unknown: go on (the next look may answer); the turn itself is bounded.
            tracing::warn!(error = %e, run_id, "scenario stop flag read");
            false
        }
    }
}

/// What one step's turn said, gathered from its events.
#[derive(Debug, Default)]
struct StepRun {
    turn_id: Option<String>,
    reply: String,
    /// The assistant message the last reply text belonged to (a new one starts a new line).
    reply_id: Option<String>,
    tools: Vec<(String, ToolCall)>,
    usage: Option<Usage>,
    elapsed_ms: Option<u64>,
    error: Option<String>,
    detached: Option<bool>,
    stopped: bool,
    checks: Vec<CheckResult>,
}

impl StepRun {
    fn hear(&mut self, ev: TurnEvent) {
        match ev {
            TurnEvent::Started { turn_id } => self.turn_id = Some(turn_id),
            TurnEvent::Part {
                id,
                kind: PartKind::Assistant,
                text,
                ..
            } => {
                if self.reply_id.as_ref() != Some(&id) {
                    if !self.reply.is_empty() {
                        self.reply.push('\n');
                    }
                    self.reply_id = Some(id);
                }
                self.reply.push_str(&text);
            }
            TurnEvent::Part {
                id,
                kind: PartKind::ToolCall,
                text,
                name,
            } => match self.tools.iter_mut().find(|(i, _)| *i == id) {
                Some((_, call)) => {
                    call.arguments.push_str(&text);
                    if call.name.is_empty() {
                        call.name = name.unwrap_or_default();
                    }
                }
                None => self.tools.push((
                    id,
                    ToolCall {
                        name: name.unwrap_or_default(),
                        arguments: text,
                    },
                )),
            },
            TurnEvent::Complete {
                usage,
                elapsed_ms,
                error,
                ..
            } => {
                self.usage = usage;
                self.elapsed_ms = Some(elapsed_ms);
                if error.is_some() {
                    self.error = error;
                }
            }
            TurnEvent::Failed { message } => self.error = Some(message),
            TurnEvent::Released { detached } => self.detached = Some(detached),
            _ => {}
        }
    }

    fn status(&self) -> &'static str {
        if self.stopped {
            "stopped"
        } else if self.error.is_some() {
            "error"
        } else if self.checks.iter().all(|c| c.passed) {
            "passed"
        } else {
            "failed"
        }
    }

    /// Why the step did not pass, for the run's reason.
    fn failure(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("the turn failed: {e}"));
        }
        self.checks.iter().find(|c| !c.passed).map(|c| {
            let base = match c.kind {
                ExpectKind::ReplyContains => format!("the reply does not contain “{}”", c.text),
                ExpectKind::ReplyLacks => format!("the reply contains “{}”", c.text),
                ExpectKind::ToolCalled => format!("the tool {} was not called", c.text),
                ExpectKind::PersonaContains => {
                    format!("the persona block does not contain “{}”", c.text)
                }
            };
            match &c.detail {
                Some(d) => format!("{base} ({d})"),
                None => base,
            }
        })
    }

    fn end(&self) -> store::StepEnd {
        let tools: Vec<&ToolCall> = self.tools.iter().map(|(_, t)| t).collect();
        let tokens = |f: fn(&Usage) -> u64| self.usage.as_ref().map(|u| f(u) as i64);
        store::StepEnd {
            turn_id: self.turn_id.clone(),
            status: self.status().to_string(),
            reply: self.reply.clone(),
            tools: serde_json::to_string(&tools).unwrap_or_else(|_| "[]".into()),
            checks: serde_json::to_string(&self.checks).unwrap_or_else(|_| "[]".into()),
            error: self.error.clone(),
            prompt_tokens: tokens(|u| u.prompt_tokens),
            completion_tokens: tokens(|u| u.completion_tokens),
            total_tokens: tokens(|u| u.total_tokens),
            elapsed_ms: self.elapsed_ms.map(|ms| ms as i64),
            detached: self.detached,
        }
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// One step: its turn to the end, then its expectations.
async fn run_step(ctx: &Ctx, run_id: i64, index: usize, agent: &str, step: &RunStep) -> StepRun {
    let db = &ctx.state.db;
    let mut rec = StepRun::default();
    let send = OutgoingMessage {
        agent_id: agent.to_string(),
        person_id: step.person_id,
        text: step.text.clone(),
    };
    let mut rx = match chat::start_turn(ctx, send, false).await {
        Ok(rx) => rx,
        Err(e) => {
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    let mut poll = tokio::time::interval(STOP_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut written = (None::<String>, String::new());
    let mut turn_stopped = false;
    // The receiver is read to its end (the turn's task drops its sender after `Released`):
    // dropping it early would count as a browser that left, and cancel the turn.
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => rec.hear(ev),
                None => break,
            },
            _ = poll.tick() => {
                if !rec.stopped && stop_asked(db, run_id).await {
                    rec.stopped = true;
                }
                // The turn's id comes with its first event: a stop asked before it is passed
                // on at the next tick.
                if rec.stopped && !turn_stopped {
                    if let Some(turn_id) = &rec.turn_id {
                        turn_stopped = true;
                        if let Err(e) = chat::stop_turn(ctx, turn_id) {
                            tracing::warn!(error = %e, run_id, "scenario stop of a turn");
                        }
                    }
                }
                if (rec.turn_id.clone(), rec.reply.clone()) != written {
                    written = (rec.turn_id.clone(), rec.reply.clone());
                    if let Err(e) = store::step_progress(db, run_id, index as i64, rec.turn_id.as_deref(), &rec.reply).await {
                        tracing::warn!(error = %e, run_id, "scenario step progress write");
                    }
                }
            }
        }
    }
    if rec.stopped || rec.error.is_some() {
        return rec;
    }
    rec.checks = check(ctx, step, &rec).await;
    rec
}

/// The step's expectations against its turn (and the person's block, read after the turn).
async fn check(ctx: &Ctx, step: &RunStep, rec: &StepRun) -> Vec<CheckResult> {
    let mut persona: Option<Result<String, String>> = None;
    let mut out = Vec::new();
    for e in &step.expect {
        let (passed, detail) = match e.kind {
            ExpectKind::ReplyContains => (contains(&rec.reply, &e.text), None),
            ExpectKind::ReplyLacks => (!contains(&rec.reply, &e.text), None),
            ExpectKind::ToolCalled => (
                rec.tools
                    .iter()
                    .any(|(_, t)| t.name.eq_ignore_ascii_case(e.text.trim())),
                None,
            ),
            ExpectKind::PersonaContains => {
                if persona.is_none() {
                    persona = Some(read_persona(ctx, step.person_id).await);
                }
                match persona.as_ref() {
                    Some(Ok(value)) => (contains(value, &e.text), None),
                    Some(Err(why)) => (false, Some(why.clone())),
                    None => (false, None),
                }
            }
        };
        out.push(CheckResult {
            kind: e.kind,
            text: e.text.clone(),
            passed,
            detail,
        });
    }
    out
}

/// The person's persona block as Letta has it now, by the id stored with the person.
async fn read_persona(ctx: &Ctx, person_id: i64) -> Result<String, String> {
    let state = &ctx.state;
    let person = db::persons::by_id(&state.db, person_id)
        .await
        .map_err(|e| internal(e).to_string())?
        .ok_or_else(|| "the person no longer exists".to_string())?;
    let block_id = person
        .block_id
        .clone()
        .ok_or_else(|| "the person has no persona block".to_string())?;
    let client = state.letta.client().map_err(|e| e.to_string())?;
    crate::blocks::persona::read(&state.db, &client, person.id, &block_id, person.block_limit)
        .await
        .map(|b| b.value)
        .map_err(|e| format!("the block could not be read: {e}"))
}

/// Stop: who started the run, or an operator. `false`: it was not running.
pub async fn stop_run(ctx: &Ctx, run_id: i64) -> Result<bool, AppError> {
    let run = store::run(&ctx.state.db, run_id)
        .await
        .map_err(internal)?
        .ok_or_else(run_not_found)?;
    if run.user_id != ctx.user.id && ctx.user.role < Role::Operator {
        return Err(AppError::Forbidden);
    }
    let asked = store::request_stop(&ctx.state.db, run_id, &ctx.user.username)
        .await
        .map_err(internal)?;
    if asked {
        ctx.audit(
            "scenario.stop",
            Some(&format!("scenario {}", run.scenario_id)),
            Outcome::Ok,
            Some(&format!("run {run_id}")),
        )
        .await;
    }
    Ok(asked)
}

/// Whether a run that has not ended lost its process: then it is ended as interrupted, and
/// read again. (Polled pages look here, so the write happens only when it is needed.)
async fn settled(ctx: &Ctx, run: store::RunRow) -> Result<store::RunRow, AppError> {
    if run.ended_at.is_some() {
        return Ok(run);
    }
    match ctx.state.instance.is_alive(&run.instance_id).await {
        Ok(true) => Ok(run),
        Ok(false) => {
            settle_interrupted(ctx).await;
            run_row(ctx, run.id).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "scenario run: instance liveness");
            Ok(run)
        }
    }
}

pub async fn runs(ctx: &Ctx, scenario_id: i64) -> Result<Vec<RunSummary>, AppError> {
    let mut rows = store::runs_of(&ctx.state.db, scenario_id, RUNS_LIMIT)
        .await
        .map_err(internal)?;
    for row in rows.iter_mut().filter(|r| r.ended_at.is_none()) {
        *row = settled(ctx, row.clone()).await?;
    }
    Ok(rows.iter().map(summary_of).collect())
}

fn record_of(s: store::StepRow) -> StepRecord {
    let usage = s.total_tokens.map(|total| Usage {
        prompt_tokens: s.prompt_tokens.unwrap_or(0).max(0) as u64,
        completion_tokens: s.completion_tokens.unwrap_or(0).max(0) as u64,
        total_tokens: total.max(0) as u64,
        steps: 0,
    });
    StepRecord {
        index: s.step_index.max(0) as usize,
        person: s.person,
        message: s.message,
        turn_id: s.turn_id,
        status: s.status,
        reply: s.reply,
        tools: serde_json::from_str(&s.tools).unwrap_or_default(),
        checks: serde_json::from_str(&s.checks).unwrap_or_default(),
        error: s.error,
        usage,
        elapsed_ms: s.elapsed_ms,
        detached: s.detached.map(|d| d != 0),
    }
}

async fn run_row(ctx: &Ctx, run_id: i64) -> Result<store::RunRow, AppError> {
    store::run(&ctx.state.db, run_id)
        .await
        .map_err(internal)?
        .ok_or_else(run_not_found)
}

pub async fn run_detail(ctx: &Ctx, run_id: i64) -> Result<RunDetail, AppError> {
    let run = settled(ctx, run_row(ctx, run_id).await?).await?;
    let steps = store::steps_of(&ctx.state.db, run_id)
        .await
        .map_err(internal)?;
    Ok(RunDetail {
        can_stop: run.ended_at.is_none()
            && (run.user_id == ctx.user.id || ctx.user.role >= Role::Operator),
        run: summary_of(&run),
        steps: steps.into_iter().map(record_of).collect(),
    })
}

/// Two runs of one scenario side by side, step by step (as far as either got).
pub async fn compare(ctx: &Ctx, left: i64, right: i64) -> Result<Comparison, AppError> {
    let (l, r) = (run_row(ctx, left).await?, run_row(ctx, right).await?);
    if l.scenario_id != r.scenario_id {
        return Err(AppError::invalid(
            "right",
            "Pick two runs of the same scenario.",
        ));
    }
    let plan: Vec<RunStep> = serde_json::from_str(&l.steps).unwrap_or_default();
    let mut ls: Vec<StepRecord> = store::steps_of(&ctx.state.db, left)
        .await
        .map_err(internal)?
        .into_iter()
        .map(record_of)
        .collect();
    let mut rs: Vec<StepRecord> = store::steps_of(&ctx.state.db, right)
        .await
        .map_err(internal)?
        .into_iter()
        .map(record_of)
        .collect();
    let n = plan.len().max(ls.len()).max(rs.len());
    let mut steps = Vec::new();
    for index in 0..n {
        let take =
            |v: &mut Vec<StepRecord>| v.iter().position(|s| s.index == index).map(|p| v.remove(p));
        let (left, right) = (take(&mut ls), take(&mut rs));
        let (person, message) = match (plan.get(index), &left, &right) {
            (_, Some(s), _) | (_, None, Some(s)) => (s.person.clone(), s.message.clone()),
            (Some(p), None, None) => (p.person.clone(), p.text.clone()),
            (None, None, None) => (String::new(), String::new()),
        };
        steps.push(StepPair {
            index,
            person,
            message,
            left,
            right,
        });
    }
    Ok(Comparison {
        left: summary_of(&l),
        right: summary_of(&r),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: &str, kind: PartKind, text: &str, name: Option<&str>) -> TurnEvent {
        TurnEvent::Part {
            id: id.into(),
            kind,
            text: text.into(),
            name: name.map(Into::into),
        }
    }

    #[test]
    fn a_steps_record_is_built_from_its_turns_events() {
        let mut rec = StepRun::default();
        for ev in [
            TurnEvent::Started {
                turn_id: "t1".into(),
            },
            part("c1", PartKind::ToolCall, "{\"q\":", Some("search")),
            part("c1", PartKind::ToolCall, "1}", None),
            part("a1", PartKind::Assistant, "Hel", None),
            part("a1", PartKind::Assistant, "lo", None),
            part("r1", PartKind::Reasoning, "hmm", None),
            part("a2", PartKind::Assistant, "Again", None),
            TurnEvent::Complete {
                stop_reason: "end_turn".into(),
                usage: Some(Usage {
                    prompt_tokens: 10,
                    completion_tokens: 2,
                    total_tokens: 12,
                    steps: 1,
                }),
                elapsed_ms: 5,
                error: None,
            },
            TurnEvent::Released { detached: true },
        ] {
            rec.hear(ev);
        }
        assert_eq!(rec.turn_id.as_deref(), Some("t1"));
        assert_eq!(rec.reply, "Hello\nAgain");
        assert_eq!(rec.tools.len(), 1);
        assert_eq!(rec.tools[0].1.name, "search");
        assert_eq!(rec.tools[0].1.arguments, "{\"q\":1}");
        assert_eq!(rec.status(), "passed");
        rec.checks.push(CheckResult {
            kind: ExpectKind::ReplyLacks,
            text: "hello".into(),
            passed: !contains(&rec.reply, "hello"),
            detail: None,
        });
        assert_eq!(rec.status(), "failed");
        assert_eq!(rec.failure().as_deref(), Some("the reply contains “hello”"));
        let end = rec.end();
        assert_eq!(end.total_tokens, Some(12));
        assert_eq!(end.detached, Some(true));
    }

    #[test]
    fn a_failed_turn_is_an_error_and_a_stop_wins() {
        let mut rec = StepRun::default();
        rec.hear(TurnEvent::Failed {
            message: "busy".into(),
        });
        assert_eq!(rec.status(), "error");
        assert_eq!(rec.failure().as_deref(), Some("the turn failed: busy"));
        rec.stopped = true;
        assert_eq!(rec.status(), "stopped");
    }
}
