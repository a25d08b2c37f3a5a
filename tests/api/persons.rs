//! Persons over HTTP against the app, with the in-process fake Letta (faults at every step).
use crate::common;

use common::{
    fake_letta::{FakeLetta, Fault},
    spawn_app, Answer, TestApp,
};
use letta_admin::{
    auth::Role,
    features::persons::api::{CreateOutcome, ImportRow, PersonDetail, PersonsPage},
};

async fn connected_app() -> (TestApp, FakeLetta, reqwest::Client) {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    (app, fake, op)
}

async fn create(app: &TestApp, c: &reqwest::Client, username: &str) -> Answer {
    app.call(
        c,
        "operator/persons/create",
        &[
            ("form[username]", username),
            ("form[display_name]", "Ada Lovelace"),
            ("form[notes]", "first"),
        ],
    )
    .await
}

async fn local_rows(app: &TestApp) -> (i64, i64, i64) {
    let count = |sql: &'static str| async move {
        letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await)
        .unwrap()
    };
    (
        count("SELECT COUNT(*) FROM persons").await,
        count("SELECT COUNT(*) FROM block_history WHERE person_id IS NOT NULL").await,
        count("SELECT COUNT(*) FROM saga_steps").await,
    )
}

#[tokio::test]
async fn creating_a_person_creates_identity_block_and_link() {
    let (app, fake, op) = connected_app().await;
    let a = create(&app, &op, "ada").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let CreateOutcome::Created(summary) = a.json() else {
        panic!("{}", a.body)
    };
    let p: PersonDetail = app
        .call(&op, "staff/persons/get", &[("id", &summary.id.to_string())])
        .await
        .json();
    let block_id = p.block_id.clone().unwrap();
    let identity_id = p.identity_id.clone().unwrap();
    let block = fake.block(&block_id).expect("the block exists in Letta");
    assert_eq!(block["label"], "Persona_ada");
    assert_eq!(block["limit"], 5000);
    let value: serde_json::Value = serde_json::from_str(block["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"name": "Ada Lovelace", "preferences": {}, "conversation_history": []})
    );
    assert_eq!(fake.block_identities(&block_id), vec![identity_id.clone()]);
    assert_eq!(fake.identity_ids(), vec![identity_id]);
    assert_eq!(local_rows(&app).await, (1, 1, 0));
    assert_eq!(p.health, "ok");

    // The same username again: refused beside the field.
    let again = create(&app, &op, "ada").await;
    assert_eq!(
        again.error().for_field("username").as_deref(),
        Some("A person named ada already exists.")
    );
    let bad = create(&app, &op, "Ada Lovelace").await;
    assert!(bad.error().for_field("username").is_some());
}

#[tokio::test]
async fn a_failure_at_any_step_leaves_nothing_behind() {
    let (app, fake, op) = connected_app().await;
    for (method, path, step) in [
        ("POST", "/v1/identities/", "creating the identity"),
        ("POST", "/v1/blocks/", "creating the persona block"),
        ("PATCH", "/v1/blocks/*", "linking the block to the identity"),
    ] {
        fake.clear_faults();
        fake.fault(method, path, Fault::server_error());
        let a = create(&app, &op, "grace").await;
        let msg = a.error().to_string();
        assert!(
            msg.contains(step) && msg.contains("Nothing was left behind."),
            "{step}: {msg}"
        );
        assert!(!msg.contains("SELECT"), "{msg}");
        assert!(fake.identity_ids().is_empty(), "{step}: identity left");
        assert!(fake.block_ids().is_empty(), "{step}: block left");
        assert_eq!(local_rows(&app).await, (0, 0, 0), "{step}");
    }
    fake.clear_faults();

    // The local insert fails (a real database error), after every Letta step succeeded.
    app.exec_sql(
        "CREATE TRIGGER no_persons BEFORE INSERT ON persons BEGIN SELECT RAISE(ABORT, 'boom'); END",
        "CREATE FUNCTION no_persons() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'boom'; END $$; \
         CREATE TRIGGER no_persons BEFORE INSERT ON persons FOR EACH ROW EXECUTE FUNCTION no_persons()",
    )
    .await;
    let a = create(&app, &op, "grace").await;
    assert!(
        a.error().to_string().contains("saving the person"),
        "{}",
        a.body
    );
    assert!(fake.identity_ids().is_empty() && fake.block_ids().is_empty());
    assert_eq!(local_rows(&app).await, (0, 0, 0));
    app.exec_sql(
        "DROP TRIGGER no_persons",
        "DROP TRIGGER no_persons ON persons",
    )
    .await;

    // And afterwards it works.
    assert_eq!(create(&app, &op, "grace").await.status, 200);
    let failed = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| a.1 == "person.create" && a.2 == "failed")
        .count();
    assert_eq!(failed, 4);
}

