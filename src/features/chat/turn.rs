//! Chat turns: attach the person's persona block, send as the person, detach. Always.
//!
//! A turn runs in its own task, so nothing the browser does (closing the tab, navigating away)
//! can skip the detach; the page only listens. The order of a turn:
//!
//! 1. wait for the agent ([`AgentLocks`](crate::blocks::lease::AgentLocks): one turn per
//!    agent, fair queue, bounded wait);
//! 2. detach what an earlier turn left on this agent (a failed detach), or refuse;
//! 3. journal the block (`chat_attachments`), then attach it, unless it was attached before
//!    the turn (then it stays);
//! 4. stream the reply (`sender_id` = the person's identity) to the page; on stop, a cut
//!    browser or the time limit, cancel the run and wait for it to end;
//! 5. tell the page the reply is complete, THEN detach, unjournal, and let the next turn in.
//!
//! The sweeper detaches whatever the journal still holds at start and periodically.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::Db;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::model::*;
use crate::auth::guard::Ctx;
use crate::auth::Role;
use crate::blocks::attach::{self, AttachError, Attachment, Io, Target};
use crate::blocks::lease::{AgentLease, LockError};
use crate::blocks::turns::{ActiveTurn, Registered};
use crate::connection::upstream;
use crate::db::{self, audit::Outcome};
use crate::error::AppError;
use crate::letta::error::LettaError;
use crate::letta::types::{LettaMessage, MessageCreate, MessageFilter, RunStatus, StreamEvent};
use crate::letta::LettaClient;
use crate::state::AppState;

/// After a cancel, how long the turn waits for Letta's stream to end before it lets go.
const CANCEL_DRAIN: Duration = Duration::from_secs(10);
/// Keep-alive to the page while a turn waits (a dead browser is noticed on the next write).
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often the sweeper drops old ledger entries.
const LEDGER_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A stream error's `error_type` as shown: an identifier like `llm_error`, or `error` for
/// anything else the server put there.
fn error_kind(error_type: &str) -> &str {
    let ok = (1..=40).contains(&error_type.len())
        && error_type
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        error_type
    } else {
        "error"
    }
}

fn message_of(e: LettaError) -> String {
    upstream(e).to_string()
}

pub(super) fn internal(e: sqlx::Error) -> AppError {
    tracing::error!(error = %e, "chat database");
    AppError::Internal
}

fn new_turn_id() -> String {
    let mut buf = [0u8; 12];
    if getrandom::fill(&mut buf).is_err() {
        // Unique enough for one process's journal if the OS RNG fails.
        let n = db::now_ms() as u64 ^ (std::process::id() as u64) << 32;
        return format!("turn-{n:x}");
    }
    format!("turn-{}", hex::encode(buf))
}

/// Everything a turn needs, checked before it starts.
struct Turn {
    id: String,
    agent_id: String,
    person_id: i64,
    username: String,
    block_id: String,
    identity_id: String,
    text: String,
    background: bool,
    /// The dashboard user who sent it.
    by: String,
}

/// What the turn ledger records of a turn as it runs, most of it from the events the page is
/// told.
struct Notes {
    outcome: &'static str,
    reason: Option<String>,
    usage: Option<Usage>,
    started_at: Option<i64>,
    attach: Option<&'static str>,
    detach: Option<&'static str>,
    run_id: Option<String>,
    page_gone: bool,
    /// The Letta server did not answer in time (the request timeout, not the turn's limit).
    letta_timeout: bool,
}

impl Default for Notes {
    fn default() -> Self {
        Notes {
            outcome: "failed",
            reason: None,
            usage: None,
            started_at: None,
            attach: None,
            detach: None,
            run_id: None,
            page_gone: false,
            letta_timeout: false,
        }
    }
}

impl Notes {
    fn hear(&mut self, ev: &TurnEvent) {
        if let Some(outcome) = outcome_of(ev) {
            self.outcome = outcome;
        }
        match ev {
            TurnEvent::Failed { message } => self.reason = Some(message.clone()),
            TurnEvent::Complete { usage, error, .. } => {
                self.reason = error.clone();
                self.usage = usage.clone();
            }
            TurnEvent::Sending { pre_attached: true } => self.attach = Some("already"),
            TurnEvent::Background { run_id } => self.run_id = Some(run_id.clone()),
            _ => {}
        }
    }

