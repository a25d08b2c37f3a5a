//! Chat turns over HTTP against the app and the in-process fake Letta: the attach → send →
//! detach guarantee under faults, stops, vanished browsers and concurrency.
use crate::common;

use std::time::Duration;

use common::{
    fake_letta::{FakeLetta, Fault},
    person, spawn_app, spawn_app_with, TestApp,
};
use letta_admin::{
    auth::Role,
    features::chat::model::{
        ActivityPage, BackgroundRun, HistoryPage, LedgerEntry, LineBuffer, PartKind, Sender,
        TurnEvent,
    },
};

async fn connect(app: &TestApp, fake: &FakeLetta, timeout: &str) -> reqwest::Client {
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, fake, timeout).await;
    op
}

/// App + fake + an operator and a staff client.
async fn setup() -> (TestApp, FakeLetta, reqwest::Client, reqwest::Client) {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = connect(&app, &fake, "5").await;
    let staff = app.signed_in("sam", Role::Staff).await;
    (app, fake, op, staff)
}

/// Twenty signed-in staff members.
async fn twenty_staff(app: &TestApp) -> Vec<reqwest::Client> {
    let mut staff = Vec::new();
    for i in 0..20 {
        staff.push(app.signed_in(&format!("staff{i:02}"), Role::Staff).await);
    }
    staff
}

/// Starts a turn; the response streams NDJSON events.
async fn start_turn(
    app: &TestApp,
    c: &reqwest::Client,
    agent_id: &str,
    person_id: i64,
    text: &str,
    background: bool,
) -> reqwest::Response {
    let person_id = person_id.to_string();
    let mut form = vec![
        ("send[agent_id]", agent_id),
        ("send[person_id]", person_id.as_str()),
        ("send[text]", text),
    ];
    if background {
        form.push(("background", "true"));
    }
    c.post(app.url("/api/staff/chat/send"))
        .form(&form)
        .send()
        .await
        .expect("request")
}

async fn events_of(res: reqwest::Response) -> Vec<TurnEvent> {
    assert_eq!(res.status(), 200);
    let body = res.text().await.expect("body");
    let mut buf = LineBuffer::default();
    buf.feed(&body).into_iter().map(|e| e.unwrap()).collect()
}

/// A whole turn's events.
async fn turn(
    app: &TestApp,
    c: &reqwest::Client,
    agent_id: &str,
    person_id: i64,
    text: &str,
) -> Vec<TurnEvent> {
    events_of(start_turn(app, c, agent_id, person_id, text, false).await).await
}

/// Reads events until one matches, returning those read (the response keeps streaming).
async fn read_until(
    res: &mut reqwest::Response,
    buf: &mut LineBuffer,
    until: impl Fn(&TurnEvent) -> bool,
) -> Vec<TurnEvent> {
    let mut seen = Vec::new();
    while let Some(chunk) = res.chunk().await.expect("chunk") {
        for ev in buf.feed(std::str::from_utf8(&chunk).unwrap()) {
            let ev = ev.unwrap();
            let stop = until(&ev);
            seen.push(ev);
            if stop {
                return seen;
            }
        }
    }
    panic!("stream ended before the awaited event: {seen:?}");
}

