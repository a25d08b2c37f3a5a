//! Chat against the REAL Letta 0.16.8: a turn through the dashboard attaches, streams,
//! records the sender and detaches; background runs finish; stop cancels a slow reply. Needs
//! LETTA_BASE_URL / LETTA_SERVER_PASSWORD; skipped loudly without them unless
//! LETTA_CONTRACT_REQUIRED=1, which scripts/test.sh sets.
use crate::common;

use std::time::Duration;

use common::{spawn_app_with, TestApp};
use letta_admin::{
    auth::Role,
    features::chat::model::{BackgroundRun, HistoryPage, LineBuffer, PartKind, Sender, TurnEvent},
    features::persons::api::{CreateOutcome, PersonDetail},
    letta::types::{CreateAgentRequest, MessageFilter},
};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn person(app: &TestApp, op: &reqwest::Client, username: &str) -> PersonDetail {
    let a = app
        .call(
            op,
            "operator/persons/create",
            &[
                ("form[username]", username),
                ("form[display_name]", "Chat Contract"),
            ],
        )
        .await;
    let CreateOutcome::Created(s) = a.json() else {
        panic!("{}", a.body)
    };
    app.call(op, "staff/persons/get", &[("id", &s.id.to_string())])
        .await
        .json()
}

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    agent: &str,
    person_id: i64,
    text: &str,
    background: bool,
) -> reqwest::Response {
    let pid = person_id.to_string();
    let mut form = vec![
        ("send[agent_id]", agent),
        ("send[person_id]", pid.as_str()),
        ("send[text]", text),
    ];
    if background {
        form.push(("background", "true"));
    }
    let res = c
        .post(app.url("/api/staff/chat/send"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res
}

async fn rest(res: &mut reqwest::Response, buf: &mut LineBuffer) -> Vec<TurnEvent> {
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        out.extend(
            buf.feed(std::str::from_utf8(&chunk).unwrap())
                .into_iter()
                .map(Result::unwrap),
        );
    }
    out
}

fn persona_blocks(blocks: &[letta_admin::letta::types::Block]) -> Vec<String> {
    blocks
        .iter()
        .filter_map(|b| b.label.clone())
        .filter(|l| l.starts_with("Persona_"))
        .collect()
}

#[tokio::test]
async fn chat_turns_against_the_real_server() {
    let Some((url, password)) = common::letta_peer() else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.letta_base_url = Some(url.clone());
        c.letta_password = Some(password.clone().into());
    })
    .await;
    let op = app.signed_in("olga", Role::Operator).await;
    let staff = app.signed_in("sam", Role::Staff).await;
    let ada = person(&app, &op, &unique("chat_ada")).await;
    let client = app.state.letta.client().unwrap();
    let agent = client
        .agents()
        .create(&CreateAgentRequest {
            name: Some(unique("chat-contract")),
            model: Some("openai-proxy/fake-model".into()),
            embedding: Some("openai/text-embedding-3-small".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;

    // A streamed turn: attach, tokens, stop_reason + usage, detach.
    let mut buf = LineBuffer::default();
    let mut res = send(&app, &staff, &agent, ada.id, "hello contract", false).await;
    let events = rest(&mut res, &mut buf).await;
    assert!(events.contains(&TurnEvent::Sending {
        pre_attached: false
    }));
    let reply: String = events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Part {
                kind: PartKind::Assistant,
                text,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(reply.contains("hello contract"), "{events:?}");
    let parts = events
        .iter()
        .filter(|e| matches!(e, TurnEvent::Part { .. }))
        .count();
    assert!(parts > 2, "token by token: {events:?}");
    match events
        .iter()
        .find(|e| matches!(e, TurnEvent::Complete { .. }))
    {
        Some(TurnEvent::Complete {
            stop_reason,
            usage: Some(u),
            error: None,
            ..
        }) => {
            assert_eq!(stop_reason, "end_turn");
            assert!(u.total_tokens > 0);
        }
        other => panic!("{other:?} in {events:?}"),
    }
    assert_eq!(events.last(), Some(&TurnEvent::Released { detached: true }));
    let blocks = client.agents().core_blocks(&agent).await.unwrap();
    assert!(persona_blocks(&blocks).is_empty(), "{blocks:?}");

    // Letta stored the sender; the dashboard names the person.
    let raw = client
        .messages()
        .list(&agent, &MessageFilter::default())
        .await
        .unwrap();
    let sent = raw
        .iter()
        .find_map(|m| match m {
            letta_admin::letta::types::LettaMessage::UserMessage(m)
                if m.content.text().contains("hello contract") =>
            {
                m.sender_id.clone()
            }
            _ => None,
        })
        .expect("the user message is in the history");
    assert_eq!(Some(sent), ada.identity_id);
    let page: HistoryPage = app
        .call(&staff, "staff/chat/history", &[("agent_id", &agent)])
        .await
        .json();
    let mine = page
        .items
        .iter()
        .find(|i| i.kind == "user" && i.text.contains("hello contract"))
        .expect("in the dashboard's history");
    assert!(
        matches!(&mine.sender, Some(Sender::Person { id, .. }) if *id == ada.id),
        "{mine:?}"
    );

    // A background run: to completion, then detached.
    let mut res = send(&app, &staff, &agent, ada.id, "background contract", true).await;
    let events = rest(&mut res, &mut buf).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Background { .. })),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&TurnEvent::Released { detached: true }));
    let runs: Vec<BackgroundRun> = app
        .call(&staff, "staff/chat/runs", &[("agent_id", &agent)])
        .await
        .json();
    assert_eq!(runs[0].status, "completed", "{runs:?}");
    assert!(
        runs[0]
            .reply
            .as_deref()
            .unwrap_or("")
            .contains("background contract"),
        "{runs:?}"
    );
    let blocks = client.agents().core_blocks(&agent).await.unwrap();
    assert!(persona_blocks(&blocks).is_empty(), "{blocks:?}");

    // Stop during a slow reply (the fake LLM streams "[slow]" replies word by word).
    let mut res = send(&app, &staff, &agent, ada.id, "[slow] stop me", false).await;
    let mut turn_id = None;
    'read: while let Some(chunk) = res.chunk().await.unwrap() {
        for ev in buf.feed(std::str::from_utf8(&chunk).unwrap()) {
            match ev.unwrap() {
                TurnEvent::Started { turn_id: t } => turn_id = Some(t),
                TurnEvent::Part { .. } => break 'read,
                _ => {}
            }
        }
    }
    let blocks = client.agents().core_blocks(&agent).await.unwrap();
    assert_eq!(persona_blocks(&blocks).len(), 1, "attached during the turn");
    let stopped = app
        .call(&staff, "staff/chat/stop", &[("turn_id", &turn_id.unwrap())])
        .await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let events = tokio::time::timeout(Duration::from_secs(30), rest(&mut res, &mut buf))
        .await
        .expect("the turn ends soon after stop");
    match events
        .iter()
        .find(|e| matches!(e, TurnEvent::Complete { .. }))
    {
        Some(TurnEvent::Complete { stop_reason, .. }) => assert_eq!(stop_reason, "cancelled"),
        other => panic!("{other:?} in {events:?}"),
    }
    assert_eq!(events.last(), Some(&TurnEvent::Released { detached: true }));
    let blocks = client.agents().core_blocks(&agent).await.unwrap();
    assert!(persona_blocks(&blocks).is_empty(), "{blocks:?}");

    client.agents().delete(&agent).await.unwrap();
    let gone = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &ada.id.to_string()), ("keep_in_letta", "false")],
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
}