    /// The ledger's entry for a turn that ended now.
    fn end(&self) -> db::ledger::TurnEnd {
        let reason = match &self.reason {
            None if self.page_gone && self.outcome == "cancelled" => {
                Some("The page was closed during the reply, so the run was cancelled.".into())
            }
            reason => reason.clone(),
        };
        let tokens = |f: fn(&Usage) -> u64| self.usage.as_ref().map(|u| f(u) as i64);
        let outcome = match self.outcome {
            "failed" if self.letta_timeout => "timed_out",
            outcome => outcome,
        };
        db::ledger::TurnEnd {
            started_at: self.started_at,
            ended_at: db::now_ms(),
            run_id: self.run_id.clone(),
            outcome: outcome.to_string(),
            reason,
            attach: self.attach.map(str::to_string),
            detach: self.detach.map(str::to_string),
            prompt_tokens: tokens(|u| u.prompt_tokens),
            completion_tokens: tokens(|u| u.completion_tokens),
            total_tokens: tokens(|u| u.total_tokens),
        }
    }
}

/// Events to the page. A page that went away is remembered, not an error: the turn goes on
/// to its clean end.
struct Sink {
    tx: mpsc::Sender<TurnEvent>,
    /// What the ledger will record (and the turn counter count) when the turn ends.
    notes: Arc<Mutex<Notes>>,
}

impl Sink {
    async fn send(&self, ev: TurnEvent) -> bool {
        self.note(|n| n.hear(&ev));
        let sent = self.tx.send(ev).await.is_ok();
        if !sent {
            self.note(|n| n.page_gone = true);
        }
        sent
    }