fn reply_text(events: &[TurnEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Part {
                kind: PartKind::Assistant,
                text,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn complete(events: &[TurnEvent]) -> (String, Option<String>) {
    events
        .iter()
        .find_map(|e| match e {
            TurnEvent::Complete {
                stop_reason, error, ..
            } => Some((stop_reason.clone(), error.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Complete in {events:?}"))
}

fn released(events: &[TurnEvent]) -> bool {
    match events.last() {
        Some(TurnEvent::Released { detached }) => *detached,
        other => panic!("the last event should be Released, got {other:?} in {events:?}"),
    }
}

async fn journal_len(app: &TestApp) -> i64 {
    letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM chat_attachments"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// The Chat activity screen's data, as an operator sees it (`filter` as form fields).
async fn activity(app: &TestApp, op: &reqwest::Client, filter: &[(&str, &str)]) -> ActivityPage {
    let a = app.call(op, "operator/chat/activity", filter).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

/// The ledger, newest first, once no turn in it is running any more (a turn's entry is
/// completed right after its last event).
async fn ledger(app: &TestApp, op: &reqwest::Client) -> Vec<LedgerEntry> {
    let mut entries = vec![];
    eventually("every ledger entry has ended", async || {
        entries = activity(app, op, &[]).await.entries;
        entries.iter().all(|e| e.outcome.is_some())
    })
    .await;
    entries
}

/// The newest turn's ledger entry, with its outcome, reason, attach and detach.
async fn last_turn(app: &TestApp, op: &reqwest::Client) -> LedgerEntry {
    ledger(app, op).await.remove(0)
}

fn why(e: &LedgerEntry) -> &str {
    e.reason.as_deref().unwrap_or("")
}

/// Nothing attached to the agent and nothing in the journal.
async fn assert_clean(app: &TestApp, fake: &FakeLetta, agent_id: &str) {
    assert!(
        fake.attached_blocks(agent_id).is_empty(),
        "still attached: {:?}",
        fake.attached_blocks(agent_id)
    );
    assert_eq!(journal_len(app).await, 0, "journal not empty");
}

#[tokio::test]
async fn a_turn_attaches_sends_as_the_person_streams_and_detaches() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let events = turn(&app, &staff, &agent, ada.id, "hello there").await;

    assert!(matches!(events[0], TurnEvent::Started { .. }), "{events:?}");
    assert!(events.contains(&TurnEvent::Sending {
        pre_attached: false
    }));
    assert_eq!(reply_text(&events), "echo: hello there");
    let tokens = events
        .iter()
        .filter(|e| matches!(e, TurnEvent::Part { .. }))
        .count();
    assert!(tokens > 1, "tokens arrive one by one: {events:?}");
    match events
        .iter()
        .find(|e| matches!(e, TurnEvent::Complete { .. }))
    {
        Some(TurnEvent::Complete {
            stop_reason,
            usage: Some(usage),
            error: None,
            ..
        }) => {
            assert_eq!(stop_reason, "end_turn");
            assert_eq!(usage.total_tokens, 103);
        }
        other => panic!("{other:?}"),
    }
    assert!(released(&events));

    // The message reached the agent as the person, with exactly their persona attached.
    let sends = fake.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(
        sends[0].sender_id.as_deref(),
        Some(ada.identity_id.as_str())
    );
    assert_eq!(sends[0].personas, vec!["Persona_ada".to_string()]);
    assert_clean(&app, &fake, &agent).await;
    let actions = app.audit_actions().await;
    assert!(actions
        .iter()
        .any(|(actor, action, _)| action == "chat.send" && actor.as_deref() == Some("sam")));

    // The ledger has the turn: who, for whom, where, and how it went.
    let entries = ledger(&app, &op).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!((e.user.as_str(), e.person.as_str()), ("sam", "ada"));
    assert_eq!(e.agent_id, agent);
    assert_eq!(e.outcome.as_deref(), Some("complete"));
    assert_eq!(e.reason, None);
    assert_eq!(e.attach.as_deref(), Some("attached"));
    assert_eq!(e.detach.as_deref(), Some("detached"));
    assert_eq!(e.total_tokens, Some(103));
    assert!(e.wait_ms.is_some() && e.run_ms.is_some(), "{e:?}");
    assert!(!e.background);
}

#[tokio::test]
async fn a_block_attached_before_the_turn_stays_attached() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let client = app.state.letta.client().unwrap();
    client
        .agents()
        .attach_block(&agent, &ada.block_id)
        .await
        .unwrap();
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(events.contains(&TurnEvent::Sending { pre_attached: true }));
    assert!(released(&events));
    assert_eq!(fake.attached_blocks(&agent), vec![ada.block_id.clone()]);
    assert_eq!(journal_len(&app).await, 0);
    // No detach was sent at all.
    assert_eq!(fake.request_count("PATCH", "/v1/agents/*/detach/*"), 0);
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("complete"));
    assert_eq!(
        (e.attach.as_deref(), e.detach.as_deref()),
        (Some("already"), None)
    );
}

#[tokio::test]
async fn a_server_error_on_send_still_detaches() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::server_error(),
    );
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    let (reason, error) = complete(&events);
    assert_eq!(reason, "error");
    let error = error.unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(!format!("{events:?}").contains(common::fake_letta::SECRET_MARKER));
    assert!(released(&events));
    assert_clean(&app, &fake, &agent).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("failed"));
    assert!(why(&e).contains("HTTP 500"), "{e:?}");
    assert!(!why(&e).contains(common::fake_letta::SECRET_MARKER));
    assert_eq!(
        (e.attach.as_deref(), e.detach.as_deref()),
        (Some("attached"), Some("detached"))
    );
}

#[tokio::test]
async fn a_stream_cut_half_way_still_detaches() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    // A few tokens, then the server closes the stream: no stop_reason, no [DONE].
    let cut = "data: {\"message_type\":\"assistant_message\",\"id\":\"message-1\",\"content\":\"Hel\"}\n\n\
               data: {\"message_type\":\"assistant_message\",\"id\":\"message-1\",\"content\":\"lo\"}\n\n";
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::Sse(cut.into()),
    );
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert_eq!(reply_text(&events), "Hello");
    let (_, error) = complete(&events);
    assert!(error.unwrap().contains("ended the reply early"));
    assert!(released(&events));
    assert_clean(&app, &fake, &agent).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("failed"));
    assert!(why(&e).contains("ended the reply early"), "{e:?}");
    assert_eq!(e.detach.as_deref(), Some("detached"));

    // A connection reset in the middle of the body: the same.
    fake.clear_faults();
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::ResetMidBody,
    );
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(complete(&events).1.is_some());
    assert!(released(&events));
    assert_clean(&app, &fake, &agent).await;
    let entries = ledger(&app, &op).await;
    assert_eq!(entries.len(), 2, "one entry per turn: {entries:?}");
    assert_eq!(entries[0].outcome.as_deref(), Some("failed"));
}

#[tokio::test]
async fn a_timeout_still_detaches() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = connect(&app, &fake, "1").await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::Sleep(Duration::from_secs(3)),
    );
    let events = turn(&app, &op, &agent, ada.id, "hi").await;
    let (_, error) = complete(&events);
    assert!(
        error.unwrap().contains("did not answer in time"),
        "{events:?}"
    );
    assert!(released(&events));
    assert_clean(&app, &fake, &agent).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("timed_out"), "{e:?}");
    assert!(why(&e).contains("did not answer in time"));
    assert_eq!(e.detach.as_deref(), Some("detached"));
}

#[tokio::test]
async fn a_failed_attach_leaves_nothing_attached() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.fault(
        "PATCH",
        &format!("/v1/agents/{agent}/core-memory/blocks/attach/*"),
        Fault::server_error(),
    );
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Failed { message } if message.contains("HTTP 500"))),
        "{events:?}"
    );
    assert!(released(&events));
    assert!(fake.sends().is_empty(), "nothing sent without the persona");
    assert_clean(&app, &fake, &agent).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("failed"));
    assert!(why(&e).contains("HTTP 500"), "{e:?}");
    assert_eq!(e.attach.as_deref(), Some("failed"));
    // A failed attach may still have happened on the server: the detach ran anyway.
    assert_eq!(e.detach.as_deref(), Some("detached"));
}

