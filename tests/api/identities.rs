//! Identities over HTTP, against the in-process fake Letta: validation, error mapping (no Letta
//! body ever reaches the browser), upsert, property replacement, filters and cursors, links,
//! delete, the audit log, and the operator-only guard. The real server's behaviour behind these
//! is pinned in `letta_contract.rs`; the browser flow in `end2end/tests/identities.spec.ts`.
use crate::common;

use std::time::Duration;

use common::{
    fake_letta::{FakeLetta, Fault, SECRET_MARKER},
    spawn_app_with, TestApp,
};
use letta_admin::{
    auth::Role,
    error::AppError,
    features::identities::api::{
        AgentChoice, IdentityDetail, IdentityKind, IdentityList, IdentitySaved, PropKind,
        PropertyInput,
    },
    letta::{Connection, CreateAgentRequest, CreateBlock, LettaClient},
};

async fn app_with_fake() -> (TestApp, FakeLetta) {
    let fake = FakeLetta::start().await;
    let url = fake.url.to_string();
    let app = spawn_app_with(|c| {
        c.letta_base_url = Some(url);
        c.letta_password = Some(FakeLetta::PASSWORD.into());
    })
    .await;
    (app, fake)
}

/// A Letta client straight to the fake (for arranging agents and blocks).
fn direct(fake: &FakeLetta) -> LettaClient {
    LettaClient::new(
        letta_admin::letta::http_client(),
        Connection {
            base_url: fake.url.clone(),
            password: Some(FakeLetta::PASSWORD.into()),
            timeout: Duration::from_secs(10),
        },
    )
}

/// (key, type, value) of a property as a form sends it.
type Prop<'a> = (&'a str, &'a str, &'a str);

/// The form fields of an identity input (as the browser's form encoding sends them).
fn identity_form(
    key: &str,
    name: &str,
    kind: &str,
    props: &[(&str, &str, &str)],
) -> Vec<(String, String)> {
    let mut f = vec![
        ("input[identifier_key]".to_string(), key.to_string()),
        ("input[name]".to_string(), name.to_string()),
        ("input[identity_type]".to_string(), kind.to_string()),
    ];
    for (i, (k, t, v)) in props.iter().enumerate() {
        f.push((format!("input[properties][{i}][key]"), k.to_string()));
        f.push((format!("input[properties][{i}][kind]"), t.to_string()));
        f.push((format!("input[properties][{i}][value]"), v.to_string()));
    }
    f
}

async fn call(
    app: &TestApp,
    c: &reqwest::Client,
    endpoint: &str,
    form: &[(String, String)],
) -> common::Answer {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call(c, endpoint, &pairs).await
}