    fn note(&self, f: impl FnOnce(&mut Notes)) {
        f(&mut self.notes.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// A turn's outcome from the event that ends it: complete, stopped, cancelled, timed_out or
/// failed.
fn outcome_of(ev: &TurnEvent) -> Option<&'static str> {
    match ev {
        TurnEvent::Failed { .. } => Some("failed"),
        TurnEvent::Complete {
            error: None,
            stop_reason,
            ..
        } if stop_reason == "cancelled" => Some("cancelled"),
        TurnEvent::Complete { error: None, .. } => Some("complete"),
        TurnEvent::Complete { error: Some(e), .. } if e == "Stopped." => Some("stopped"),
        TurnEvent::Complete { error: Some(e), .. } if e.starts_with("The reply took longer") => {
            Some("timed_out")
        }
        TurnEvent::Complete { .. } => Some("failed"),
        _ => None,
    }
}

/// A background run's outcome from its final status.
fn run_outcome(status: &str) -> &'static str {
    match status {
        "completed" => "complete",
        "cancelled" => "cancelled",
        _ => "failed",
    }
}

/// Checks the request, registers the turn and starts it; the receiver yields its events.
pub async fn start_turn(
    ctx: &Ctx,
    send: OutgoingMessage,
    background: bool,
) -> Result<mpsc::Receiver<TurnEvent>, AppError> {
    let state = &ctx.state;
    // Counted first: every check below is slower than this, and the place is held until the
    // turn's task ends.
    let slot = state
        .blocks
        .turns
        .take_user_slot(ctx.user.id, state.config.chat_turns_per_user)?;
    validate_text(&send.text).map_err(|m| AppError::invalid("text", m))?;
    super::service::check_agent_id(&send.agent_id)?;
    let person = db::persons::by_id(&state.db, send.person_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::invalid("person_id", "Pick a person."))?;
    let (Some(block_id), Some(identity_id)) = (person.block_id.clone(), person.identity_id.clone())
    else {
        return Err(AppError::Conflict(format!(
            "{} has no persona block or identity in Letta; repair the person first.",
            person.username
        )));
    };
    let client = state.letta.client()?;
    let turn_id = new_turn_id();
    // In the ledger from the start: a turn whose process dies is still there (and ended as
    // interrupted by the sweeper).
    db::ledger::queued(
        &state.db,
        &db::ledger::NewTurn {
            turn_id: &turn_id,
            instance_id: &state.instance.id(),
            user_id: ctx.user.id,
            username: &ctx.user.username,
            person_id: person.id,
            person: &person.username,
            agent_id: &send.agent_id,
            background,
            queued_at: db::now_ms(),
        },
    )
    .await
    .map_err(internal)?;
    let turn = Turn {
        id: turn_id,
        agent_id: send.agent_id,
        person_id: person.id,
        username: person.username,
        block_id,
        identity_id,
        text: send.text,
        background,
        by: ctx.user.username.clone(),
    };
    if background {
        db::chat::insert_run(
            &state.db,
            &db::chat::NewRun {
                turn_id: &turn.id,
                agent_id: &turn.agent_id,
                person_id: turn.person_id,
                user_id: ctx.user.id,
                message: &turn.text,
                instance_id: &state.instance.id(),
            },
        )
        .await
        .map_err(internal)?;
    }
    ctx.audit(
        if background {
            "chat.send_background"
        } else {
            "chat.send"
        },
        Some(&turn.agent_id),
        Outcome::Ok,
        Some(&format!("as {} ({})", turn.username, turn.id)),
    )
    .await;

    let (tx, rx) = mpsc::channel(256);
    let (stop_tx, stop_rx) = watch::channel(false);
    let registered = state.blocks.turns.register(
        &turn.id,
        ActiveTurn {
            user_id: ctx.user.id,
            person_id: turn.person_id,
            agent_id: turn.agent_id.clone(),
            block_id: turn.block_id.clone(),
            stop: stop_tx,
        },
    );
    let state = state.clone();
    let notes = Arc::new(Mutex::new(Notes::default()));
    let sink = Sink {
        tx,
        notes: notes.clone(),
    };
    // Every log line of the turn carries its id (and, through the parent span, the request's).
    let span = tracing::info_span!("chat_turn", turn_id = %turn.id, agent_id = %turn.agent_id);
    let (turn_id, background) = (turn.id.clone(), turn.background);
    tokio::spawn(
        async move {
            let _slot = slot;
            let db = state.db.clone();
            run_turn(state, client, turn, sink, stop_rx, registered).await;
            let mut end = notes.lock().unwrap_or_else(|e| e.into_inner()).end();
            if background {
                match db::chat::run(&db, &turn_id).await {
                    Ok(Some(run)) => {
                        end.outcome = run_outcome(&run.status).to_string();
                        end.run_id = run.run_id.or(end.run_id);
                        if end.reason.is_none() {
                            end.reason = run.detail;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "chat run read"),
                }
            }
            if let Err(e) = db::ledger::ended(&db, &turn_id, &end).await {
                tracing::error!(error = %e, "turn ledger write");
            }
            let ended = end.outcome.clone();
            metrics::counter!("letta_admin_chat_turns_total", "outcome" => ended).increment(1);
        }
        .instrument(span),
    );
    Ok(rx)
}

/// The stop button: the user who started the turn, or an operator.
pub fn stop_turn(ctx: &Ctx, turn_id: &str) -> Result<bool, AppError> {
    ctx.state.blocks.turns.stop(turn_id, |turn| {
        turn.user_id == ctx.user.id || ctx.user.role >= Role::Operator
    })
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    // A dropped sender (impossible while the turn is registered) counts as never.
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn run_turn(
    state: AppState,
    client: LettaClient,
    turn: Turn,
    sink: Sink,
    mut stop: watch::Receiver<bool>,
    registered: Registered,
) {
    sink.send(TurnEvent::Started {
        turn_id: turn.id.clone(),
    })
    .await;

    // 1. The agent, one turn at a time.
    let position_tx = sink.tx.clone();
    let on_position = move |position: usize| {
        let _ = position_tx.try_send(TurnEvent::Waiting { position });
    };
    let waiting_since = Instant::now();
    let lease = {
        let acquire =
            state
                .blocks
                .turns
                .locks
                .acquire(&turn.agent_id, state.config.chat_wait, &on_position);
        tokio::pin!(acquire);
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.tick().await;
        loop {
            tokio::select! {
                r = &mut acquire => break Some(r),
                _ = stopped(&mut stop) => break None,
                _ = beat.tick() => {
                    // A browser that went away while waiting gives up its place (a background
                    // turn keeps it).
                    if !turn.background && !sink.send(TurnEvent::Ping).await {
                        break None;
                    }
                }
            }
        }
    };
    metrics::histogram!("letta_admin_agent_lock_wait_seconds")
        .record(waiting_since.elapsed().as_secs_f64());
    let lease = match lease {
        Some(Ok(lease)) => lease,
        other => {
            let message = match other {
                Some(Err(LockError::Unavailable)) => {
                    "The dashboard could not queue this turn for the agent. Try again in a moment."
                        .to_string()
                }
                Some(Err(LockError::TimedOut)) => format!(
                    "Another conversation kept this agent busy for {} s. Try again in a moment.",
                    state.config.chat_wait.as_secs()
                ),
                _ => "Stopped before the turn began.".to_string(),
            };
            fail(&state, &turn, &sink, message).await;
            return;
        }
    };
    sink.note(|n| n.started_at = Some(db::now_ms()));

    // 2-4, guarded: whatever happens inside (an error, a panic), the detach below runs.
    let running = Running {
        state: &state,
        client: &client,
        turn: &turn,
        sink: &sink,
        lease: lease.as_ref(),
    };
    let mut attached: Option<Attachment> = None;
    let outcome = AssertUnwindSafe(running.locked(&mut stop, &mut attached))
        .catch_unwind()
        .await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(message)) => fail(&state, &turn, &sink, message).await,
        Err(_) => {
            tracing::error!(turn = turn.id, "chat turn panicked; detaching its block");
            sink.send(TurnEvent::Complete {
                stop_reason: "error".into(),
                usage: None,
                elapsed_ms: 0,
                error: Some("Something went wrong on the server. It has been logged.".into()),
            })
            .await;
        }
    }

    // 5. Detach, then let the next turn in. A turn that lost its lease (its process was paused
    // past the expiry) does not touch the agent: the instance that swept its journal row
    // detached the block already.
    let detached = match attached {
        Some(a) if lease.still_held().await => {
            let detached = a.release(running.io()).await;
            sink.note(|n| n.detach = Some(if detached { "detached" } else { "failed" }));
            detached
        }
        Some(a) => {
            a.abandon();
            sink.note(|n| n.detach = Some("skipped"));
            false
        }
        None => true,
    };
    sink.send(TurnEvent::Released { detached }).await;
    lease.release().await;
    drop(registered);
}

/// Writes a background run's progress. A failed write is logged (the run's page then shows an
/// older state until the next write), never dropped silently.
async fn record_run(
    db: &Db,
    turn_id: &str,
    run_id: Option<&str>,
    status: &str,
    detail: Option<&str>,
    reply: Option<&str>,
    done: bool,
) {
    if let Err(e) = db::chat::update_run(db, turn_id, run_id, status, detail, reply, done).await {
        tracing::error!(error = %e, turn_id, status, "background run write");
    }
}

/// A turn that ended with `message` before Letta answered: told to the browser, and for a
/// background turn written to its run.
async fn fail(state: &AppState, turn: &Turn, sink: &Sink, message: String) {
    if turn.background {
        record_run(
            &state.db,
            &turn.id,
            None,
            "error",
            Some(&message),
            None,
            true,
        )
        .await;
    }
    sink.send(TurnEvent::Failed { message }).await;
}

/// A turn holding its agent: what steps 2-4 work with.
#[derive(Clone, Copy)]
struct Running<'a> {
    state: &'a AppState,
    client: &'a LettaClient,
    turn: &'a Turn,
    sink: &'a Sink,
    lease: &'a dyn AgentLease,
}