#[tokio::test]
async fn a_failed_detach_is_retried_by_the_next_turn_and_the_sweeper() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    let detach = format!("/v1/agents/{agent}/core-memory/blocks/detach/*");
    fake.fault("PATCH", &detach, Fault::server_error());
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(!released(&events), "the detach failed and says so");
    assert_eq!(journal_len(&app).await, 1, "the journal keeps the block");
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("complete"));
    assert_eq!(e.detach.as_deref(), Some("failed"));

    // While the detach keeps failing, no other person's turn may start on the agent.
    let events = turn(&app, &staff, &agent, bob.id, "hi").await;
    assert!(
        events.iter().any(
            |e| matches!(e, TurnEvent::Failed { message } if message.contains("still attached"))
        ),
        "{events:?}"
    );
    assert_eq!(fake.sends().len(), 1, "bob's message was not sent");
    assert_eq!(fake.max_personas_attached(), 1);
    let e = last_turn(&app, &op).await;
    assert_eq!(
        (e.person.as_str(), e.outcome.as_deref()),
        ("bob", Some("failed"))
    );
    assert!(why(&e).contains("still attached"), "{e:?}");
    assert_eq!((e.attach.as_deref(), e.detach.as_deref()), (None, None));

    // Letta is fine again: the sweeper detaches the leftover.
    fake.clear_faults();
    let left = letta_admin::features::chat::turn::sweep(&app.state).await;
    assert_eq!(left, 0);
    assert_clean(&app, &fake, &agent).await;

    // And the next turn by bob works.
    let events = turn(&app, &staff, &agent, bob.id, "hi again").await;
    assert!(released(&events));
    assert_eq!(fake.sends().last().unwrap().personas, vec!["Persona_bob"]);
    assert_clean(&app, &fake, &agent).await;
}

#[tokio::test]
async fn a_browser_that_leaves_mid_stream_cancels_the_run_and_the_block_is_detached() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "many words here ".repeat(20);
    let mut res = start_turn(&app, &staff, &agent, ada.id, &long, false).await;
    let mut buf = LineBuffer::default();
    read_until(&mut res, &mut buf, |e| matches!(e, TurnEvent::Part { .. })).await;
    assert_eq!(fake.attached_blocks(&agent), vec![ada.block_id.clone()]);
    drop(res); // the tab is closed

    eventually("the block is detached after the browser left", async || {
        fake.attached_blocks(&agent).is_empty() && journal_len(&app).await == 0
    })
    .await;
    assert!(fake.request_count("POST", &format!("/v1/agents/{agent}/messages/cancel")) >= 1);
    assert_eq!(
        fake.live_streams(&agent),
        0,
        "the run ended before the agent was freed"
    );
    // The turn leaves the registry right after its detach and unjournal.
    eventually("the turn has ended", async || {
        app.state.blocks.turns.active_turns() == 0
    })
    .await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("cancelled"), "{e:?}");
    assert!(why(&e).contains("page was closed"), "{e:?}");
    assert_eq!(e.detach.as_deref(), Some("detached"));
}

#[tokio::test]
async fn stop_cancels_the_run_and_detaches() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "many words here ".repeat(20);
    let mut res = start_turn(&app, &staff, &agent, ada.id, &long, false).await;
    let mut buf = LineBuffer::default();
    let seen = read_until(&mut res, &mut buf, |e| matches!(e, TurnEvent::Part { .. })).await;
    let turn_id = seen
        .iter()
        .find_map(|e| match e {
            TurnEvent::Started { turn_id } => Some(turn_id.clone()),
            _ => None,
        })
        .unwrap();

    // Another staff member may not stop it; the one who started it may.
    let other = app.signed_in("tess", Role::Staff).await;
    let denied = app
        .call(&other, "staff/chat/stop", &[("turn_id", &turn_id)])
        .await;
    assert_eq!(denied.status, 403);
    let stopped = app
        .call(&staff, "staff/chat/stop", &[("turn_id", &turn_id)])
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(actor, action, _)| action == "chat.stop" && actor.as_deref() == Some("sam")));

    let mut rest = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        rest.extend(
            buf.feed(std::str::from_utf8(&chunk).unwrap())
                .into_iter()
                .map(Result::unwrap),
        );
    }
    let (reason, error) = complete(&rest);
    assert_eq!(reason, "cancelled");
    assert_eq!(error.as_deref(), Some("Stopped."));
    assert!(released(&rest));
    assert_clean(&app, &fake, &agent).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.outcome.as_deref(), Some("stopped"));
    assert_eq!(e.detach.as_deref(), Some("detached"));
}

#[tokio::test]
async fn twenty_persons_on_one_agent_take_turns_and_each_gets_their_own_reply() {
    let (app, fake, op, _staff) = setup().await;
    let agent = fake.add_agent("busy");
    let mut persons = Vec::new();
    for i in 0..20 {
        persons.push(person(&app, &op, &format!("p{i:02}")).await);
    }
    // Twenty staff members, one conversation each (one user may hold only a few turns).
    let staff = twenty_staff(&app).await;
    fake.set_stream_delay(Duration::from_millis(2));
    let mut tasks = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        let (base, staff, agent, pid) = (app.base.clone(), staff[i].clone(), agent.clone(), p.id);
        tasks.push(tokio::spawn(async move {
            let text = format!("message from p{i:02}");
            let res = staff
                .post(format!("{base}/api/staff/chat/send"))
                .form(&[
                    ("send[agent_id]", agent.as_str()),
                    ("send[person_id]", &pid.to_string()),
                    ("send[text]", &text),
                ])
                .send()
                .await
                .unwrap();
            (text, events_of(res).await)
        }));
    }
    let mut waited = 0;
    for t in tasks {
        let (text, events) = t.await.unwrap();
        assert_eq!(reply_text(&events), format!("echo: {text}"), "{events:?}");
        assert!(released(&events));
        if events
            .iter()
            .any(|e| matches!(e, TurnEvent::Waiting { .. }))
        {
            waited += 1;
        }
    }
    assert!(waited > 0, "some turns queued behind others");
    assert_eq!(
        fake.max_personas_attached(),
        1,
        "never two persona blocks on the agent"
    );
    let sends = fake.sends();
    assert_eq!(sends.len(), 20, "none lost");
    for s in &sends {
        // Each message saw exactly its sender's persona.
        let p = persons
            .iter()
            .position(|p| Some(&p.identity_id) == s.sender_id.as_ref())
            .expect("sent as a known person");
        assert_eq!(s.personas, vec![format!("Persona_p{p:02}")]);
        assert_eq!(s.text, format!("message from p{p:02}"));
    }
    assert_clean(&app, &fake, &agent).await;
}