async fn create(
    app: &TestApp,
    c: &reqwest::Client,
    key: &str,
    name: &str,
    props: &[(&str, &str, &str)],
) -> IdentitySaved {
    let a = call(
        app,
        c,
        "operator/identities/create",
        &identity_form(key, name, "user", props),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

async fn detail(app: &TestApp, c: &reqwest::Client, id: &str) -> IdentityDetail {
    let a = app.call(c, "operator/identities/get", &[("id", id)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

async fn list(app: &TestApp, c: &reqwest::Client, pairs: &[(&str, &str)]) -> common::Answer {
    let mut form: Vec<(String, String)> = vec![
        ("query[name]".into(), String::new()),
        ("query[key]".into(), String::new()),
        ("query[size]".into(), "0".into()),
    ];
    for (k, v) in pairs {
        form.retain(|(f, _)| f != &format!("query[{k}]"));
        form.push((format!("query[{k}]"), v.to_string()));
    }
    call(app, c, "operator/identities/list", &form).await
}

fn names(p: &IdentityList) -> Vec<String> {
    p.rows.iter().map(|r| r.name.clone()).collect()
}

async fn actions(app: &TestApp) -> Vec<(String, String)> {
    app.audit_actions()
        .await
        .into_iter()
        .filter(|(_, a, _)| a.starts_with("identity."))
        .map(|(_, a, o)| (a, o))
        .collect()
}

const ENDPOINTS: &[&str] = &[
    "list",
    "get",
    "create",
    "upsert",
    "update",
    "set_properties",
    "delete",
    "agent_choices",
    "link_agent",
    "unlink_agent",
];

#[tokio::test]
async fn staff_get_403_and_anonymous_401_from_every_identity_function() {
    let (app, fake) = app_with_fake().await;
    let staff = app.signed_in("sam", Role::Staff).await;
    let anonymous = common::client();
    let form = identity_form("k", "n", "user", &[]);
    for e in ENDPOINTS {
        let endpoint = format!("operator/identities/{e}");
        let a = call(&app, &staff, &endpoint, &form).await;
        assert_eq!(a.status, 403, "{endpoint} as staff: {}", a.body);
        assert_eq!(a.error(), AppError::Forbidden);
        let a = call(&app, &anonymous, &endpoint, &form).await;
        assert_eq!(a.status, 401, "{endpoint} anonymous: {}", a.body);
    }
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.contains("identities")),
        "nothing reached Letta"
    );
}

#[tokio::test]
async fn create_checks_every_value_before_anything_is_sent() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let cases: &[(&[Prop], &str, &str)] = &[
        (
            &[("age", "number", "forty")],
            "properties.0.value",
            "not a number",
        ),
        (
            &[("ok", "string", "x"), ("prefs", "json", "{lang: fr}")],
            "properties.1.value",
            "not valid JSON",
        ),
        (
            &[("vip", "boolean", "yes")],
            "properties.0.value",
            "true or false",
        ),
        (
            &[("a", "string", "1"), ("a", "string", "2")],
            "properties.1.key",
            "used twice",
        ),
        (&[(" ", "string", "1")], "properties.0.key", "Enter a key"),
    ];
    for (props, field, text) in cases {
        let a = call(
            &app,
            &op,
            "operator/identities/create",
            &identity_form("ada", "Ada", "user", props),
        )
        .await;
        assert_eq!(a.status, 422, "{}", a.body);
        let msg = a.error().for_field(field);
        assert!(
            msg.as_deref().is_some_and(|m| m.contains(text)),
            "{field}: {msg:?} in {}",
            a.body
        );
    }
    for (key, name, kind, field) in [
        ("", "Ada", "user", "identifier_key"),
        ("ada", " ", "user", "name"),
        ("ada", "Ada", "robot", "identity_type"),
    ] {
        let a = call(
            &app,
            &op,
            "operator/identities/create",
            &identity_form(key, name, kind, &[]),
        )
        .await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.error().for_field(field).is_some(), "{field}: {}", a.body);
    }
    assert_eq!(fake.request_count("POST", "/v1/identities/"), 0);
}

#[tokio::test]
async fn create_with_typed_properties_and_read_them_back() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let saved = create(
        &app,
        &op,
        " ada@example.org ",
        " Ada Lovelace ",
        &[
            ("age", "number", "36"),
            ("ratio", "number", "0.5"),
            ("vip", "boolean", "true"),
            ("prefs", "json", r#"{"lang":"en"}"#),
            ("city", "string", "London"),
        ],
    )
    .await;
    assert!(saved.created);
    assert_eq!(saved.identifier_key, "ada@example.org", "trimmed");
    assert_eq!(saved.name, "Ada Lovelace");
    // Sent typed, not as text.
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/identities/")
        .and_then(|r| r.body)
        .unwrap();
    assert_eq!(sent["properties"][0]["value"], serde_json::json!(36));
    assert_eq!(sent["properties"][1]["value"], serde_json::json!(0.5));
    assert_eq!(sent["properties"][2]["value"], serde_json::json!(true));
    assert_eq!(
        sent["properties"][3]["value"],
        serde_json::json!({"lang": "en"})
    );

    let d = detail(&app, &op, &saved.id).await;
    assert_eq!(d.identity_type, IdentityKind::User);
    assert_eq!(
        d.properties[..3],
        [
            PropertyInput {
                key: "age".into(),
                kind: PropKind::Number,
                value: "36".into()
            },
            PropertyInput {
                key: "ratio".into(),
                kind: PropKind::Number,
                value: "0.5".into()
            },
            PropertyInput {
                key: "vip".into(),
                kind: PropKind::Boolean,
                value: "true".into()
            },
        ]
    );
    assert_eq!(d.properties[3].value, r#"{"lang":"en"}"#);
    assert_eq!(d.linked_person, None, "the persons hook is empty for now");
    assert_eq!(
        actions(&app).await,
        [("identity.create".into(), "ok".into())]
    );
}

#[tokio::test]
async fn a_duplicate_key_is_named_and_the_server_text_never_shown() {
    let (app, _fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    create(&app, &op, "ada", "Ada", &[]).await;
    let a = call(
        &app,
        &op,
        "operator/identities/create",
        &identity_form("ada", "Other Ada", "org", &[]),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(
        a.error().for_field("identifier_key").as_deref(),
        Some("An identity with key ada already exists.")
    );
    assert!(!a.body.contains(SECRET_MARKER), "{}", a.body);
    assert_eq!(
        actions(&app).await,
        [
            ("identity.create".into(), "ok".into()),
            ("identity.create".into(), "failed".into())
        ]
    );

    // Renaming another identity to that key says the same.
    let bob = create(&app, &op, "bob", "Bob", &[]).await;
    let a = app
        .call(
            &op,
            "operator/identities/update",
            &[
                ("id", bob.id.as_str()),
                ("details[identifier_key]", "ada"),
                ("details[name]", "Bob"),
                ("details[identity_type]", "user"),
            ],
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(
        a.error().for_field("identifier_key").as_deref(),
        Some("An identity with key ada already exists.")
    );
    assert!(!a.body.contains(SECRET_MARKER));
}

#[tokio::test]
async fn upsert_creates_a_new_key_then_updates_it_and_says_which() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let form = identity_form("carol", "Carol", "user", &[("team", "string", "blue")]);
    let a = call(&app, &op, "operator/identities/upsert", &form).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let first: IdentitySaved = a.json();
    assert!(first.created);
    // The server's PUT cannot create: the dashboard looked the key up and POSTed.
    assert_eq!(fake.request_count("PUT", "/v1/identities/"), 0);
    assert_eq!(fake.request_count("POST", "/v1/identities/"), 1);

    let form = identity_form("carol", "Carol C.", "org", &[("team", "string", "red")]);
    let a = call(&app, &op, "operator/identities/upsert", &form).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let second: IdentitySaved = a.json();
    assert!(!second.created);
    assert_eq!(second.id, first.id);
    assert_eq!(fake.request_count("PUT", "/v1/identities/"), 1);
    let d = detail(&app, &op, &first.id).await;
    assert_eq!(
        (d.name.as_str(), d.identity_type),
        ("Carol C.", IdentityKind::Org)
    );
    assert_eq!(d.properties[0].value, "red");
    assert_eq!(
        actions(&app).await,
        [
            ("identity.upsert".into(), "ok".into()),
            ("identity.upsert".into(), "ok".into())
        ]
    );
    let details: Vec<Option<String>> =
        letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'identity.upsert' ORDER BY id",
        )
        .fetch_all(pool)
        .await)
        .unwrap();
    assert!(details[0].as_deref().unwrap().starts_with("created"));
    assert!(details[1].as_deref().unwrap().starts_with("updated"));
}

#[tokio::test]
async fn saving_properties_replaces_them_so_a_removed_one_is_gone() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ada = create(
        &app,
        &op,
        "ada",
        "Ada",
        &[("age", "number", "36"), ("city", "string", "London")],
    )
    .await;
    // Change `age`, drop `city`.
    let a = app
        .call(
            &op,
            "operator/identities/set_properties",
            &[
                ("input[id]", ada.id.as_str()),
                ("input[properties][0][key]", "age"),
                ("input[properties][0][kind]", "number"),
                ("input[properties][0][value]", "37"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // PUT /properties (replace), never PATCH (which merges and would keep `city`).
    assert_eq!(fake.request_count("PUT", "/v1/identities/*"), 1);
    assert_eq!(fake.request_count("PATCH", "/v1/identities/*"), 0);
    let d = detail(&app, &op, &ada.id).await;
    assert_eq!(
        d.properties,
        [PropertyInput {
            key: "age".into(),
            kind: PropKind::Number,
            value: "37".into()
        }]
    );

    // Removing the last one leaves none (an empty list is not "no change").
    let a = app
        .call(
            &op,
            "operator/identities/set_properties",
            &[("input[id]", ada.id.as_str())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(detail(&app, &op, &ada.id).await.properties.is_empty());

    // A bad value is refused beside its row, before anything is sent.
    let a = app
        .call(
            &op,
            "operator/identities/set_properties",
            &[
                ("input[id]", ada.id.as_str()),
                ("input[properties][0][key]", "n"),
                ("input[properties][0][kind]", "number"),
                ("input[properties][0][value]", "1.2.3"),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.error().for_field("properties.0.value").is_some());
    assert_eq!(fake.request_count("PUT", "/v1/identities/*"), 2);
    let audit: Vec<Option<String>> =
        letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'identity.properties' ORDER BY id",
        )
        .fetch_all(pool)
        .await)
        .unwrap();
    assert_eq!(audit[0].as_deref(), Some("1 properties; removed city"));
}

#[tokio::test]
async fn editing_details_changes_key_name_and_type() {
    let (app, _fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ada = create(&app, &op, "ada", "Ada", &[("age", "number", "36")]).await;
    let a = app
        .call(
            &op,
            "operator/identities/update",
            &[
                ("id", ada.id.as_str()),
                ("details[identifier_key]", "ada-l"),
                ("details[name]", "Ada L."),
                ("details[identity_type]", "other"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = detail(&app, &op, &ada.id).await;
    assert_eq!(
        (d.identifier_key.as_str(), d.name.as_str(), d.identity_type),
        ("ada-l", "Ada L.", IdentityKind::Other)
    );
    assert_eq!(d.properties.len(), 1, "properties untouched");
    let a = app
        .call(
            &op,
            "operator/identities/update",
            &[
                ("id", ada.id.as_str()),
                ("details[identifier_key]", ""),
                ("details[name]", "Ada"),
                ("details[identity_type]", "user"),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.error().for_field("identifier_key").is_some());
}

#[tokio::test]
async fn list_filters_counts_and_pages_both_ways() {
    let (app, _fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let empty: IdentityList = list(&app, &op, &[]).await.json();
    assert_eq!((empty.total, empty.rows.len()), (0, 0));
    for n in 1..=12 {
        create(
            &app,
            &op,
            &format!("key-{n}"),
            &format!("Person {n:02}"),
            &[],
        )
        .await;
    }
    // The newest first; 10 a page; the total.
    let first: IdentityList = list(&app, &op, &[("size", "10")]).await.json();
    assert_eq!(first.total, 12);
    assert_eq!(first.matching, None);
    assert_eq!(first.rows.len(), 10);
    assert_eq!(first.rows[0].name, "Person 12");
    assert_eq!(first.newer, None);
    let older = first.older.clone().expect("a next page");
    let second: IdentityList = list(&app, &op, &[("size", "10"), ("after", &older)])
        .await
        .json();
    assert_eq!(names(&second), ["Person 02", "Person 01"]);
    assert_eq!(second.older, None);
    // Back again: the page right before, not the newest ones.
    let newer = second.newer.clone().expect("a previous page");
    let back: IdentityList = list(&app, &op, &[("size", "10"), ("before", &newer)])
        .await
        .json();
    assert_eq!(names(&back), names(&first));
    assert_eq!(back.newer, None, "this is the first page again");
    assert_eq!(back.older, first.older);
    // A page in the middle, both ways.
    let p3: IdentityList = list(&app, &op, &[("size", "10"), ("after", &first.rows[0].id)])
        .await
        .json();
    assert_eq!(p3.rows[0].name, "Person 11");
    let up: IdentityList = list(&app, &op, &[("size", "10"), ("before", &p3.rows[0].id)])
        .await
        .json();
    assert_eq!(names(&up), ["Person 12"]);
    assert!(up.older.is_some() && up.newer.is_none());

    // An unknown size is the default (25).
    let all: IdentityList = list(&app, &op, &[("size", "7")]).await.json();
    assert_eq!(all.rows.len(), 12);

    // Name: case-insensitive substring; the count says how many match.
    let by_name: IdentityList = list(&app, &op, &[("name", "person 1")]).await.json();
    assert_eq!(names(&by_name), ["Person 12", "Person 11", "Person 10"]);
    assert_eq!((by_name.matching, by_name.total), (Some(3), 12));
    // Key: exact.
    let by_key: IdentityList = list(&app, &op, &[("key", "key-1")]).await.json();
    assert_eq!(names(&by_key), ["Person 01"]);
    assert_eq!(by_key.matching, Some(1));
    // Type.
    let orgs: IdentityList = list(&app, &op, &[("identity_type", "org")]).await.json();
    assert!(orgs.rows.is_empty());
    assert_eq!(orgs.matching, Some(0));
    let users: IdentityList = list(
        &app,
        &op,
        &[("identity_type", "user"), ("name", "PERSON 0")],
    )
    .await
    .json();
    assert_eq!(users.matching, Some(9));
}

#[tokio::test]
async fn a_cursor_whose_identity_was_deleted_says_to_start_again() {
    let (app, _fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let gone = create(&app, &op, "gone", "Gone", &[]).await;
    let a = app
        .call(
            &op,
            "operator/identities/delete",
            &[("id", gone.id.as_str())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = list(&app, &op, &[("after", &gone.id)]).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.error().to_string().contains("first page"), "{}", a.body);
    assert!(!a.body.contains(SECRET_MARKER));
}

#[tokio::test]
async fn detail_shows_real_links_and_agents_can_be_linked_and_unlinked() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ada = create(&app, &op, "ada", "Ada", &[]).await;
    let letta = direct(&fake);
    let agent = letta
        .agents()
        .create(&CreateAgentRequest {
            name: Some("Helper Bot".into()),
            model: Some("openai-proxy/fake-model".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let block = letta
        .blocks()
        .create(&CreateBlock::new("human", "Ada likes\n  tea"))
        .await
        .unwrap();
    letta
        .blocks()
        .attach_identity(&block.id, &ada.id)
        .await
        .unwrap();

    // Search by a piece of the name, any case.
    let a = app
        .call(
            &op,
            "operator/identities/agent_choices",
            &[("id", ada.id.as_str()), ("search", "helper")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let choices: Vec<AgentChoice> = a.json();
    assert_eq!(
        choices,
        [AgentChoice {
            id: agent.id.clone(),
            name: "Helper Bot".into(),
            linked: false
        }]
    );

    let a = app
        .call(
            &op,
            "operator/identities/link_agent",
            &[("id", ada.id.as_str()), ("agent_id", agent.id.as_str())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = detail(&app, &op, &ada.id).await;
    assert_eq!(
        d.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["Helper Bot"]
    );
    assert_eq!(d.blocks.len(), 1);
    assert_eq!(d.blocks[0].label, "human");
    assert_eq!(d.blocks[0].preview, "Ada likes tea");
    let choices: Vec<AgentChoice> = app
        .call(
            &op,
            "operator/identities/agent_choices",
            &[("id", ada.id.as_str()), ("search", "")],
        )
        .await
        .json();
    assert!(choices[0].linked);

    let a = app
        .call(
            &op,
            "operator/identities/unlink_agent",
            &[("id", ada.id.as_str()), ("agent_id", agent.id.as_str())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(detail(&app, &op, &ada.id).await.agents.is_empty());

    // A missing agent is a plain message.
    let a = app
        .call(
            &op,
            "operator/identities/link_agent",
            &[
                ("id", ada.id.as_str()),
                ("agent_id", "agent-00000000-0000-4000-8000-000000000000"),
            ],
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(!a.body.contains(SECRET_MARKER));
    let a = app
        .call(
            &op,
            "operator/identities/link_agent",
            &[("id", ada.id.as_str()), ("agent_id", "")],
        )
        .await;
    assert!(a.error().for_field("agent_id").is_some());
    assert_eq!(
        actions(&app).await,
        [
            ("identity.create".into(), "ok".into()),
            ("identity.link_agent".into(), "ok".into()),
            ("identity.unlink_agent".into(), "ok".into()),
            ("identity.link_agent".into(), "failed".into()),
        ]
    );
}

#[tokio::test]
async fn delete_removes_the_identity_and_its_links_and_is_audited() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ada = create(&app, &op, "ada", "Ada", &[]).await;
    let letta = direct(&fake);
    let agent = letta
        .agents()
        .create(&CreateAgentRequest {
            name: Some("A".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    letta
        .agents()
        .attach_identity(&agent.id, &ada.id)
        .await
        .unwrap();
    let a = app
        .call(
            &op,
            "operator/identities/delete",
            &[("id", ada.id.as_str())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(fake.identity_ids().is_empty());
    assert!(fake.agent_ids().contains(&agent.id), "the agent stays");
    let a = app
        .call(&op, "operator/identities/get", &[("id", ada.id.as_str())])
        .await;
    assert_eq!(a.status, 404);
    assert!(a.error().to_string().contains("does not exist"));
    assert!(!a.body.contains(SECRET_MARKER));
    let detail: Option<String> = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'identity.delete'"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert!(detail.unwrap().contains("unlinked 1 agents, 0 blocks"));
}

#[tokio::test]
async fn malformed_ids_never_reach_letta() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    for id in ["", "agent-1", "identity-../../v1/agents/", "x"] {
        let a = app
            .call(&op, "operator/identities/get", &[("id", id)])
            .await;
        assert_eq!(a.status, 404, "{id}: {}", a.body);
    }
    assert_eq!(fake.requests().len(), 0);
}

#[tokio::test]
async fn letta_failures_become_short_safe_messages() {
    let (app, fake) = app_with_fake().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ada = create(&app, &op, "ada", "Ada", &[]).await;

    fake.fault("*", "/v1/identities/*", Fault::server_error());
    let a = list(&app, &op, &[]).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(matches!(a.error(), AppError::Upstream(_)));
    assert!(!a.body.contains(SECRET_MARKER), "{}", a.body);
    let a = call(
        &app,
        &op,
        "operator/identities/create",
        &identity_form("bob", "Bob", "user", &[]),
    )
    .await;
    assert_eq!(a.status, 502);
    assert!(!a.body.contains(SECRET_MARKER));
    fake.clear_faults();

    fake.fault("*", "/v1/identities/*", Fault::unauthorized());
    let a = app
        .call(&op, "operator/identities/get", &[("id", ada.id.as_str())])
        .await;
    assert_eq!(a.status, 502);
    assert!(a.error().to_string().contains("password"), "{}", a.body);
    assert!(!a.body.contains(SECRET_MARKER));
    fake.clear_faults();

    fake.fault("*", "/v1/identities/*", Fault::validation_repr());
    let a = call(
        &app,
        &op,
        "operator/identities/upsert",
        &identity_form("bob", "Bob", "user", &[]),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(!a.body.contains(SECRET_MARKER), "{}", a.body);
    fake.clear_faults();

    fake.fault("*", "/v1/identities/*", Fault::MalformedJson);
    let a = app
        .call(&op, "operator/identities/get", &[("id", ada.id.as_str())])
        .await;
    assert_eq!(a.status, 502);
    assert!(!a.body.contains(SECRET_MARKER));
    fake.clear_faults();

    // Failed writes are in the audit log too.
    assert!(actions(&app)
        .await
        .iter()
        .any(|(a, o)| a == "identity.create" && o == "failed"));
}

#[tokio::test]
async fn without_a_letta_server_the_page_says_to_configure_one() {
    let app = common::spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let a = list(&app, &op, &[]).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(
        a.error().to_string().contains("not configured"),
        "{}",
        a.body
    );
}
