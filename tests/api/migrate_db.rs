//! `letta-admin migrate-db`: a SQLite dashboard filled through the app moves to a real
//! Postgres, and a dashboard started there is the same dashboard. Needs a Postgres server:
//! `TEST_POSTGRES_URL` (scripts/test.sh passes its throwaway cluster's and sets
//! `POSTGRES_REQUIRED=1`, which makes a missing server a failure, not a skip).
use crate::common;

use common::{fake_letta::FakeLetta, spawn_app_with, TestApp, PASSWORD};
use letta_admin::{
    auth::Role,
    features::{
        persona::api::{PersonaState, SaveOutcome},
        persons::api::{CreateOutcome, ImportRow, PersonsPage},
        settings::api::ConnectionReport,
    },
};

fn postgres() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "POSTGRES_REQUIRED=1 but TEST_POSTGRES_URL is not set"
            );
            eprintln!("SKIPPED: no Postgres (set TEST_POSTGRES_URL)");
            None
        }
    }
}

/// A dashboard on a SQLite file of its own (whatever `TEST_DATABASE` says).
async fn sqlite_app() -> TestApp {
    spawn_app_with(|c| {
        c.database_url = format!(
            "sqlite://{}?mode=rwc",
            c.data_dir.join("letta-admin.db").display()
        )
    })
    .await
}

/// A dashboard on `url`, with the secret key of the dashboard `from`.
async fn postgres_app(url: &str, from: &TestApp) -> TestApp {
    let key = from.state.config.data_dir.join("secret.key");
    let url = url.to_string();
    spawn_app_with(move |c| {
        c.database_url = url;
        c.secret_key_file = Some(key);
    })
    .await
}

async fn login(app: &TestApp, username: &str) -> reqwest::Client {
    let c = common::client();
    let a = app
        .call(
            &c,
            "public/login",
            &[("username", username), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 200, "{username}: {}", a.body);
    c
}

async fn persons_rows(app: &TestApp) -> Vec<(String, String, Option<String>, Option<String>)> {
    letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_as(
        "SELECT username, display_name, identity_id, block_id FROM persons ORDER BY username"
    )
    .fetch_all(pool)
    .await)
    .unwrap()
}