#[tokio::test]
async fn turns_on_different_agents_run_in_parallel() {
    let (app, fake, op, _staff) = setup().await;
    let mut pairs = Vec::new();
    for i in 0..20 {
        let p = person(&app, &op, &format!("p{i:02}")).await;
        pairs.push((fake.add_agent(&format!("agent {i}")), p.id));
    }
    let staff = twenty_staff(&app).await;
    fake.set_stream_delay(Duration::from_millis(20));
    let mut tasks = Vec::new();
    for (i, (agent, pid)) in pairs.clone().into_iter().enumerate() {
        let (base, staff) = (app.base.clone(), staff[i].clone());
        tasks.push(tokio::spawn(async move {
            let res = staff
                .post(format!("{base}/api/staff/chat/send"))
                .form(&[
                    ("send[agent_id]", agent.as_str()),
                    ("send[person_id]", &pid.to_string()),
                    ("send[text]", "hello"),
                ])
                .send()
                .await
                .unwrap();
            events_of(res).await
        }));
    }
    for t in tasks {
        let events = t.await.unwrap();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, TurnEvent::Waiting { .. })),
            "no turn waits for another agent: {events:?}"
        );
        assert!(released(&events));
    }
    // The streams overlapped (observed by the fake, not by a clock).
    assert!(
        fake.max_concurrent_streams() >= 10,
        "only {} streams at once",
        fake.max_concurrent_streams()
    );
    for (agent, _) in &pairs {
        assert_clean(&app, &fake, agent).await;
    }
}

#[tokio::test]
async fn a_turn_waits_in_line_and_gives_up_after_the_bounded_wait() {
    let fake = FakeLetta::start().await;
    let app = spawn_app_with(|c| c.chat_wait = Duration::from_secs(1)).await;
    let op = connect(&app, &fake, "5").await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "word ".repeat(30); // ~3 s of streaming
    let mut first = start_turn(&app, &op, &agent, ada.id, &long, false).await;
    let mut buf = LineBuffer::default();
    read_until(&mut first, &mut buf, |e| {
        matches!(e, TurnEvent::Part { .. })
    })
    .await;

    let events = turn(&app, &op, &agent, bob.id, "me too").await;
    assert!(
        events.contains(&TurnEvent::Waiting { position: 1 }),
        "{events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, TurnEvent::Failed { message } if message.contains("busy for 1 s"))
        ),
        "{events:?}"
    );
    // Bob's block never went near the agent.
    assert!(fake
        .sends()
        .iter()
        .all(|s| s.personas == vec!["Persona_ada"]));
    drop(first);
    eventually("the first turn ends", async || {
        journal_len(&app).await == 0 && fake.attached_blocks(&agent).is_empty()
    })
    .await;
}

#[tokio::test]
async fn one_user_may_hold_only_a_few_turns_at_once() {
    let fake = FakeLetta::start().await;
    let app = spawn_app_with(|c| c.chat_turns_per_user = 2).await;
    let op = connect(&app, &fake, "5").await;
    let sam = app.signed_in("sam", Role::Staff).await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "word ".repeat(30); // ~3 s of streaming
                                   // Sam's first turn streams, the second waits behind it.
    let mut first = start_turn(&app, &sam, &agent, ada.id, &long, false).await;
    let mut buf = LineBuffer::default();
    read_until(&mut first, &mut buf, |e| {
        matches!(e, TurnEvent::Part { .. })
    })
    .await;
    let mut second = start_turn(&app, &sam, &agent, ada.id, "and this", false).await;
    let mut buf2 = LineBuffer::default();
    read_until(&mut second, &mut buf2, |e| {
        matches!(e, TurnEvent::Waiting { .. })
    })
    .await;
    // A third is refused at once, with the reason, and queues nothing.
    let third = start_turn(&app, &sam, &agent, ada.id, "one more", false).await;
    assert_eq!(third.status(), 429);
    let e: letta_admin::error::AppError =
        serde_json::from_str(&third.text().await.unwrap()).unwrap();
    assert!(
        e.to_string().contains("already have 2 conversations"),
        "{e}"
    );
    // Someone else is not held back by Sam's limit.
    let other = start_turn(&app, &op, &agent, ada.id, "hello", false).await;
    assert_eq!(other.status(), 200);
    drop(other);
    // Once Sam's turns end, Sam may send again.
    drop(first);
    drop(second);
    eventually("sam's turns end", async || {
        app.state.blocks.turns.active_turns() == 0
    })
    .await;
    let events = turn(&app, &sam, &agent, ada.id, "again").await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Complete { error: None, .. })),
        "{events:?}"
    );
    assert_clean(&app, &fake, &agent).await;
}

#[tokio::test]
async fn deleting_a_person_is_refused_while_their_turn_runs() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(50));
    let mut res = start_turn(&app, &staff, &agent, ada.id, &"word ".repeat(10), false).await;
    let mut buf = LineBuffer::default();
    read_until(&mut res, &mut buf, |e| matches!(e, TurnEvent::Part { .. })).await;
    let refused = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &ada.id.to_string()), ("keep_in_letta", "false")],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("in a chat turn"), "{}", refused.body);
    // Let the turn finish, then the delete goes through.
    while res.chunk().await.unwrap().is_some() {}
    eventually("the turn is over", async || {
        app.state.blocks.turns.active_turns() == 0
    })
    .await;
    let deleted = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &ada.id.to_string()), ("keep_in_letta", "false")],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
}