/// The core promise across processes, judged by the real server: twenty persons chat at once
/// on one agent through two dashboard instances on one database, while a watcher reads the
/// agent's blocks from Letta the whole time. Never two `Persona_` blocks at once, every turn
/// answered as its own person, nothing left attached.
#[tokio::test]
async fn twenty_persons_through_two_instances_never_share_the_real_agent() {
    let Some((url, password)) = common::letta_peer() else {
        return;
    };
    let config = |c: &mut letta_admin::config::Config| {
        c.letta_base_url = Some(url.clone());
        c.letta_password = Some(password.clone().into());
        // Twenty turns in a row on one agent: longer than the default wait.
        c.chat_wait = Duration::from_secs(600);
    };
    let a = spawn_app_with(config).await;
    let (dir, db) = (
        a.state.config.data_dir.clone(),
        a.state.config.database_url.clone(),
    );
    let b = spawn_app_with(move |c| {
        config(c);
        c.data_dir = dir;
        c.database_url = db;
    })
    .await;
    let op = a.signed_in("olga", Role::Operator).await;
    let client = a.state.letta.client().unwrap();
    let agent = client
        .agents()
        .create(&CreateAgentRequest {
            name: Some(unique("two-instances")),
            model: Some("openai-proxy/fake-model".into()),
            embedding: Some("openai/text-embedding-3-small".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let mut persons = Vec::new();
    let mut staff = Vec::new();
    for i in 0..20 {
        persons.push(person(&a, &op, &unique(&format!("two_{i:02}"))).await);
        staff.push(a.signed_in(&format!("staff{i:02}"), Role::Staff).await);
    }

    // The watcher: Letta's own view of the agent's blocks, as often as it answers.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (client, agent, done) = (client.clone(), agent.clone(), done.clone());
        tokio::spawn(async move {
            let (mut most, mut reads) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(blocks) = client.agents().core_blocks(&agent).await {
                    let personas = blocks
                        .iter()
                        .filter(|b| {
                            b.label
                                .as_deref()
                                .is_some_and(|l| l.starts_with("Persona_"))
                        })
                        .count();
                    most = most.max(personas);
                    reads += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (most, reads)
        })
    };
    let turns = persons.iter().zip(&staff).enumerate().map(|(i, (p, c))| {
        let app = if i % 2 == 0 { &a } else { &b };
        let agent = agent.clone();
        async move {
            let mut res = send(
                app,
                c,
                &agent,
                p.id,
                &format!("hello from {}", p.username),
                false,
            )
            .await;
            let events = rest(&mut res, &mut LineBuffer::default()).await;
            (p.username.clone(), events)
        }
    });
    let results = futures::future::join_all(turns).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (most, reads) = watcher.await.unwrap();

    for (who, events) in &results {
        let reply: String = events
            .iter()
            .filter_map(|e| match e {
                TurnEvent::Part {
                    kind: PartKind::Assistant,
                    text,
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            reply.contains(&format!("hello from {who}")),
            "{who}: {events:?}"
        );
        assert!(
            matches!(events.last(), Some(TurnEvent::Released { detached: true })),
            "{who}: {events:?}"
        );
    }
    assert!(reads > 20, "the watcher read the agent {reads} times");
    assert_eq!(most, 1, "two persons' blocks were on the agent at once");
    let left = client.agents().core_blocks(&agent).await.unwrap();
    assert!(
        !left.iter().any(|b| b
            .label
            .as_deref()
            .is_some_and(|l| l.starts_with("Persona_"))),
        "{left:?}"
    );
    // Each message reached Letta as its own person.
    let history = client
        .messages()
        .list(
            &agent,
            &MessageFilter {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for p in &persons {
        let sent_as = history.iter().find_map(|m| match m {
            letta_admin::letta::LettaMessage::UserMessage(u)
                if u.content
                    .text()
                    .contains(&format!("hello from {}", p.username)) =>
            {
                Some(u.sender_id.clone())
            }
            _ => None,
        });
        assert_eq!(sent_as, Some(p.identity_id.clone()), "{}", p.username);
    }
    client.agents().delete(&agent).await.unwrap();
}