#[tokio::test]
async fn an_existing_identity_is_offered_for_adoption_not_duplicated() {
    let (app, fake, op) = connected_app().await;
    let client = app.state.letta.client().unwrap();
    let identity = client
        .identities()
        .create(&letta_admin::letta::IdentityCreate {
            identifier_key: "linus".into(),
            name: "Linus".into(),
            identity_type: letta_admin::letta::IdentityType::User,
            properties: None,
        })
        .await
        .unwrap();
    let a = create(&app, &op, "linus").await;
    match a.json::<CreateOutcome>() {
        CreateOutcome::Adoptable { identity_id, .. } => assert_eq!(identity_id, identity.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.identity_ids().len(), 1, "nothing duplicated");
    let adopted = app
        .call(
            &op,
            "operator/persons/adopt",
            &[("username", "linus"), ("notes", "")],
        )
        .await;
    assert_eq!(adopted.status, 200, "{}", adopted.body);
    let p = letta_admin::db::persons::by_username(&app.state.db, "linus")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.identity_id.as_deref(), Some(identity.id.as_str()));
    assert_eq!(p.display_name, "Linus");
    let block_id = p.block_id.unwrap();
    assert_eq!(fake.block_identities(&block_id), vec![identity.id.clone()]);

    // A second adoption of the same identity is refused.
    let again = app
        .call(
            &op,
            "operator/persons/adopt",
            &[("username", "linus"), ("notes", "")],
        )
        .await;
    assert_ne!(again.status, 200);
}