#[tokio::test]
async fn a_background_turn_runs_to_completion_and_detaches() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let events = events_of(start_turn(&app, &staff, &agent, ada.id, "long task", true).await).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Background { .. })),
        "{events:?}"
    );
    assert!(released(&events));
    assert_clean(&app, &fake, &agent).await;
    let runs: Vec<BackgroundRun> = app
        .call(&staff, "staff/chat/runs", &[("agent_id", &agent)])
        .await
        .json();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "completed");
    assert!(runs[0].finished);
    assert_eq!(runs[0].person, "ada");
    assert_eq!(runs[0].reply.as_deref(), Some("echo: long task"));
    let sends = fake.sends();
    assert_eq!(sends[0].personas, vec!["Persona_ada"]);
    assert_eq!(
        sends[0].sender_id.as_deref(),
        Some(ada.identity_id.as_str())
    );
    let e = last_turn(&app, &op).await;
    assert!(e.background);
    assert_eq!(e.outcome.as_deref(), Some("complete"));
    assert_eq!(e.run_id, runs[0].run_id);
    assert_eq!(e.detach.as_deref(), Some("detached"));
}

#[tokio::test]
async fn history_names_each_sender_and_filters_by_person() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    turn(&app, &staff, &agent, ada.id, "from ada").await;
    turn(&app, &staff, &agent, bob.id, "from bob").await;
    // Sent around the dashboard: a stranger's id, and no sender at all.
    let client = app.state.letta.client().unwrap();
    use letta_admin::letta::types::MessageCreate;
    client
        .messages()
        .send(
            &agent,
            &[MessageCreate::user(
                "from elsewhere",
                Some("identity-stranger".into()),
            )],
        )
        .await
        .unwrap();
    client
        .messages()
        .send(&agent, &[MessageCreate::user("anonymous", None)])
        .await
        .unwrap();

    let page: HistoryPage = app
        .call(&staff, "staff/chat/history", &[("agent_id", &agent)])
        .await
        .json();
    let users: Vec<(String, Sender)> = page
        .items
        .iter()
        .filter(|i| i.kind == "user")
        .map(|i| (i.text.clone(), i.sender.clone().unwrap()))
        .collect();
    assert_eq!(users.len(), 4);
    assert!(
        matches!(&users[0], (t, Sender::Person { username, .. }) if t == "from ada" && username == "ada")
    );
    assert!(
        matches!(&users[1], (t, Sender::Person { username, .. }) if t == "from bob" && username == "bob")
    );
    assert!(
        matches!(&users[2], (_, Sender::Unknown { sender_id }) if sender_id == "identity-stranger")
    );
    assert_eq!(users[3].1, Sender::None);
    assert_eq!(page.older, None, "all of it fits one page");

    let only_bob: HistoryPage = app
        .call(
            &staff,
            "staff/chat/history",
            &[("agent_id", &agent), ("only_person", &bob.id.to_string())],
        )
        .await
        .json();
    let texts: Vec<&str> = only_bob.items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, ["from bob", "echo: from bob"]);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_attached() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let empty = start_turn(&app, &staff, &agent, ada.id, "   ", false).await;
    assert_eq!(empty.status(), 422);
    let bad_agent = start_turn(&app, &staff, "agent-../x", ada.id, "hi", false).await;
    assert_eq!(bad_agent.status(), 422);
    let no_person = start_turn(&app, &staff, &agent, 999, "hi", false).await;
    assert_eq!(no_person.status(), 422);
    let long = start_turn(&app, &staff, &agent, ada.id, &"x".repeat(20_001), false).await;
    assert_eq!(long.status(), 422);
    assert!(fake.sends().is_empty());
    assert_clean(&app, &fake, &agent).await;
}

#[tokio::test]
async fn the_pickers_list_agents_and_persons() {
    let (app, fake, op, staff) = setup().await;
    person(&app, &op, "ada").await;
    person(&app, &op, "bob").await;
    fake.add_agent("Support bot");
    fake.add_agent("Sales bot");
    let agents: Vec<letta_admin::features::chat::model::AgentChoice> = app
        .call(&staff, "staff/chat/agents", &[("query", "support")])
        .await
        .json();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].name, "Support bot");
    let persons: Vec<letta_admin::features::chat::model::PersonChoice> = app
        .call(&staff, "staff/chat/persons", &[("query", "bo")])
        .await
        .json();
    assert_eq!(persons.len(), 1);
    assert_eq!(persons[0].username, "bob");
}