impl Running<'_> {
    /// What the block layer needs to attach and detach.
    fn io(&self) -> Io<'_> {
        io(self.state, self.client)
    }

    /// Steps 2-4. `Err`: the message the turn failed with (the caller reports it, then
    /// releases whatever `attached` holds).
    async fn locked(
        &self,
        stop: &mut watch::Receiver<bool>,
        attached: &mut Option<Attachment>,
    ) -> Result<(), String> {
        let Running {
            state,
            turn,
            sink,
            lease,
            ..
        } = *self;
        let lost = "This conversation lost its hold on the agent (the dashboard was paused too long); nothing more was sent.";
        if !lease.still_held().await {
            return Err(lost.to_string());
        }
        // 2. An earlier turn's block still on this agent (its detach failed, or its dashboard
        // process died): off first, or no turn. Holding the agent, no other turn can be using
        // it.
        match attach::clear_leftovers(self.io(), &turn.agent_id).await {
            Ok(true) => {}
            Ok(false) => return Err("A persona block from an earlier conversation is still attached to this agent and could not be detached yet. Try again in a minute.".to_string()),
            Err(e) => {
                tracing::error!(error = %e, "chat journal read");
                return Err(AppError::Internal.to_string());
            }
        }

        // 3. Attach, unless the block was attached on purpose before the turn.
        let pre_attached = attach::attached_before(self.io(), &turn.agent_id, &turn.block_id)
            .await
            .map_err(|e| {
                if e.is_not_found() {
                    "That agent no longer exists on the Letta server.".to_string()
                } else {
                    message_of(e)
                }
            })?;
        if !pre_attached {
            let target = Target {
                turn_id: &turn.id,
                agent_id: &turn.agent_id,
                block_id: &turn.block_id,
                person_id: turn.person_id,
            };
            let (attachment, answer) =
                Attachment::take(self.io(), target, lease)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "chat journal write");
                        AppError::Internal.to_string()
                    })?;
            *attached = Some(attachment);
            let agent = match answer {
                Ok(agent) => agent,
                Err(AttachError::LeaseLost) => return Err(lost.to_string()),
                Err(AttachError::Letta(e)) => {
                    sink.note(|n| n.attach = Some("failed"));
                    return Err(message_of(e));
                }
            };
            sink.note(|n| n.attach = Some("attached"));
            // The dashboard is not Letta's only client: another person's persona block on the
            // agent (attached through the API, not by a turn: step 2 cleared every journaled
            // one) means this message would be read with two persons' memories. Seen in the
            // attach answer itself, so the check costs no request.
            let foreign = agent.blocks.iter().find(|b| {
                b.id != turn.block_id
                    && b.label
                        .as_deref()
                        .is_some_and(|l| l.starts_with("Persona_"))
            });
            if let Some(other) = foreign {
                let label = other.label.clone().unwrap_or_default();
                crate::auth::guard::audit(
                    state,
                    Some(&turn.by),
                    "chat.foreign_block",
                    Some(&turn.agent_id),
                    Outcome::Denied,
                    Some(&format!("{label} ({}) attached outside a turn", other.id)),
                )
                .await;
                return Err(format!(
                    "Another persona block, {label}, is attached to this agent outside the dashboard's chat, so nothing was sent. An operator can detach it on the agent's page."
                ));
            }
        }
        sink.send(TurnEvent::Sending { pre_attached }).await;
        if !lease.still_held().await {
            return Err(lost.to_string());
        }

        let message = [MessageCreate::user(
            turn.text.clone(),
            Some(turn.identity_id.clone()),
        )];
        if turn.background {
            self.background(stop, &message).await
        } else {
            self.streamed(stop, &message).await;
            Ok(())
        }
    }

    /// Step 4, streamed to the page.
    async fn streamed(&self, stop: &mut watch::Receiver<bool>, message: &[MessageCreate]) {
        let Running {
            state,
            client,
            turn,
            sink,
            ..
        } = *self;
        let started = Instant::now();
        let complete =
            |stop_reason: &str, usage: Option<Usage>, error: Option<String>| TurnEvent::Complete {
                stop_reason: stop_reason.to_owned(),
                usage,
                elapsed_ms: started.elapsed().as_millis() as u64,
                error,
            };
        let mut events = match client.messages().stream(&turn.agent_id, message).await {
            Ok(events) => events,
            Err(e) => {
                if matches!(e, LettaError::Timeout) {
                    sink.note(|n| n.letta_timeout = true);
                }
                sink.send(complete("error", None, Some(message_of(e))))
                    .await;
                return;
            }
        };
        let mut stop_reason = None;
        let mut usage: Option<Usage> = None;
        let mut error = None;
        // Set once the run is being cancelled: from then on the stream is only drained.
        let mut cancel_deadline: Option<tokio::time::Instant> = None;
        let turn_deadline = tokio::time::Instant::now() + state.config.chat_turn_max;
        let mut page_gone = false;
        loop {
            let deadline = cancel_deadline.unwrap_or(turn_deadline);
            let next = tokio::select! {
                ev = events.next() => ev,
                _ = stopped(stop), if cancel_deadline.is_none() => {
                    error = Some("Stopped.".to_string());
                    cancel_deadline = Some(self.cancel().await);
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if cancel_deadline.is_some() {
                        // Letta did not end the stream after the cancel: ask once more, let go.
                        tracing::warn!(turn = turn.id, "stream still open after cancel");
                        self.cancel_if_held().await;
                        break;
                    }
                    error = Some(format!(
                        "The reply took longer than {} s and was stopped.",
                        state.config.chat_turn_max.as_secs()
                    ));
                    cancel_deadline = Some(self.cancel().await);
                    continue;
                }
            };
            let forward = match next {
                None => {
                    if stop_reason.is_none() && error.is_none() {
                        error = Some("The Letta server ended the reply early.".into());
                    }
                    break;
                }
                Some(Ok(StreamEvent::Done)) => break,
                Some(Ok(StreamEvent::Ping)) => Some(TurnEvent::Ping),
                Some(Ok(StreamEvent::Message(m))) => part_of(m),
                Some(Ok(StreamEvent::StopReason(s))) => {
                    stop_reason = Some(s.stop_reason.as_str().to_string());
                    None
                }
                Some(Ok(StreamEvent::Usage(u))) => {
                    usage = Some(Usage {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                        total_tokens: u.total_tokens,
                        steps: u.step_count,
                    });
                    None
                }
                Some(Ok(StreamEvent::Error(e))) => {
                    // The type is a short code of the server's; its detail (which can quote the
                    // prompt, persona block included) only at debug, and never to the page.
                    let kind = error_kind(&e.error_type);
                    tracing::warn!(turn = turn.id, error_type = kind, "Letta stream error");
                    tracing::debug!(
                        turn = turn.id,
                        detail = e.detail.as_deref().unwrap_or(""),
                        "Letta stream error: the server's detail"
                    );
                    error = Some(format!("The agent failed to answer ({kind})."));
                    None
                }
                Some(Err(LettaError::Decode { .. })) => {
                    tracing::warn!(turn = turn.id, "undecodable stream frame skipped");
                    None
                }
                Some(Err(e)) => {
                    let message = match e {
                        LettaError::Timeout => {
                            sink.note(|n| n.letta_timeout = true);
                            "The Letta server stopped sending the reply.".into()
                        }
                        other => message_of(other),
                    };
                    error.get_or_insert(message);
                    // The connection is gone; make sure the run is too.
                    self.cancel_if_held().await;
                    break;
                }
            };
            if let Some(ev) = forward {
                if !page_gone && !sink.send(ev).await {
                    // The page went away: nobody reads the reply, so stop the run (it would
                    // otherwise go on with the block detached under it).
                    page_gone = true;
                    if cancel_deadline.is_none() {
                        tracing::info!(turn = turn.id, "page left mid-turn; cancelling the run");
                        cancel_deadline = Some(self.cancel().await);
                    }
                }
            }
        }
        let reason = stop_reason.unwrap_or_else(|| "error".into());
        sink.send(complete(&reason, usage, error)).await;
    }

    /// Step 4 as a background run: sent, then polled until it ends.
    async fn background(
        &self,
        stop: &mut watch::Receiver<bool>,
        message: &[MessageCreate],
    ) -> Result<(), String> {
        let Running {
            state,
            client,
            turn,
            sink,
            ..
        } = *self;
        let run = client
            .messages()
            .send_async(&turn.agent_id, message)
            .await
            .map_err(message_of)?;
        if let Err(e) = db::chat::set_run(&state.db, &turn.id, &run.id).await {
            tracing::error!(error = %e, turn_id = turn.id, "background run id write");
        }
        record_run(
            &state.db,
            &turn.id,
            Some(&run.id),
            "created",
            None,
            None,
            false,
        )
        .await;
        sink.send(TurnEvent::Background {
            run_id: run.id.clone(),
        })
        .await;

        let deadline = tokio::time::Instant::now() + state.config.chat_turn_max;
        let mut delay = Duration::from_millis(250);
        let mut last_status = String::new();
        let mut cancelled_by_us = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopped(stop), if !cancelled_by_us => {
                    cancelled_by_us = true;
                    self.cancel_if_held().await;
                }
            }
            delay = (delay * 2).min(Duration::from_secs(2));
            if tokio::time::Instant::now() > deadline && !cancelled_by_us {
                cancelled_by_us = true;
                self.cancel_if_held().await;
            }
            let current = match client.runs().get(&run.id).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, run = run.id, "run poll failed");
                    if tokio::time::Instant::now() > deadline + CANCEL_DRAIN {
                        record_run(
                            &state.db,
                            &turn.id,
                            None,
                            "error",
                            Some("The Letta server stopped answering about this run."),
                            None,
                            true,
                        )
                        .await;
                        return Ok(());
                    }
                    continue;
                }
            };
            let status = current.status.as_str().to_string();
            if status != last_status {
                record_run(&state.db, &turn.id, None, &status, None, None, false).await;
                last_status = status.clone();
            }
            if current.status.is_terminal() {
                let reply = match client
                    .runs()
                    .messages(&run.id, &MessageFilter::default())
                    .await
                {
                    Ok(messages) => messages
                        .into_iter()
                        .filter_map(|m| match m {
                            LettaMessage::AssistantMessage(m) => Some(m.content.text()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                    Err(e) => {
                        tracing::warn!(error = %e, run = run.id, "run messages");
                        String::new()
                    }
                };
                let detail = (current.status == RunStatus::Failed)
                    .then_some("The agent failed to answer; see the Letta server's log.");
                record_run(
                    &state.db,
                    &turn.id,
                    None,
                    &status,
                    detail,
                    Some(&reply),
                    true,
                )
                .await;
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline + CANCEL_DRAIN {
                record_run(
                    &state.db,
                    &turn.id,
                    None,
                    "error",
                    Some("The run did not end after it was cancelled."),
                    None,
                    true,
                )
                .await;
                return Ok(());
            }
        }
    }

    /// Cancels the agent's run, if this turn still holds the agent: a cancel from a turn that
    /// lost its lease would stop the next holder's run.
    async fn cancel_if_held(&self) {
        if self.lease.still_held().await {
            let agent_id = &self.turn.agent_id;
            if let Err(e) = self.client.messages().cancel(agent_id).await {
                tracing::warn!(error = %e, agent_id, "cancel failed");
            }
        }
    }

    /// Cancels the agent's run (if the turn still holds it); the stream is then drained until
    /// the deadline returned.
    async fn cancel(&self) -> tokio::time::Instant {
        self.cancel_if_held().await;
        tokio::time::Instant::now() + CANCEL_DRAIN
    }
}

/// Maps one streamed message to a transcript part.
pub(super) fn part_of(message: LettaMessage) -> Option<TurnEvent> {
    let (id, kind, text, name) = match message {
        LettaMessage::AssistantMessage(m) => (m.id, PartKind::Assistant, m.content.text(), None),
        LettaMessage::ReasoningMessage(m) => (m.id, PartKind::Reasoning, m.reasoning, None),
        LettaMessage::HiddenReasoningMessage(m) => (
            m.id,
            PartKind::Reasoning,
            m.hidden_reasoning.unwrap_or_default(),
            None,
        ),
        LettaMessage::ToolCallMessage(m) => {
            let call = m.tool_call.unwrap_or_default();
            (
                m.id,
                PartKind::ToolCall,
                call.arguments.unwrap_or_default(),
                call.name,
            )
        }
        LettaMessage::ToolReturnMessage(m) => (m.id, PartKind::ToolReturn, m.tool_return, None),
        // The user's own message is not echoed; system messages are not part of a reply.
        LettaMessage::UserMessage(_) | LettaMessage::SystemMessage(_) => return None,
        LettaMessage::Unknown(m) => (
            m.id.unwrap_or_default(),
            PartKind::Other,
            String::new(),
            Some(m.original_type),
        ),
    };
    Some(TurnEvent::Part {
        id,
        kind,
        text,
        name,
    })
}

/// Ends the turns of dead instances and detaches every journaled block the sweeper may act
/// on (see [`attach::orphaned`]). Returns how many of those rows are left (detach failed).
pub async fn sweep(state: &AppState) -> usize {
    if let Err(e) = db::instances::prune_dead(
        &state.db,
        state.instance.now_ms(),
        state.instance.expiry_ms(),
    )
    .await
    {
        tracing::error!(error = %e, "sweeper: pruning dead instances");
    }
    // Turns of instances that died mid-turn end in the ledger as interrupted.
    if let Err(e) = db::ledger::end_interrupted(
        &state.db,
        state.instance.now_ms(),
        state.instance.expiry_ms(),
    )
    .await
    {
        tracing::error!(error = %e, "sweeper: ending interrupted turns");
    }
    let Ok(client) = state.letta.client() else {
        return 0;
    };
    attach::sweep(io(state, &client)).await
}

/// The block layer's view of the state, for attach and detach.
pub(super) fn io<'a>(state: &'a AppState, client: &'a LettaClient) -> Io<'a> {
    Io {
        db: &state.db,
        instance: &state.instance,
        turns: &state.blocks.turns,
        client,
    }
}

/// Background turns whose instance ended before they did (a crash, a restart): marked so the
/// page stops showing them as running. A live instance's runs are its own.
pub async fn mark_interrupted_runs(state: &AppState) {
    let Ok(runs) = db::chat::unfinished_runs(&state.db).await else {
        return;
    };
    for run in runs {
        let (instance, turns) = (&state.instance, &state.blocks.turns);
        if !attach::orphaned(instance, turns, run.instance_id.as_deref(), &run.turn_id).await {
            continue;
        }
        record_run(
            &state.db,
            &run.turn_id,
            None,
            "interrupted",
            Some("The dashboard restarted during this run; its persona block was detached. The agent's history shows whether Letta finished it."),
            None,
            true,
        )
        .await;
    }
}

/// Drops ledger entries older than `ledger_days`.
pub async fn prune_ledger(state: &AppState) {
    let keep_ms = i64::from(state.config.ledger_days) * 86_400_000;
    match db::ledger::prune(&state.db, db::now_ms() - keep_ms).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "turn ledger pruned"),
        Err(e) => tracing::error!(error = %e, "turn ledger prune"),
    }
}

