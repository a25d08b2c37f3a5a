//! Chat against the REAL Letta 0.16.8: a turn through the dashboard attaches, streams,
//! records the sender and detaches; background runs finish; stop cancels a slow reply. Needs
//! LETTA_BASE_URL / LETTA_SERVER_PASSWORD; skipped loudly without them unless
//! LETTA_CONTRACT_REQUIRED=1, which scripts/test.sh sets.
mod common;

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
        c.letta_password = Some(password.clone());
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
