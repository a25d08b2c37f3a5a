//! The persona editor's server side: no silent overwrite, the limit and read_only enforced by
//! the dashboard, history and restore. Against the fake Letta (changes "behind the editor's back"
//! go straight to it, as the agent's memory tools would).
use crate::common;

use common::{fake_letta::FakeLetta, spawn_app, Answer, TestApp};
use letta_admin::{
    auth::Role,
    features::{
        persona::api::{PersonaState, SaveOutcome, Version},
        persons::api::CreateOutcome,
    },
    letta::BlockUpdate,
};

async fn setup() -> (TestApp, FakeLetta, reqwest::Client, PersonaState) {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let created = app
        .call(
            &op,
            "operator/persons/create",
            &[
                ("form[username]", "ada"),
                ("form[display_name]", "Ada"),
                ("form[limit]", "200"),
            ],
        )
        .await;
    let CreateOutcome::Created(p) = created.json() else {
        panic!("{}", created.body)
    };
    let state: PersonaState = app
        .call(
            &op,
            "staff/persona/get",
            &[("person_id", &p.id.to_string())],
        )
        .await
        .json();
    (app, fake, op, state)
}

async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    s: &PersonaState,
    base: &str,
    value: &str,
    limit: &str,
) -> Answer {
    app.call(
        c,
        "operator/persona/save",
        &[
            ("save[person_id]", &s.person_id.to_string()),
            ("save[base]", base),
            ("save[value]", value),
            ("save[limit]", limit),
        ],
    )
    .await
}

#[tokio::test]
async fn a_save_writes_the_block_and_keeps_the_history() {
    let (app, fake, op, s) = setup().await;
    let new = r#"{"name":"Ada","preferences":{"tea":"green"},"conversation_history":[]}"#;
    let a = save(&app, &op, &s, &s.value, new, "").await;
    let SaveOutcome::Saved(saved) = a.json() else {
        panic!("{}", a.body)
    };
    assert_eq!(saved.value, new);
    assert_eq!(fake.block(&s.block_id).unwrap()["value"], new);
    let history: Vec<Version> = app
        .call(
            &op,
            "staff/persona/history",
            &[("person_id", &s.person_id.to_string())],
        )
        .await
        .json();
    let sources: Vec<_> = history.iter().map(|v| v.source.as_str()).collect();
    assert_eq!(sources, ["editor", "create"], "newest first");
    assert_eq!(history[0].actor.as_deref(), Some("olga"));

    // A limit change goes to Letta too.
    let a = save(&app, &op, &saved, new, new, "300").await;
    assert!(matches!(a.json(), SaveOutcome::Saved(_)), "{}", a.body);
    assert_eq!(fake.block(&s.block_id).unwrap()["limit"], 300);
}

#[tokio::test]
async fn a_change_behind_the_editors_back_is_a_conflict_and_nothing_is_overwritten() {
    let (app, fake, op, s) = setup().await;
    let client = app.state.letta.client().unwrap();
    client
        .blocks()
        .update(
            &s.block_id,
            &BlockUpdate {
                value: Some("The agent rewrote this as prose.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a = save(&app, &op, &s, &s.value, "my edit", "").await;
    match a.json::<SaveOutcome>() {
        SaveOutcome::Conflict { server } => {
            assert_eq!(server.value, "The agent rewrote this as prose.")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fake.block(&s.block_id).unwrap()["value"],
        "The agent rewrote this as prose.",
        "not overwritten"
    );
    // The value seen on the server is in the history as observed.
    let history: Vec<Version> = app
        .call(
            &op,
            "staff/persona/history",
            &[("person_id", &s.person_id.to_string())],
        )
        .await
        .json();
    assert_eq!(history[0].source, "observed");
    // "Keep mine": save again against the server's value.
    let a = save(
        &app,
        &op,
        &s,
        "The agent rewrote this as prose.",
        "my edit",
        "",
    )
    .await;
    assert!(matches!(a.json(), SaveOutcome::Saved(_)));
    assert_eq!(fake.block(&s.block_id).unwrap()["value"], "my edit");
}

#[tokio::test]
async fn over_the_limit_and_read_only_are_refused_by_the_dashboard() {
    let (app, fake, op, s) = setup().await;
    let long = "x".repeat(201);
    let a = save(&app, &op, &s, &s.value, &long, "").await;
    assert_eq!(a.status, 422);
    assert!(a
        .error()
        .for_field("value")
        .unwrap()
        .contains("over the block's limit of 200"));
    assert_ne!(fake.block(&s.block_id).unwrap()["value"], long.as_str());

    app.state
        .letta
        .client()
        .unwrap()
        .blocks()
        .update(
            &s.block_id,
            &BlockUpdate {
                read_only: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let a = save(&app, &op, &s, &s.value, "short", "").await;
    assert_eq!(a.status, 409);
    assert!(a.error().to_string().contains("read-only"));
}

#[tokio::test]
async fn restore_brings_back_an_older_version() {
    let (app, fake, op, s) = setup().await;
    let original = s.value.clone();
    let a = save(&app, &op, &s, &s.value, "second version", "").await;
    assert!(matches!(a.json(), SaveOutcome::Saved(_)));
    let history: Vec<Version> = app
        .call(
            &op,
            "staff/persona/history",
            &[("person_id", &s.person_id.to_string())],
        )
        .await
        .json();
    let first = history.iter().find(|v| v.source == "create").unwrap();
    let a = app
        .call(
            &op,
            "operator/persona/restore",
            &[
                ("person_id", &s.person_id.to_string()),
                ("version_id", &first.id.to_string()),
                ("base", "second version"),
            ],
        )
        .await;
    assert!(matches!(a.json(), SaveOutcome::Saved(_)), "{}", a.body);
    assert_eq!(fake.block(&s.block_id).unwrap()["value"], original.as_str());
    let staff = app.signed_in("sam", Role::Staff).await;
    assert_eq!(
        save(&app, &staff, &s, &original, "staff edit", "")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn concurrent_saves_of_one_block_cannot_both_win() {
    let (app, fake, op, s) = setup().await;
    let (a, b) = tokio::join!(
        save(&app, &op, &s, &s.value, "edit A", ""),
        save(&app, &op, &s, &s.value, "edit B", "")
    );
    let outcomes = [a.json::<SaveOutcome>(), b.json::<SaveOutcome>()];
    let saved = outcomes
        .iter()
        .filter(|o| matches!(o, SaveOutcome::Saved(_)))
        .count();
    let conflicts = outcomes
        .iter()
        .filter(|o| matches!(o, SaveOutcome::Conflict { .. }))
        .count();
    assert_eq!(
        (saved, conflicts),
        (1, 1),
        "serialised: the second sees the first's write"
    );
    let stored = fake.block(&s.block_id).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stored == "edit A" || stored == "edit B");
}