/// The sweeper: once at start, then every `chat_sweep_every`.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        mark_interrupted_runs(&state).await;
        let mut every = tokio::time::interval(state.config.chat_sweep_every);
        let mut pruned: Option<Instant> = None;
        loop {
            every.tick().await;
            sweep(&state).await;
            if pruned.is_none_or(|at| at.elapsed() >= LEDGER_PRUNE_EVERY) {
                prune_ledger(&state).await;
                pruned = Some(Instant::now());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_messages_become_transcript_parts() {
        let msg = |v: serde_json::Value| LettaMessage::from_value(v).unwrap();
        let reasoning = msg(
            serde_json::json!({"message_type": "reasoning_message", "id": "m1", "reasoning": "think"}),
        );
        assert_eq!(
            part_of(reasoning),
            Some(TurnEvent::Part {
                id: "m1".into(),
                kind: PartKind::Reasoning,
                text: "think".into(),
                name: None
            })
        );
        let call = msg(
            serde_json::json!({"message_type": "tool_call_message", "id": "m2",
            "tool_call": {"name": "archival_memory_search", "arguments": "{\"query\":", "tool_call_id": "c1"}}),
        );
        assert_eq!(
            part_of(call),
            Some(TurnEvent::Part {
                id: "m2".into(),
                kind: PartKind::ToolCall,
                text: "{\"query\":".into(),
                name: Some("archival_memory_search".into())
            })
        );
        let ret = msg(
            serde_json::json!({"message_type": "tool_return_message", "id": "m3", "tool_return": "[]", "status": "success"}),
        );
        assert!(matches!(
            part_of(ret),
            Some(TurnEvent::Part {
                kind: PartKind::ToolReturn,
                ..
            })
        ));
        let user =
            msg(serde_json::json!({"message_type": "user_message", "id": "m4", "content": "hi"}));
        assert_eq!(
            part_of(user),
            None,
            "the user's own message is not part of the reply"
        );
        let other =
            msg(serde_json::json!({"message_type": "approval_request_message", "id": "m5"}));
        assert!(
            matches!(part_of(other), Some(TurnEvent::Part { kind: PartKind::Other, name: Some(n), .. }) if n == "approval_request_message")
        );
    }
}