#[tokio::test]
async fn the_agent_page_cannot_detach_a_block_during_its_turn_but_can_clear_a_leftover() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(50));
    let mut res = start_turn(&app, &staff, &agent, ada.id, &"word ".repeat(10), false).await;
    let mut buf = LineBuffer::default();
    read_until(&mut res, &mut buf, |e| matches!(e, TurnEvent::Part { .. })).await;
    let refused = app
        .call(
            &op,
            "operator/agents/detach_block",
            &[("agent_id", &agent), ("block_id", &ada.block_id)],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    while res.chunk().await.unwrap().is_some() {}
    assert_clean(&app, &fake, &agent).await;

    // A turn whose detach failed leaves a journaled block: the agent page may clear it.
    fake.set_stream_delay(Duration::ZERO);
    let detach = format!("/v1/agents/{agent}/core-memory/blocks/detach/*");
    fake.fault_times("PATCH", &detach, Fault::server_error(), 3);
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(!released(&events));
    assert_eq!(journal_len(&app).await, 1);
    let cleared = app
        .call(
            &op,
            "operator/agents/detach_block",
            &[("agent_id", &agent), ("block_id", &ada.block_id)],
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_clean(&app, &fake, &agent).await;
}

#[tokio::test]
async fn history_pages_back_to_the_first_message() {
    let (app, fake, _op, staff) = setup().await;
    let agent = fake.add_agent("chatty");
    let client = app.state.letta.client().unwrap();
    use letta_admin::letta::types::MessageCreate;
    // 30 exchanges: 60 messages, more than one page of 50.
    for i in 0..30 {
        client
            .messages()
            .send(&agent, &[MessageCreate::user(format!("m{i:02}"), None)])
            .await
            .unwrap();
    }
    let first: HistoryPage = app
        .call(&staff, "staff/chat/history", &[("agent_id", &agent)])
        .await
        .json();
    assert_eq!(first.items.len(), 50);
    assert_eq!(first.items.last().unwrap().text, "echo: m29", "newest last");
    let before = first.older.clone().expect("there is more");
    let second: HistoryPage = app
        .call(
            &staff,
            "staff/chat/history",
            &[("agent_id", &agent), ("before", &before)],
        )
        .await
        .json();
    assert_eq!(second.items.len(), 10);
    assert_eq!(second.items[0].text, "m00");
    assert_eq!(second.older, None, "the beginning was reached");
    let ids: std::collections::HashSet<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(ids.len(), 60, "no message twice, none missing");
}

/// A second dashboard on the first one's database (and data directory, for the key file):
/// another instance, with its own process state, as a second process would be.
async fn twin(first: &TestApp) -> TestApp {
    let (dir, db) = (
        first.state.config.data_dir.clone(),
        first.state.config.database_url.clone(),
    );
    spawn_app_with(move |c| {
        c.data_dir = dir;
        c.database_url = db;
    })
    .await
}

#[tokio::test]
async fn two_instances_on_one_database_never_put_two_persons_on_one_agent() {
    let (a, fake, op, _staff) = setup().await;
    let b = twin(&a).await;
    assert_ne!(a.state.instance.id(), b.state.instance.id());
    let agent = fake.add_agent("shared");
    let mut persons = Vec::new();
    for i in 0..20 {
        persons.push(person(&a, &op, &format!("p{i:02}")).await);
    }
    let staff = twenty_staff(&a).await;
    // The same accounts, signed in on the second instance.
    let mut staff_b = Vec::new();
    for i in 0..20 {
        let c = common::client();
        let r = b
            .call(
                &c,
                "public/login",
                &[
                    ("username", &format!("staff{i:02}")),
                    ("password", common::PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        staff_b.push(c);
    }
    fake.set_stream_delay(Duration::from_millis(3));
    let mut tasks = Vec::new();
    for (i, p) in persons.iter().enumerate() {
        // Alternately through each instance.
        let (base, c) = if i % 2 == 0 {
            (a.base.clone(), staff[i].clone())
        } else {
            (b.base.clone(), staff_b[i].clone())
        };
        let (agent, pid) = (agent.clone(), p.id);
        tasks.push(tokio::spawn(async move {
            let text = format!("message from p{i:02}");
            let res = c
                .post(format!("{base}/api/staff/chat/send"))
                .form(&[
                    ("send[agent_id]", agent.as_str()),
                    ("send[person_id]", &pid.to_string()),
                    ("send[text]", &text),
                ])
                .send()
                .await
                .unwrap();
            (text, events_of(res).await)
        }));
    }
    for t in tasks {
        let (text, events) = t.await.unwrap();
        assert_eq!(reply_text(&events), format!("echo: {text}"), "{events:?}");
        assert!(released(&events), "{events:?}");
    }
    assert_eq!(
        fake.max_personas_attached(),
        1,
        "never two persona blocks on the agent, across instances"
    );
    let sends = fake.sends();
    assert_eq!(sends.len(), 20);
    for s in &sends {
        let p = persons
            .iter()
            .position(|p| Some(&p.identity_id) == s.sender_id.as_ref())
            .expect("sent as a known person");
        assert_eq!(s.personas, vec![format!("Persona_p{p:02}")]);
    }
    assert_clean(&a, &fake, &agent).await;
}

#[tokio::test]
async fn an_instance_sweeps_what_a_dead_instance_left_and_never_what_a_live_one_holds() {
    let (a, fake, op, _staff) = setup().await;
    let b = twin(&a).await;
    let ada = person(&a, &op, "ada").await;
    let agent = fake.add_agent("helper");
    // A row of a live instance (b): a's sweeper leaves it alone.
    a.state
        .letta
        .client()
        .unwrap()
        .agents()
        .attach_block(&agent, &ada.block_id)
        .await
        .unwrap();
    letta_admin::db::chat::journal(
        &a.state.db,
        "turn-of-b",
        &agent,
        &ada.block_id,
        ada.id,
        &b.state.instance.id(),
    )
    .await
    .unwrap();
    letta_admin::features::chat::turn::sweep(&a.state).await;
    assert_eq!(fake.attached_blocks(&agent), vec![ada.block_id.clone()]);
    assert_eq!(journal_len(&a).await, 1);
    // The same row, its instance gone (stopped cleanly, or its heartbeat expired).
    b.state.instance.stop().await;
    letta_admin::features::chat::turn::sweep(&a.state).await;
    assert!(fake.attached_blocks(&agent).is_empty());
    assert_eq!(journal_len(&a).await, 0);
}

#[tokio::test]
async fn a_person_created_through_one_instance_shows_on_the_others_persons_page() {
    let (a, _fake, op, _staff) = setup().await;
    let b = twin(&a).await;
    let c = common::client();
    let r = b
        .call(
            &c,
            "public/login",
            &[("username", "olga"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200);
    // B renders (and caches) its persons page first.
    let page = c
        .get(b.url("/persons"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("newcomer"));
    let _ = c
        .get(b.url("/persons"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    person(&a, &op, "newcomer").await;
    let page = c
        .get(b.url("/persons"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("newcomer"), "B's cached page is stale");
}

#[tokio::test]
async fn settings_saved_through_one_instance_take_effect_on_the_other() {
    let (a, fake, op, _staff) = setup().await;
    let b = twin(&a).await;
    assert!(b.state.letta.client().is_ok());
    let other = FakeLetta::start().await;
    a.connect_to_fake(&op, &other, "5").await;
    let want = other.url.as_str().trim_end_matches('/').to_string();
    eventually("B uses the new URL", async || {
        b.state
            .letta
            .client()
            .is_ok_and(|c| c.connection().base_url.as_str().trim_end_matches('/') == want)
    })
    .await;
    drop(fake);
}

#[tokio::test]
async fn a_persona_block_attached_by_another_client_stops_the_turn_before_anything_is_sent() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    // Another Letta client (an SDK script, the ADE) attached bob's block and left it.
    app.state
        .letta
        .client()
        .unwrap()
        .agents()
        .attach_block(&agent, &bob.block_id)
        .await
        .unwrap();
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Failed { message } if message.contains("Persona_bob"))),
        "{events:?}"
    );
    assert!(released(&events), "{events:?}");
    assert!(fake.sends().is_empty(), "nothing was sent");
    // Ada's block is off again; bob's, which the dashboard did not attach, is left alone.
    assert_eq!(fake.attached_blocks(&agent), vec![bob.block_id.clone()]);
    assert_eq!(journal_len(&app).await, 0);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(_, action, outcome)| action == "chat.foreign_block" && outcome == "denied"));
}

#[tokio::test]
async fn each_turn_is_counted_by_its_outcome() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let count = |outcome: &str| {
        let scrape = letta_admin::observability::metrics().render();
        scrape
            .lines()
            .filter(|l| l.starts_with("letta_admin_chat_turns_total{"))
            .filter(|l| l.contains(&format!("outcome=\"{outcome}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let waits = || {
        letta_admin::observability::metrics()
            .render()
            .lines()
            .filter(|l| l.starts_with("letta_admin_agent_lock_wait_seconds_count"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let (complete, failed, waited) = (count("complete"), count("failed"), waits());
    let events = turn(&app, &staff, &agent, ada.id, "hello").await;
    assert!(released(&events));
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::server_error(),
    );
    let _ = turn(&app, &staff, &agent, ada.id, "hello again").await;
    // Counted when the turn's task ends, just after its last event.
    eventually("both turns counted", async || {
        count("complete") > complete && count("failed") > failed
    })
    .await;
    assert!(waits() >= waited + 2.0);
}

#[tokio::test]
async fn detach_now_clears_a_stuck_journal_row_and_only_operators_see_the_activity() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let detach = format!("/v1/agents/{agent}/core-memory/blocks/detach/*");
    fake.fault("PATCH", &detach, Fault::server_error());
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(!released(&events));
    last_turn(&app, &op).await;

    // Staff may chat but not read the ledger.
    let denied = app.call(&staff, "operator/chat/activity", &[]).await;
    assert_eq!(denied.status, 403);

    let page = activity(&app, &op, &[]).await;
    assert_eq!(page.journal.len(), 1, "{:?}", page.journal);
    let row = &page.journal[0];
    assert_eq!(
        (row.agent_id.as_str(), row.block_id.as_str()),
        (agent.as_str(), ada.block_id.as_str())
    );
    assert_eq!(row.person.as_deref(), Some("ada"));
    assert!(!row.running, "its turn has ended: the row is stuck");

    // While Letta still fails, "detach now" says so and the row stays.
    let a = app
        .call(
            &op,
            "operator/chat/detach-now",
            &[("turn_id", &row.turn_id)],
        )
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert_eq!(journal_len(&app).await, 1);

    fake.clear_faults();
    let a = app
        .call(
            &staff,
            "operator/chat/detach-now",
            &[("turn_id", &row.turn_id)],
        )
        .await;
    assert_eq!(a.status, 403);
    let a = app
        .call(
            &op,
            "operator/chat/detach-now",
            &[("turn_id", &row.turn_id)],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.json::<bool>());
    assert_clean(&app, &fake, &agent).await;
    assert!(activity(&app, &op, &[]).await.journal.is_empty());
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(actor, action, _)| action == "chat.detach_now" && actor.as_deref() == Some("olga")));
    // Again: already gone.
    let a = app
        .call(
            &op,
            "operator/chat/detach-now",
            &[("turn_id", &row.turn_id)],
        )
        .await;
    assert!(!a.json::<bool>());
}

#[tokio::test]
async fn the_ledger_filters_pages_charts_and_prunes() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    let other = fake.add_agent("other");
    for i in 0..3 {
        turn(&app, &staff, &agent, ada.id, &format!("a{i}")).await;
    }
    turn(&app, &op, &other, bob.id, "b").await;
    fake.fault(
        "POST",
        &format!("/v1/agents/{other}/messages/stream"),
        Fault::server_error(),
    );
    turn(&app, &op, &other, bob.id, "b fails").await;
    assert_eq!(ledger(&app, &op).await.len(), 5);

    let page = activity(&app, &op, &[("filter[agent]", &agent)]).await;
    assert_eq!(page.entries.len(), 3);
    assert!(page
        .entries
        .iter()
        .all(|e| e.agent_id == agent && e.person == "ada"));
    let bob_id = bob.id.to_string();
    let page = activity(&app, &op, &[("filter[person]", &bob_id)]).await;
    assert_eq!(page.entries.len(), 2);
    let page = activity(&app, &op, &[("filter[user]", "olga")]).await;
    assert_eq!(page.entries.len(), 2);
    let page = activity(&app, &op, &[("filter[outcome]", "failed")]).await;
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].person, "bob");
    // The choices name what the ledger holds.
    assert_eq!(page.users, vec!["olga".to_string(), "sam".to_string()]);
    assert_eq!(page.persons.len(), 2);
    // The chart counts today's five turns, one failed, in its last bar.
    assert_eq!(page.chart.bars.len(), 14);
    assert_eq!(
        *page.chart.bars.last().unwrap(),
        (1, 1),
        "filtered to failures"
    );
    let all = activity(&app, &op, &[]).await;
    assert_eq!(*all.chart.bars.last().unwrap(), (5, 1));
    assert!(all.chart.bars[..13].iter().all(|b| *b == (0, 0)));

    // Bad filters are refused beside their field.
    for (field, value) in [
        ("filter[outcome]", "exploded"),
        ("filter[agent]", "../etc"),
        ("filter[from]", "yesterday"),
    ] {
        let a = app
            .call(&op, "operator/chat/activity", &[(field, value)])
            .await;
        assert_eq!(a.status, 422, "{field}={value}: {}", a.body);
    }

    // Keyset pages of 50, newest first, no entry twice or lost.
    let db = &app.state.db;
    let now = letta_admin::db::now_ms();
    for i in 0..100 {
        letta_admin::db::ledger::queued(
            db,
            &letta_admin::db::ledger::NewTurn {
                turn_id: &format!("seeded-{i}"),
                instance_id: &app.state.instance.id(),
                user_id: 1,
                username: "seed",
                person_id: ada.id,
                person: "ada",
                agent_id: &agent,
                background: false,
                queued_at: now - 1000 + i,
            },
        )
        .await
        .unwrap();
        letta_admin::db::ledger::ended(
            db,
            &format!("seeded-{i}"),
            &letta_admin::db::ledger::TurnEnd {
                ended_at: now,
                outcome: "complete".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let first = activity(&app, &op, &[("filter[user]", "seed")]).await;
    assert_eq!(first.entries.len(), 50);
    assert_eq!(first.newer, None);
    let before = first.older.unwrap().to_string();
    let second = activity(
        &app,
        &op,
        &[("filter[user]", "seed"), ("filter[before]", &before)],
    )
    .await;
    assert_eq!(second.entries.len(), 50);
    assert_eq!(second.older, None);
    let mut ids: Vec<i64> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| e.id)
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let after = second.newer.unwrap().to_string();
    let back = activity(
        &app,
        &op,
        &[("filter[user]", "seed"), ("filter[after]", &after)],
    )
    .await;
    assert_eq!(back.entries, first.entries);

    // Pruning drops ended entries older than the configured days, and nothing else.
    letta_admin::with_pool!(db, |pool| sqlx::query(
        "UPDATE chat_turns SET queued_at = $1 WHERE username = 'seed'"
    )
    .bind(now - 91 * 86_400_000)
    .execute(pool)
    .await
    .map(|_| ()))
    .unwrap();
    letta_admin::features::chat::turn::prune_ledger(&app.state).await;
    assert!(activity(&app, &op, &[("filter[user]", "seed")])
        .await
        .entries
        .is_empty());
    assert_eq!(ledger(&app, &op).await.len(), 5);
}

#[tokio::test]
async fn a_turn_whose_instance_died_ends_in_the_ledger_as_interrupted() {
    let (app, fake, op, _staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let db = &app.state.db;
    // A turn queued by an instance that never heartbeats again (killed mid-turn).
    letta_admin::db::ledger::queued(
        db,
        &letta_admin::db::ledger::NewTurn {
            turn_id: "turn-of-the-dead",
            instance_id: "instance-gone",
            user_id: 1,
            username: "sam",
            person_id: ada.id,
            person: "ada",
            agent_id: &agent,
            background: false,
            queued_at: letta_admin::db::now_ms(),
        },
    )
    .await
    .unwrap();
    let running = activity(&app, &op, &[("filter[outcome]", "running")]).await;
    assert_eq!(running.entries.len(), 1);
    letta_admin::features::chat::turn::sweep(&app.state).await;
    let e = last_turn(&app, &op).await;
    assert_eq!(e.turn_id, "turn-of-the-dead");
    assert_eq!(e.outcome.as_deref(), Some("interrupted"));
    assert!(why(&e).contains("stopped before it ended"));
}

#[tokio::test]
async fn a_persona_block_of_no_dashboard_person_is_flagged_on_the_agent_page_and_detached_there() {
    let (app, fake, op, staff) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    // Another client made and attached a Persona_ block for someone the dashboard does not know.
    let client = app.state.letta.client().unwrap();
    let stranger = client
        .blocks()
        .create(&letta_admin::letta::CreateBlock::new(
            "Persona_stranger",
            "{}",
        ))
        .await
        .unwrap();
    client
        .agents()
        .attach_block(&agent, &stranger.id)
        .await
        .unwrap();
    let events = turn(&app, &staff, &agent, ada.id, "hi").await;
    assert!(
        events.iter().any(
            |e| matches!(e, TurnEvent::Failed { message } if message.contains("Persona_stranger"))
        ),
        "{events:?}"
    );
    assert!(fake.sends().is_empty());

    // The agent page flags it; staff may not detach it, an operator may.
    let detail: letta_admin::features::agents::api::AgentDetail = app
        .call(&op, "staff/agents/get", &[("id", &agent)])
        .await
        .json();
    let shown = detail.blocks.iter().find(|b| b.id == stranger.id).unwrap();
    assert!(shown.foreign_persona() && shown.persona_of.is_none());
    let form = [
        ("agent_id", agent.as_str()),
        ("block_id", stranger.id.as_str()),
    ];
    let denied = app
        .call(&staff, "operator/agents/detach_block", &form)
        .await;
    assert_eq!(denied.status, 403);
    let detached = app.call(&op, "operator/agents/detach_block", &form).await;
    assert_eq!(detached.status, 200, "{}", detached.body);
    assert!(fake.attached_blocks(&agent).is_empty());

    // A block of the agent's own (not a persona) is still not detachable from here.
    let own = client
        .blocks()
        .create(&letta_admin::letta::CreateBlock::new("human", "x"))
        .await
        .unwrap();
    client.agents().attach_block(&agent, &own.id).await.unwrap();
    let refused = app
        .call(
            &op,
            "operator/agents/detach_block",
            &[("agent_id", agent.as_str()), ("block_id", own.id.as_str())],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);

    // And chat works again.
    let events = turn(&app, &staff, &agent, ada.id, "hi again").await;
    assert!(released(&events), "{events:?}");
    assert_eq!(fake.sends().last().unwrap().personas, vec!["Persona_ada"]);
}
