//! The Overview's cards over HTTP against the app and the fake Letta: what each role gets, the
//! numbers behind each card, and a failing Letta failing only its own card.
use crate::common;

use std::time::Duration;

use common::{
    fake_letta::{FakeLetta, Fault},
    spawn_app, TestApp,
};
use letta_admin::{
    auth::Role,
    features::chat::model::{LineBuffer, TurnEvent},
    features::home::api::{AuditLine, ChatCard, LettaCard, LettaFigures, PersonsCard},
    features::persons::api::CreateOutcome,
};

async fn card<T: serde::de::DeserializeOwned>(
    app: &TestApp,
    c: &reqwest::Client,
    endpoint: &str,
) -> Result<T, (u16, String)> {
    let a = app.call(c, endpoint, &[]).await;
    if a.status == 200 {
        Ok(a.json())
    } else {
        Err((a.status, a.body))
    }
}

fn connected(card: LettaCard) -> LettaFigures {
    match card {
        LettaCard::Connected(f) => f,
        other => panic!("not connected: {other:?}"),
    }
}

async fn person(app: &TestApp, op: &reqwest::Client, username: &str) -> i64 {
    let a = app
        .call(
            op,
            "operator/persons/create",
            &[
                ("form[username]", username),
                ("form[display_name]", username),
                ("form[notes]", ""),
            ],
        )
        .await;
    let CreateOutcome::Created(p) = a.json() else {
        panic!("{}", a.body)
    };
    p.id
}

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    agent: &str,
    person: i64,
    text: &str,
) -> reqwest::Response {
    let person = person.to_string();
    c.post(app.url("/api/staff/chat/send"))
        .form(&[
            ("send[agent_id]", agent),
            ("send[person_id]", &person),
            ("send[text]", text),
        ])
        .send()
        .await
        .unwrap()
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn each_role_gets_its_cards_with_the_numbers_behind_them() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let staff = app.signed_in("sam", Role::Staff).await;
    let agent = fake.add_agent("helper");
    fake.add_agent("other");
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;

    // Letta: the version, the host, and what the server holds; identities and blocks for
    // operators only.
    let l = connected(card(&app, &op, "staff/overview/letta").await.unwrap());
    assert_eq!(l.host, "127.0.0.1");
    assert_eq!(l.agents, 2);
    assert_eq!(l.identities, Some(2), "one per person");
    assert_eq!(l.blocks, Some(2), "one persona block per person");
    assert!(!l.version.is_empty());
    let s = connected(card(&app, &staff, "staff/overview/letta").await.unwrap());
    assert_eq!((s.agents, s.identities, s.blocks), (2, None, None));
    // Read once and reused: the counts were asked once for three cards.
    assert_eq!(fake.request_count("GET", "/v1/agents/count"), 1);

    // Persons: the problems the last checks found (creating one checks it).
    let p: PersonsCard = card(&app, &staff, "staff/overview/persons").await.unwrap();
    assert_eq!((p.total, p.problems, p.unchecked), (2, 0, 0));
    assert!(p.last_checked.is_some());
    assert!(p.problem_list.is_empty());
    letta_admin::db::persons::set_health(&app.state.db, bob, "block_missing", Some("gone"))
        .await
        .unwrap();
    letta_admin::db::persons::set_health(&app.state.db, ada, "ok", None)
        .await
        .unwrap();
    let p: PersonsCard = card(&app, &staff, "staff/overview/persons").await.unwrap();
    assert_eq!((p.total, p.problems, p.unchecked), (2, 1, 0));
    assert!(p.last_checked.is_some());
    assert_eq!(p.problem_list.len(), 1);
    assert_eq!(
        (
            p.problem_list[0].username.as_str(),
            p.problem_list[0].health.as_str()
        ),
        ("bob", "block_missing")
    );
    // The number links to the persons list filtered to them.
    let only: letta_admin::features::persons::api::PersonsPage = app
        .call(&staff, "staff/persons/list", &[("query[problems]", "true")])
        .await
        .json();
    assert_eq!(only.total, 1);
    assert_eq!(only.persons.len(), 1);
    assert_eq!(only.persons[0].username, "bob");
    let all: letta_admin::features::persons::api::PersonsPage = app
        .call(&staff, "staff/persons/list", &[("query[search]", "")])
        .await
        .json();
    assert_eq!((all.total, all.persons.len()), (2, 2));
    let html = staff
        .get(app.url("/persons?problems=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("\"/persons/2\">bob")
            && !html.contains(r#"\"username\":\"ada\""#)
            && !html.contains("\"/persons/1\""),
        "{html}"
    );
    assert!(html.contains("1 person with a problem at the last check"));

    // Chat: a turn that streams slowly holds the agent, a second one waits behind it.
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "many words here ".repeat(20);
    let mut first = send(&app, &staff, &agent, ada, &long).await;
    let mut buf = LineBuffer::default();
    'part: while let Some(chunk) = first.chunk().await.unwrap() {
        for ev in buf.feed(std::str::from_utf8(&chunk).unwrap()) {
            if matches!(ev.unwrap(), TurnEvent::Part { .. }) {
                break 'part;
            }
        }
    }
    let second = send(&app, &op, &agent, bob, "me next").await;
    let c: ChatCard = eventually("one running and one waiting on the agent", async || {
        let c: ChatCard = card(&app, &staff, "staff/overview/chat").await.unwrap();
        let q = c.queues.iter().find(|q| q.agent_id == agent)?;
        (q.running == 1 && q.waiting == 1).then_some(c)
    })
    .await;
    assert!(c.ops.is_none(), "staff see no journal or ledger figures");
    drop(first);
    drop(second);
    eventually("the agent is free", async || {
        let c: ChatCard = card(&app, &op, "staff/overview/chat").await.unwrap();
        c.queues.is_empty().then_some(())
    })
    .await;

    // A turn that fails: counted, and listed with its reason, for operators.
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        Fault::server_error(),
    );
    send(&app, &staff, &agent, ada, "fails")
        .await
        .text()
        .await
        .unwrap();
    let c: ChatCard = eventually("the failed turn is in the ledger", async || {
        let c: ChatCard = card(&app, &op, "staff/overview/chat").await.unwrap();
        let ops = c.ops.as_ref()?;
        (!ops.failures.is_empty() && ops.day.totals().0 == 3).then_some(c)
    })
    .await;
    let ops = c.ops.unwrap();
    assert_eq!(ops.day.bars.len(), 24);
    assert_eq!(ops.week.bars.len(), 7);
    assert_eq!(ops.week.totals(), ops.day.totals());
    assert!(ops.day.totals().1 >= 1);
    assert_eq!(
        *ops.week.bars.last().unwrap(),
        ops.day.totals(),
        "today's bar"
    );
    assert_eq!(ops.failures[0].person, "ada");
    assert!(
        ops.failures[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("HTTP 500"),
        "{:?}",
        ops.failures[0]
    );
    assert_eq!((ops.attached, ops.stuck), (0, 0));
    // Each user's own recent chats, to reopen.
    let mine: ChatCard = card(&app, &staff, "staff/overview/chat").await.unwrap();
    assert_eq!(
        mine.mine.len(),
        1,
        "one agent and one person: {:?}",
        mine.mine
    );
    assert_eq!(
        (mine.mine[0].agent_id.as_str(), mine.mine[0].person_id),
        (agent.as_str(), ada)
    );
    let theirs: ChatCard = card(&app, &op, "staff/overview/chat").await.unwrap();
    assert_eq!(theirs.mine[0].person_id, bob);

    // Audit entries: operators and admins only.
    assert_eq!(
        card::<Vec<AuditLine>>(&app, &staff, "operator/overview/audit")
            .await
            .unwrap_err()
            .0,
        403
    );
    let lines: Vec<AuditLine> = card(&app, &admin, "operator/overview/audit").await.unwrap();
    assert_eq!(lines.len(), 10);
    assert!(lines.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let lines: Vec<AuditLine> = card(&app, &op, "operator/overview/audit").await.unwrap();
    assert!(lines.iter().any(|l| l.action == "chat.send"));
    // The audit log and Chat activity opened from the Overview's links (client-side): an
    // empty filter is no filter.
    assert_eq!(app.call(&admin, "admin/audit/list", &[]).await.status, 200);
    assert_eq!(
        app.call(&op, "operator/chat/activity", &[]).await.status,
        200
    );
}

#[tokio::test]
async fn a_failing_letta_fails_only_its_own_card() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    // Before any Letta server is set up, the card says so.
    assert_eq!(
        card::<LettaCard>(&app, &op, "staff/overview/letta")
            .await
            .unwrap(),
        LettaCard::NotConfigured
    );
    app.connect_to_fake(&op, &fake, "1").await;
    person(&app, &op, "ada").await;
    fake.fault("GET", "/v1/agents/count", Fault::server_error());

    // A failing Letta is a state of its card, said in the dashboard's words.
    match card::<LettaCard>(&app, &op, "staff/overview/letta")
        .await
        .unwrap()
    {
        LettaCard::Unreachable { message } => {
            assert!(message.contains("HTTP 500"), "{message}");
            assert!(
                !message.contains(common::fake_letta::SECRET_MARKER),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let p: PersonsCard = card(&app, &op, "staff/overview/persons").await.unwrap();
    assert_eq!(p.total, 1);
    card::<ChatCard>(&app, &op, "staff/overview/chat")
        .await
        .unwrap();
    card::<Vec<AuditLine>>(&app, &op, "operator/overview/audit")
        .await
        .unwrap();

    // A failure is not kept: once Letta answers again, so does the card.
    fake.clear_faults();
    let l = connected(card(&app, &op, "staff/overview/letta").await.unwrap());
    assert_eq!(l.identities, Some(1));

    // The page itself renders with the Letta card left to the browser.
    let page = op.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for heading in [
        "Letta server",
        "Persons",
        "Chat right now",
        "Recent activity",
    ] {
        assert!(html.contains(heading), "{heading} missing");
    }
    assert!(html.contains("Reading the Letta server…"));
}