async fn migrate(app: &TestApp, url: &str, replace: bool) -> Result<(), String> {
    letta_admin::migrate_db::run(&app.state.config, url, replace)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_sqlite_dashboard_moves_to_postgres_whole_and_works_there() {
    let Some(admin_url) = postgres() else { return };
    let target = common::new_postgres_database(&admin_url).await;
    let fake = FakeLetta::start().await;
    let src = sqlite_app().await;

    // Filled through the app: users of each role, the Letta connection, 1,000 persons, a
    // persona edit, and the audit entries all of that writes.
    let admin = src.signed_in("ada", Role::Admin).await;
    let op = src.signed_in("olga", Role::Operator).await;
    let staff = src.signed_in("sam", Role::Staff).await;
    src.connect_to_fake(&op, &fake, "5").await;
    let mut csv = String::from("username,display_name,notes\n");
    for i in 0..1000 {
        csv.push_str(&format!("p{i:04},Person {i},note {i}\n"));
    }
    let report: Vec<ImportRow> = src
        .call(&op, "operator/persons/import", &[("csv", &csv)])
        .await
        .json();
    assert!(
        report.iter().all(|r| r.outcome == "created"),
        "{:?}",
        report.iter().find(|r| r.outcome != "created")
    );
    let p = letta_admin::db::persons::by_username(&src.state.db, "p0007")
        .await
        .unwrap()
        .unwrap();
    let state: PersonaState = src
        .call(
            &op,
            "staff/persona/get",
            &[("person_id", &p.id.to_string())],
        )
        .await
        .json();
    let edited = r#"{"name":"Person 7","preferences":{"tea":"green"}}"#;
    let saved = src
        .call(
            &op,
            "operator/persona/save",
            &[
                ("save[person_id]", &p.id.to_string()),
                ("save[base]", &state.value),
                ("save[value]", edited),
                ("save[limit]", ""),
            ],
        )
        .await;
    assert!(
        matches!(saved.json(), SaveOutcome::Saved(_)),
        "{}",
        saved.body
    );
    let history_before = src
        .call(
            &op,
            "staff/persona/history",
            &[("person_id", &p.id.to_string())],
        )
        .await;
    assert_eq!(history_before.status, 200);
    // A chat turn, for the ledger.
    let agent = fake.add_agent("Tester");
    let turn = staff
        .post(src.url("/api/staff/chat/send"))
        .form(&[
            ("send[agent_id]", agent.as_str()),
            ("send[person_id]", p.id.to_string().as_str()),
            ("send[text]", "hello"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(turn.status(), 200);
    let streamed = turn.text().await.unwrap();
    assert!(fake.attached_blocks(&agent).is_empty(), "{streamed}");
    let ledger = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            letta_admin::db::ledger::page(
                &db,
                &letta_admin::db::ledger::TurnQuery {
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let ledger_before = ledger(&src).await;
    assert_eq!(ledger_before.len(), 1);
    assert_eq!(
        ledger_before[0].outcome.as_deref(),
        Some("complete"),
        "{streamed}"
    );
    let persons_before = persons_rows(&src).await;
    let audit_before = src.audit_actions().await;

    // Refused while that dashboard runs on the file.
    let e = migrate(&src, &target, false).await.unwrap_err();
    assert!(e.contains("a dashboard is using"), "{e}");
    src.state.instance.stop().await;

    // Refused while the chat journal holds a row (a block that may still be attached).
    src.exec_sql(
        "INSERT INTO chat_attachments (turn_id, agent_id, block_id, person_id, started_at, \
         instance_id) VALUES ('t-1', 'agent-1', 'block-1', 1, 0, 'gone')",
        "",
    )
    .await;
    let e = migrate(&src, &target, false).await.unwrap_err();
    assert!(e.contains("chat journal holds 1 row"), "{e}");
    src.exec_sql("DELETE FROM chat_attachments", "").await;

    // Refused with a key that does not open the stored Letta password.
    let mut wrong_key = (*src.state.config).clone();
    wrong_key.secret_key_file = None;
    wrong_key.secret_key_hex = Some("ab".repeat(32).into());
    let e = letta_admin::migrate_db::run(&wrong_key, &target, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not decrypt"), "{e}");

    // Refused: not a Postgres URL.
    let e = migrate(&src, "sqlite:///tmp/x.db", false)
        .await
        .unwrap_err();
    assert!(e.contains("Postgres URL"), "{e}");

    migrate(&src, &target, false).await.unwrap();

    // A dashboard on the target, with the same key, is the same dashboard.
    let dst = postgres_app(&target, &src).await;
    assert_eq!(persons_rows(&dst).await, persons_before);
    assert_eq!(dst.audit_actions().await, audit_before);
    assert_eq!(ledger(&dst).await, ledger_before);
    // Sessions stayed behind: the SQLite dashboard's cookie (same host) signs no one in.
    assert_eq!(dst.call(&admin, "public/me", &[]).await.body, "null");
    for user in ["ada", "olga", "sam"] {
        login(&dst, user).await;
    }
    let op2 = login(&dst, "olga").await;
    let page: PersonsPage = dst
        .call(&op2, "staff/persons/list", &[("query[search]", "p0007")])
        .await
        .json();
    assert_eq!(page.total, 1000);
    assert_eq!(page.persons.len(), 1);
    assert_eq!(page.persons[0].username, "p0007");
    let history_after = dst
        .call(
            &op2,
            "staff/persona/history",
            &[("person_id", &p.id.to_string())],
        )
        .await;
    assert_eq!(history_after.body, history_before.body);
    assert!(history_after.body.contains("tea"), "{}", history_after.body);
    // The Letta password moved encrypted and still opens with the same key.
    let tested = dst
        .call(
            &op2,
            "operator/settings/test",
            &[
                ("form[base_url]", fake.url.as_str()),
                ("form[password]", ""),
                ("form[timeout_secs]", "5"),
            ],
        )
        .await;
    let report: ConnectionReport = tested.json();
    assert_eq!(report.outcome, "connected", "{report:?}");
    // The sequences moved past the copied ids: a new person gets a new id.
    let created = dst
        .call(
            &op2,
            "operator/persons/create",
            &[
                ("form[username]", "newcomer"),
                ("form[display_name]", "New"),
                ("form[limit]", ""),
            ],
        )
        .await;
    let CreateOutcome::Created(newcomer) = created.json() else {
        panic!("{}", created.body)
    };
    assert!(newcomer.id > persons_before.len() as i64, "{}", newcomer.id);

    // A second move is refused while a dashboard runs on the target, and then because the
    // target holds data.
    let e = migrate(&src, &target, true).await.unwrap_err();
    assert!(e.contains("a dashboard is running on"), "{e}");
    dst.state.instance.stop().await;
    let e = migrate(&src, &target, false).await.unwrap_err();
    assert!(e.contains("already holds dashboard data"), "{e}");
    assert!(e.contains("persons 1001"), "{e}");
    // --replace puts the SQLite database's rows in place of the target's (the new person
    // goes) and ends the target's sessions.
    migrate(&src, &target, true).await.unwrap();
    assert_eq!(persons_rows(&dst).await, persons_before);
    assert_eq!(dst.call(&op2, "public/me", &[]).await.body, "null");
}

#[tokio::test]
async fn a_postgres_dashboard_is_not_a_source() {
    let Some(admin_url) = postgres() else { return };
    let url = common::new_postgres_database(&admin_url).await;
    let mut config = letta_admin::config::Config::for_dir(std::path::Path::new("/nonexistent"));
    config.database_url = url.clone();
    let e = letta_admin::migrate_db::run(&config, &url, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("already names a Postgres database"), "{e}");
}