#[tokio::test]
async fn verify_finds_drift_and_repair_mends_it() {
    let (app, fake, op) = connected_app().await;
    let CreateOutcome::Created(s) = create(&app, &op, "ada").await.json() else {
        panic!()
    };
    let id = s.id.to_string();
    let detail = |a: Answer| a.json::<PersonDetail>();
    let client = app.state.letta.client().unwrap();
    let p = detail(app.call(&op, "staff/persons/get", &[("id", &id)]).await);
    let (block_id, identity_id) = (p.block_id.unwrap(), p.identity_id.unwrap());

    // Unlinked → relink.
    client
        .blocks()
        .detach_identity(&block_id, &identity_id)
        .await
        .unwrap();
    let v = detail(
        app.call(&op, "operator/persons/verify", &[("id", &id)])
            .await,
    );
    assert_eq!(v.health, "unlinked");
    let r = detail(
        app.call(
            &op,
            "operator/persons/repair",
            &[("id", &id), ("action", "Relink")],
        )
        .await,
    );
    assert_eq!(r.health, "ok");

    // The agent rewrote the block: the verify keeps the observed value in the history.
    client
        .blocks()
        .update(
            &block_id,
            &letta_admin::letta::BlockUpdate {
                value: Some("prose about Ada".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        detail(
            app.call(&op, "operator/persons/verify", &[("id", &id)])
                .await
        )
        .health,
        "ok"
    );

    // Block gone → recreate from the last known value.
    client.blocks().delete(&block_id).await.unwrap();
    assert_eq!(
        detail(
            app.call(&op, "operator/persons/verify", &[("id", &id)])
                .await
        )
        .health,
        "block_missing"
    );
    let r = detail(
        app.call(
            &op,
            "operator/persons/repair",
            &[("id", &id), ("action", "RecreateBlock")],
        )
        .await,
    );
    assert_eq!(r.health, "ok");
    let new_block = r.block_id.unwrap();
    assert_ne!(new_block, block_id);
    assert_eq!(fake.block(&new_block).unwrap()["value"], "prose about Ada");

    // Identity gone → recreate it and link the block again.
    client.identities().delete(&identity_id).await.unwrap();
    assert_eq!(
        detail(
            app.call(&op, "operator/persons/verify", &[("id", &id)])
                .await
        )
        .health,
        "identity_missing"
    );
    let r = detail(
        app.call(
            &op,
            "operator/persons/repair",
            &[("id", &id), ("action", "RecreateIdentity")],
        )
        .await,
    );
    assert_eq!(r.health, "ok");
    assert_eq!(
        fake.block_identities(&new_block),
        vec![r.identity_id.unwrap()]
    );
}

#[tokio::test]
async fn verify_all_runs_in_the_background_and_reports_problems() {
    let (app, _fake, op) = connected_app().await;
    for name in ["a1", "a2", "a3"] {
        assert_eq!(create(&app, &op, name).await.status, 200);
    }
    let p = letta_admin::db::persons::by_username(&app.state.db, "a2")
        .await
        .unwrap()
        .unwrap();
    app.state
        .letta
        .client()
        .unwrap()
        .blocks()
        .delete(p.block_id.as_deref().unwrap())
        .await
        .unwrap();
    let started = app.call(&op, "operator/persons/verify_all", &[]).await;
    assert_eq!(started.status, 200);
    let mut progress = letta_admin::features::persons::api::VerifyProgress::default();
    for _ in 0..100 {
        progress = app
            .call(&op, "operator/persons/verify_progress", &[])
            .await
            .json();
        if !progress.running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!progress.running);
    assert_eq!((progress.total, progress.done), (3, 3));
    assert_eq!(progress.problems.len(), 1);
    assert_eq!(
        (
            progress.problems[0].0.as_str(),
            progress.problems[0].1.as_str()
        ),
        ("a2", "block_missing")
    );
}

#[tokio::test]
async fn verify_all_is_one_pass_that_every_instance_shows() {
    let (a, fake, op) = connected_app().await;
    for name in ["v1", "v2", "v3"] {
        assert_eq!(create(&a, &op, name).await.status, 200);
    }
    let (dir, db) = (
        a.state.config.data_dir.clone(),
        a.state.config.database_url.clone(),
    );
    let b = common::spawn_app_with(move |c| {
        c.data_dir = dir;
        c.database_url = db;
    })
    .await;
    let op_b = b.signed_in("otto", Role::Operator).await;
    // Each block read takes a while: the pass is still running when B looks.
    fake.fault_times(
        "GET",
        "/v1/blocks/*",
        common::fake_letta::Fault::Sleep(std::time::Duration::from_millis(400)),
        3,
    );
    assert_eq!(
        a.call(&op, "operator/persons/verify_all", &[]).await.status,
        200
    );
    let seen: letta_admin::features::persons::api::VerifyProgress = b
        .call(&op_b, "operator/persons/verify_progress", &[])
        .await
        .json();
    assert!(seen.running && seen.total == 3, "{seen:?}");
    // Asked through B meanwhile: the same pass, not a second one.
    let again: letta_admin::features::persons::api::VerifyProgress = b
        .call(&op_b, "operator/persons/verify_all", &[])
        .await
        .json();
    assert!(
        again.running && again.started_at == seen.started_at,
        "{again:?}"
    );
    let mut progress = seen;
    for _ in 0..200 {
        progress = b
            .call(&op_b, "operator/persons/verify_progress", &[])
            .await
            .json();
        if !progress.running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (progress.running, progress.done),
        (false, 3),
        "{progress:?}"
    );
    let passes = a
        .audit_actions()
        .await
        .into_iter()
        .filter(|(_, action, _)| action == "person.verify_all")
        .count();
    assert_eq!(passes, 1);
}

#[tokio::test]
async fn delete_removes_in_letta_or_only_unlinks_locally() {
    let (app, fake, op) = connected_app().await;
    let CreateOutcome::Created(a) = create(&app, &op, "ada").await.json() else {
        panic!()
    };
    let CreateOutcome::Created(b) = create(&app, &op, "bob").await.json() else {
        panic!()
    };
    assert_eq!(fake.block_ids().len(), 2);
    let r = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &a.id.to_string()), ("keep_in_letta", "false")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(fake.block_ids().len(), 1);
    assert_eq!(fake.identity_ids().len(), 1);
    let r = app
        .call(
            &op,
            "operator/persons/delete",
            &[("id", &b.id.to_string()), ("keep_in_letta", "true")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(fake.block_ids().len(), 1, "kept in Letta");
    assert_eq!(local_rows(&app).await.0, 0);
    // The list's total is a counter kept by triggers: it follows creates and deletes.
    let page: PersonsPage = app
        .call(&op, "staff/persons/list", &[("query[search]", "")])
        .await
        .json();
    assert_eq!(page.total, 0);
    create(&app, &op, "cy").await;
    let page: PersonsPage = app
        .call(&op, "staff/persons/list", &[("query[search]", "")])
        .await
        .json();
    assert_eq!((page.total, page.persons.len()), (1, 1));
}

#[tokio::test]
async fn staff_can_read_but_not_change() {
    let (app, _fake, op) = connected_app().await;
    assert_eq!(create(&app, &op, "ada").await.status, 200);
    let staff = app.signed_in("sam", Role::Staff).await;
    let page: PersonsPage = app
        .call(&staff, "staff/persons/list", &[("query[search]", "")])
        .await
        .json();
    assert_eq!(page.persons.len(), 1);
    assert_eq!(create(&app, &staff, "eve").await.status, 403);
    let csv = staff
        .get(app.url("/api/staff/persons/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("ada,Ada Lovelace,first"));
    let anon = common::client()
        .get(app.url("/api/staff/persons/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}

#[tokio::test]
async fn csv_import_is_idempotent_with_a_report_per_row() {
    let (app, _fake, op) = connected_app().await;
    let csv =
        "username,display_name,notes\nada,Ada,\"likes \"\"engines\"\"\"\nbob,Bob,\nBad Name,X,\n";
    let report: Vec<ImportRow> = app
        .call(&op, "operator/persons/import", &[("csv", csv)])
        .await
        .json();
    let outcomes: Vec<_> = report
        .iter()
        .map(|r| (r.username.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("ada", "created"),
            ("bob", "created"),
            ("bad name", "failed")
        ]
    );
    assert!(report[2].message.contains("1–42"));
    let again: Vec<ImportRow> = app
        .call(&op, "operator/persons/import", &[("csv", csv)])
        .await
        .json();
    assert_eq!(again[0].outcome, "skipped");
    assert_eq!(again[1].outcome, "skipped");
    let ada = letta_admin::db::persons::by_username(&app.state.db, "ada")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.notes, "likes \"engines\"");
}

#[tokio::test]
async fn the_export_neutralizes_formulas_and_imports_back_to_the_same_values() {
    let (app, _fake, op) = connected_app().await;
    let people = [
        ("ada", "=HYPERLINK(\"http://evil.test\",\"click\")", "+1+2"),
        ("bob", "-2+3 Bob", "@SUM(A1:A9)"),
        ("cleo", "'Cleo", "'=quoted already"),
        ("dan", "Dan", "plain = text"),
    ];
    for (username, display_name, notes) in people {
        let a = app
            .call(
                &op,
                "operator/persons/create",
                &[
                    ("form[username]", username),
                    ("form[display_name]", display_name),
                    ("form[notes]", notes),
                ],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let csv = op
        .get(app.url("/api/staff/persons/export.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // No cell a spreadsheet would run: none begins with = + - @ (quoted or not). A cell
    // begins at the start of a line or after a comma, maybe after its opening quote (none of
    // these values holds a comma before a formula character).
    for line in csv.lines().skip(1) {
        let starts = std::iter::once(0).chain(line.match_indices(',').map(|(i, _)| i + 1));
        for at in starts {
            let cell = line[at..].trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a formula in the export at {at}: {line}"
            );
        }
    }
    // Imported into another dashboard, every value is what it was.
    let (other, _fake2, op2) = connected_app().await;
    let report: Vec<ImportRow> = other
        .call(&op2, "operator/persons/import", &[("csv", &csv)])
        .await
        .json();
    assert!(report.iter().all(|r| r.outcome == "created"), "{report:?}");
    for (username, display_name, notes) in people {
        let p = letta_admin::db::persons::by_username(&other.state.db, username)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.display_name.as_str(), p.notes.as_str()),
            (display_name, notes)
        );
    }
}

#[tokio::test]
async fn a_crash_mid_create_is_undone_at_the_next_start() {
    let (app, fake, op) = connected_app().await;
    // Simulate a process that created an identity, journaled it, and died.
    let client = app.state.letta.client().unwrap();
    let orphan = client
        .identities()
        .create(&letta_admin::letta::IdentityCreate {
            identifier_key: "orphan".into(),
            name: "Orphan".into(),
            identity_type: letta_admin::letta::IdentityType::User,
            properties: None,
        })
        .await
        .unwrap();
    letta_admin::db::saga::record(
        &app.state.db,
        "dead",
        "person.create",
        "identity_created",
        &orphan.id,
        None,
    )
    .await
    .unwrap();
    drop(op);
    let db_url = app.state.config.database_url.clone();
    let key_dir = app.state.config.data_dir.clone();
    let restarted = common::spawn_app_with(|c| {
        c.database_url = db_url;
        c.data_dir = key_dir;
    })
    .await;
    assert!(
        fake.identity_ids().is_empty(),
        "the orphan identity was deleted"
    );
    assert_eq!(local_rows(&restarted).await.2, 0, "the journal is empty");
}

#[tokio::test]
async fn the_list_pages_100000_persons_through_indexes() {
    // SQLite's query plans (EXPLAIN QUERY PLAN) and a 100,000-row insert loop: on Postgres
    // the same statements run in every other persons test.
    if common::on_postgres() {
        eprintln!("SKIPPED on Postgres: reads SQLite's query plans");
        return;
    }
    let (app, _fake, op) = connected_app().await;
    let sqlite = app.state.db.as_sqlite().unwrap().clone();
    let mut tx = sqlite.begin().await.unwrap();
    for i in 0..100_000 {
        sqlx::query(
            "INSERT INTO persons (username, display_name, display_key, identity_id, block_id, block_limit, created_at, updated_at) \
             VALUES ($1, $2, $3, 'identity-x', 'block-x', 5000, $4, $4)",
        )
        .bind(format!("user{i:06}"))
        .bind(format!("Person {i:06}"))
        .bind(format!("person {i:06}"))
        .bind(i as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let page: PersonsPage = app
        .call(&op, "staff/persons/list", &[("query[search]", "")])
        .await
        .json();
    assert_eq!(page.total, 100_000);
    assert_eq!(page.persons.len(), 50);
    let (key, id) = page.next.clone().unwrap();
    let page2: PersonsPage = app
        .call(
            &op,
            "staff/persons/list",
            &[
                ("query[after_key]", &key),
                ("query[after_id]", &id.to_string()),
            ],
        )
        .await
        .json();
    assert_eq!(page2.persons[0].username, "user000050");
    let found: PersonsPage = app
        .call(&op, "staff/persons/list", &[("query[search]", "user09999")])
        .await
        .json();
    assert_eq!(found.persons.len(), 10);
    let newest: PersonsPage = app
        .call(&op, "staff/persons/list", &[("query[sort]", "newest")])
        .await
        .json();
    assert_eq!(newest.persons[0].username, "user099999");

    // The page queries are index scans: no full table scan, no sort of the whole table.
    for (sort, key) in [
        ("username ASC", "username"),
        ("display_key ASC", "display_key"),
        ("created_at DESC", "created_at"),
    ] {
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN SELECT id FROM persons WHERE ($1 IS NULL OR ({key}, id) > ($1, $2)) \
             ORDER BY {sort}, id {} LIMIT 51",
            sort.split(' ').nth(1).unwrap()
        ))
        .bind(None::<String>)
        .bind(None::<i64>)
        .fetch_all(&sqlite)
        .await
        .unwrap();
        let text: Vec<_> = plan.iter().map(|r| r.3.as_str()).collect();
        assert!(text.iter().any(|t| t.contains("INDEX")), "{sort}: {text:?}");
        assert!(
            !text.iter().any(|t| t.contains("TEMP B-TREE")),
            "{sort}: {text:?}"
        );
    }
}

#[tokio::test]
async fn deleting_a_persons_identity_needs_a_second_confirmation_and_flags_the_person() {
    let (app, fake, op) = connected_app().await;
    let CreateOutcome::Created(s) = create(&app, &op, "ada").await.json() else {
        panic!()
    };
    let p = letta_admin::db::persons::by_id(&app.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    let identity_id = p.identity_id.clone().unwrap();

    let detail = app
        .call(&op, "operator/identities/get", &[("id", &identity_id)])
        .await;
    assert!(
        detail.body.contains(r#""linked_person":"ada""#),
        "{}",
        detail.body
    );

    let first = app
        .call(&op, "operator/identities/delete", &[("id", &identity_id)])
        .await;
    assert_eq!(first.status, 409);
    assert!(first
        .error()
        .to_string()
        .contains("The person ada uses this identity"));
    assert_eq!(
        fake.identity_ids(),
        vec![identity_id.clone()],
        "nothing deleted"
    );

    let second = app
        .call(
            &op,
            "operator/identities/delete",
            &[("id", &identity_id), ("confirm_person", "true")],
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(fake.identity_ids().is_empty());
    let flagged = letta_admin::db::persons::by_id(&app.state.db, s.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flagged.health, "identity_missing");
}

/// The persons list's pager as a browser follows it: "Next page" from the rendered HTML keeps
/// the search, lands on the next 50, and offers "First page" back to the search's first page.
#[tokio::test]
async fn the_list_pages_by_its_own_links() {
    let app = spawn_app().await;
    for i in 0..120 {
        letta_admin::with_pool!(&app.state.db, |pool| sqlx::query(
            "INSERT INTO persons (username, display_name, display_key, identity_id, block_id, \
             block_limit, created_at, updated_at) VALUES ($1, $2, $3, 'identity-x', 'block-x', 5000, $4, $4)",
        )
        .bind(format!("user{i:06}"))
        .bind(format!("Person {i:06}"))
        .bind(format!("person {i:06}"))
        .bind(i as i64)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
    }
    let staff = app.signed_in("sam", Role::Staff).await;
    let page = |path: String| {
        let (staff, url) = (staff.clone(), app.url(&path));
        async move {
            let r = staff.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            scraper::Html::parse_document(&r.text().await.unwrap())
        }
    };
    let link = |html: &scraper::Html, text: &str| {
        let sel = scraper::Selector::parse("nav.pager a").unwrap();
        html.select(&sel)
            .find(|a| a.text().collect::<String>() == text)
            .map(|a| a.value().attr("href").unwrap().to_string())
    };
    let first_user = |html: &scraper::Html| {
        let sel = scraper::Selector::parse("tbody tr td a").unwrap();
        html.select(&sel).next().unwrap().text().collect::<String>()
    };

    let one = page("/persons?q=user".into()).await;
    assert_eq!(first_user(&one), "user000000");
    assert_eq!(link(&one, "First page"), None, "already on the first page");
    let next = link(&one, "Next page").expect("a next page");
    assert!(
        next.starts_with("/persons?q=user&")
            && next.contains("after_key=")
            && next.contains("after_id="),
        "{next}"
    );
    let two = page(next).await;
    assert_eq!(first_user(&two), "user000050");
    assert_eq!(link(&two, "First page").as_deref(), Some("/persons?q=user"));
    let three = page(link(&two, "Next page").unwrap()).await;
    assert_eq!(first_user(&three), "user000100");
    assert_eq!(link(&three, "Next page"), None, "the last page");
}
