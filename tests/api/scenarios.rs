//! Chat scenarios over HTTP against the app and the in-process fake Letta: create, edit,
//! delete and their rules; export and import; a run through the ordinary turn path with
//! expectations that pass and fail; stop mid-run; two persons in one run never share the
//! agent; two runs compared.
use crate::common;

use std::time::Duration;

use common::{fake_letta::FakeLetta, person, spawn_app, TestApp};
use letta_admin::{
    auth::Role,
    error::AppError,
    features::chat::scenarios::model::{
        Comparison, ExpectKind, Expectation, ImportReport, RunDetail, RunSummary, ScenarioDetail,
        ScenarioFile, ScenarioInput, ScenarioSummary, StepInput, MAX_NAME_CHARS, MAX_STEPS,
    },
};

/// The form fields of a scenario, as the browser posts them (`scenario[steps][0][text]`, ...).
pub fn form_of(prefix: &str, s: &ScenarioInput) -> Vec<(String, String)> {
    let mut f = vec![
        (format!("{prefix}[name]"), s.name.clone()),
        (format!("{prefix}[agent_id]"), s.agent_id.clone()),
    ];
    for (i, step) in s.steps.iter().enumerate() {
        let p = format!("{prefix}[steps][{i}]");
        f.push((format!("{p}[person_id]"), step.person_id.to_string()));
        f.push((format!("{p}[text]"), step.text.clone()));
        for (j, e) in step.expect.iter().enumerate() {
            f.push((format!("{p}[expect][{j}][kind]"), e.kind.as_str().into()));
            f.push((format!("{p}[expect][{j}][text]"), e.text.clone()));
        }
    }
    f
}

pub async fn call_with(
    app: &TestApp,
    c: &reqwest::Client,
    endpoint: &str,
    fields: &[(String, String)],
) -> common::Answer {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.call(c, endpoint, &pairs).await
}

pub fn step(person_id: i64, text: &str, expect: &[(ExpectKind, &str)]) -> StepInput {
    StepInput {
        person_id,
        text: text.into(),
        expect: expect
            .iter()
            .map(|(kind, text)| Expectation {
                kind: *kind,
                text: (*text).into(),
            })
            .collect(),
    }
}

pub async fn create(app: &TestApp, c: &reqwest::Client, s: &ScenarioInput) -> common::Answer {
    call_with(
        app,
        c,
        "staff/chat/scenarios/create",
        &form_of("scenario", s),
    )
    .await
}

pub async fn created(app: &TestApp, c: &reqwest::Client, s: &ScenarioInput) -> ScenarioDetail {
    let a = create(app, c, s).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

pub async fn start_run(app: &TestApp, c: &reqwest::Client, id: i64, agent: &str) -> common::Answer {
    app.call(
        c,
        "staff/chat/scenarios/run",
        &[("id", &id.to_string()), ("agent_id", agent)],
    )
    .await
}

pub async fn run_detail(app: &TestApp, c: &reqwest::Client, run_id: i64) -> RunDetail {
    let a = app
        .call(
            c,
            "staff/chat/scenarios/run-detail",
            &[("run_id", &run_id.to_string())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

/// Polls the run until it has ended (a run of a few fake turns ends in well under a second).
pub async fn finished(app: &TestApp, c: &reqwest::Client, run_id: i64) -> RunDetail {
    for _ in 0..600 {
        let d = run_detail(app, c, run_id).await;
        if !d.run.running() {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run_id} did not end");
}

async fn run_to_end(app: &TestApp, c: &reqwest::Client, id: i64, agent: &str) -> RunDetail {
    let a = start_run(app, c, id, agent).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let run: RunSummary = a.json();
    assert_eq!(run.status, "running");
    finished(app, c, run.id).await
}

async fn journal_len(app: &TestApp) -> i64 {
    letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM chat_attachments"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

fn field_of(a: &common::Answer) -> String {
    assert_eq!(a.status, 422, "{}", a.body);
    match a.error() {
        AppError::Validation {
            field: Some(f),
            message,
        } => {
            assert!(!message.is_empty());
            f
        }
        other => panic!("{other:?}"),
    }
}

async fn setup() -> (TestApp, FakeLetta, reqwest::Client, reqwest::Client) {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let staff = app.signed_in("sam", Role::Staff).await;
    (app, fake, op, staff)
}

fn audited(actions: &[(Option<String>, String, String)], actor: &str, action: &str) -> usize {
    actions
        .iter()
        .filter(|(a, act, _)| a.as_deref() == Some(actor) && act == action)
        .count()
}

#[tokio::test]
async fn scenarios_are_created_checked_edited_by_their_owner_or_an_operator_and_deleted() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let good = ScenarioInput {
        name: "  Greeting  ".into(),
        agent_id: agent.clone(),
        steps: vec![step(
            ada.id,
            "hello",
            &[(ExpectKind::ReplyContains, "hello")],
        )],
    };

    // Each rule, with the field its message belongs beside.
    let mut bad = good.clone();
    bad.name = " ".into();
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "name");
    bad.name = "x".repeat(MAX_NAME_CHARS + 1);
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "name");
    let mut bad = good.clone();
    bad.steps.clear();
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "steps");
    bad.steps = vec![step(ada.id, "hi", &[]); MAX_STEPS + 1];
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "steps");
    let mut bad = good.clone();
    bad.agent_id = "../agents".into();
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "agent_id");
    let mut bad = good.clone();
    bad.steps.push(step(ada.id + 1000, "hi", &[]));
    assert_eq!(
        field_of(&create(&app, &sam, &bad).await),
        "steps.1.person_id"
    );
    let mut bad = good.clone();
    bad.steps
        .push(step(ada.id, "x".repeat(20_001).as_str(), &[]));
    assert_eq!(field_of(&create(&app, &sam, &bad).await), "steps.1.text");
    let mut bad = good.clone();
    bad.steps[0].expect.push(Expectation {
        kind: ExpectKind::ToolCalled,
        text: "y".repeat(501),
    });
    assert_eq!(
        field_of(&create(&app, &sam, &bad).await),
        "steps.0.expect.1.text"
    );
    let list: Vec<ScenarioSummary> = app
        .call(&sam, "staff/chat/scenarios/list", &[])
        .await
        .json();
    assert!(list.is_empty(), "nothing refused was stored: {list:?}");

    // Created, trimmed, listed and found by its name.
    let s = created(&app, &sam, &good).await;
    assert_eq!(s.name, "Greeting");
    assert_eq!(s.owner, "sam");
    assert!(s.can_edit);
    assert_eq!(s.steps[0].person, "ada display (@ada)");
    let other = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Farewell".into(),
            agent_id: String::new(),
            steps: vec![step(ada.id, "bye", &[])],
        },
    )
    .await;
    let found: Vec<ScenarioSummary> = app
        .call(&sam, "staff/chat/scenarios/list", &[("query", "GREET")])
        .await
        .json();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].id, found[0].steps), (s.id, 1));
    assert_eq!(found[0].agent_id.as_deref(), Some(agent.as_str()));
    let all: Vec<ScenarioSummary> = app
        .call(&sam, "staff/chat/scenarios/list", &[])
        .await
        .json();
    assert_eq!(
        all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Farewell", "Greeting"]
    );

    // Another staff member sees it and may run it, but not change or delete it.
    let tess = app.signed_in("tess", Role::Staff).await;
    let seen: ScenarioDetail = app
        .call(
            &tess,
            "staff/chat/scenarios/get",
            &[("id", &s.id.to_string())],
        )
        .await
        .json();
    assert!(!seen.can_edit);
    let mut changed = good.clone();
    changed.name = "Greeting, edited".into();
    let mut fields = form_of("scenario", &changed);
    fields.push(("id".into(), s.id.to_string()));
    let a = call_with(&app, &tess, "staff/chat/scenarios/update", &fields).await;
    assert_eq!(a.status, 403, "{}", a.body);
    let a = app
        .call(
            &tess,
            "staff/chat/scenarios/delete",
            &[("id", &s.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);

    // Its owner may; so may an operator.
    let a = call_with(&app, &sam, "staff/chat/scenarios/update", &fields).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json::<ScenarioDetail>().name, "Greeting, edited");
    changed.name = "Greeting, by the operator".into();
    let mut fields = form_of("scenario", &changed);
    fields.push(("id".into(), s.id.to_string()));
    let a = call_with(&app, &op, "staff/chat/scenarios/update", &fields).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // An update is checked like a create.
    let mut fields = form_of("scenario", &ScenarioInput::default());
    fields.push(("id".into(), s.id.to_string()));
    let a = call_with(&app, &sam, "staff/chat/scenarios/update", &fields).await;
    assert_eq!(field_of(&a), "name");

    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/delete",
            &[("id", &s.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = app
        .call(
            &op,
            "staff/chat/scenarios/delete",
            &[("id", &other.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/get",
            &[("id", &s.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 404);

    let actions = app.audit_actions().await;
    assert_eq!(audited(&actions, "sam", "scenario.create"), 2);
    assert_eq!(audited(&actions, "sam", "scenario.update"), 1);
    assert_eq!(audited(&actions, "olga", "scenario.update"), 1);
    assert_eq!(audited(&actions, "sam", "scenario.delete"), 1);
    assert_eq!(audited(&actions, "olga", "scenario.delete"), 1);
    assert!(actions
        .iter()
        .any(|(a, act, outcome)| a.as_deref() == Some("tess")
            && act == "scenario.update"
            && outcome == "denied"));
}

#[tokio::test]
async fn scenarios_export_and_import_by_username_and_a_bad_step_is_named() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    let s = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Two persons".into(),
            agent_id: agent.clone(),
            steps: vec![
                step(ada.id, "hello", &[(ExpectKind::ReplyContains, "hello")]),
                step(bob.id, "bye", &[(ExpectKind::ReplyLacks, "hello")]),
            ],
        },
    )
    .await;
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/export",
            &[("id", &s.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let json: String = a.json();
    let file: ScenarioFile = serde_json::from_str(&json).unwrap();
    assert_eq!(file.scenarios.len(), 1);
    assert_eq!(file.scenarios[0].steps[1].person, "bob");
    assert_eq!(file.scenarios[0].agent_id.as_deref(), Some(agent.as_str()));

    // The same file imports as a new scenario with the same steps.
    let a = app
        .call(&sam, "staff/chat/scenarios/import", &[("json", &json)])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let report: ImportReport = a.json();
    assert_eq!(report.created.len(), 1);
    let copy: ScenarioDetail = app
        .call(
            &sam,
            "staff/chat/scenarios/get",
            &[("id", &report.created[0].id.to_string())],
        )
        .await
        .json();
    assert_ne!(copy.id, s.id);
    assert_eq!(copy.steps, s.steps);
    assert_eq!(copy.agent_id, s.agent_id);

    // A file with a wrong step is refused whole, naming the scenario and the step.
    let mut wrong = file.clone();
    wrong.scenarios.push(wrong.scenarios[0].clone());
    wrong.scenarios[1].name = "Second".into();
    wrong.scenarios[1].steps[1].person = "nobody".into();
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/import",
            &[("json", &serde_json::to_string(&wrong).unwrap())],
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    let message = a.error().to_string();
    assert!(
        message.contains("Scenario 2") && message.contains("step 2") && message.contains("@nobody"),
        "{message}"
    );
    let mut wrong = file.clone();
    wrong.scenarios[0].steps[0].expect[0].text = " ".into();
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/import",
            &[("json", &serde_json::to_string(&wrong).unwrap())],
        )
        .await;
    let message = a.error().to_string();
    assert!(
        message.contains("Scenario 1") && message.contains("step 1"),
        "{message}"
    );
    for junk in [
        "not json",
        r#"{"format":"other","version":1,"scenarios":[]}"#,
    ] {
        let a = app
            .call(&sam, "staff/chat/scenarios/import", &[("json", junk)])
            .await;
        assert_eq!(a.status, 422, "{}", a.body);
    }
    let all: Vec<ScenarioSummary> = app
        .call(&sam, "staff/chat/scenarios/list", &[])
        .await
        .json();
    assert_eq!(all.len(), 2, "refused imports created nothing: {all:?}");
    assert_eq!(
        audited(&app.audit_actions().await, "sam", "scenario.import"),
        1
    );
}

#[tokio::test]
async fn a_run_sends_each_step_as_its_person_and_records_replies_tools_tokens_and_checks() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    let s = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Memory".into(),
            agent_id: String::new(),
            steps: vec![
                step(
                    ada.id,
                    "hello, [remember:likes green tea]",
                    &[
                        (ExpectKind::ReplyContains, "ECHO: hello"),
                        (ExpectKind::ToolCalled, "core_memory_append"),
                        (ExpectKind::PersonaContains, "likes green tea"),
                    ],
                ),
                step(
                    bob.id,
                    "and you?",
                    &[
                        (ExpectKind::ReplyLacks, "hello"),
                        // Bob's block never got Ada's memory.
                        (ExpectKind::PersonaContains, "bob display"),
                    ],
                ),
            ],
        },
    )
    .await;

    // No agent of its own: one must be picked.
    let a = start_run(&app, &sam, s.id, "").await;
    assert_eq!(field_of(&a), "agent_id");

    let d = run_to_end(&app, &sam, s.id, &agent).await;
    assert_eq!(d.run.status, "passed", "{d:?}");
    assert_eq!(d.run.reason, None);
    assert_eq!((d.run.steps_done, d.run.steps_total), (2, 2));
    assert_eq!(d.steps.len(), 2);
    let (one, two) = (&d.steps[0], &d.steps[1]);
    assert_eq!(one.status, "passed");
    assert_eq!(one.reply, "echo: hello, [remember:likes green tea]");
    assert_eq!(one.tools.len(), 1);
    assert_eq!(one.tools[0].name, "core_memory_append");
    assert!(one.tools[0].arguments.contains("likes green tea"));
    assert_eq!(one.usage.as_ref().map(|u| u.total_tokens), Some(103));
    assert!(one.elapsed_ms.is_some());
    assert_eq!(one.detached, Some(true));
    assert_eq!(one.checks.len(), 3);
    assert!(one.checks.iter().all(|c| c.passed), "{:?}", one.checks);
    assert_eq!(two.status, "passed", "{two:?}");
    assert_eq!(two.person, "bob display (@bob)");
    assert!(two.tools.is_empty());

    // Sent as ordinary turns: each as its person, with only that person's block attached, and
    // detached afterwards; two turns in the ledger.
    let sends = fake.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(
        sends[0].sender_id.as_deref(),
        Some(ada.identity_id.as_str())
    );
    assert_eq!(sends[0].personas, ["Persona_ada"]);
    assert_eq!(
        sends[1].sender_id.as_deref(),
        Some(bob.identity_id.as_str())
    );
    assert_eq!(sends[1].personas, ["Persona_bob"]);
    assert_eq!(fake.max_personas_attached(), 1);
    assert!(fake.attached_blocks(&agent).is_empty());
    assert_eq!(journal_len(&app).await, 0);
    let value = fake.block(&ada.block_id).unwrap()["value"].clone();
    assert!(value.as_str().unwrap().contains("likes green tea"));
    let bob_value = fake.block(&bob.block_id).unwrap()["value"].clone();
    assert!(!bob_value.as_str().unwrap().contains("likes green tea"));

    // The same scenario with an expectation that fails: the run stops at that step, with the
    // reason, and the later step is never sent.
    let failing = ScenarioInput {
        name: "Memory".into(),
        agent_id: agent.clone(),
        steps: vec![
            step(
                ada.id,
                "hello again",
                &[
                    (ExpectKind::ReplyContains, "hello"),
                    (ExpectKind::ReplyContains, "goodbye"),
                ],
            ),
            step(bob.id, "never sent", &[]),
        ],
    };
    let mut fields = form_of("scenario", &failing);
    fields.push(("id".into(), s.id.to_string()));
    let a = call_with(&app, &sam, "staff/chat/scenarios/update", &fields).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = run_to_end(&app, &sam, s.id, "").await;
    assert_eq!(d.run.status, "failed");
    assert_eq!(
        d.run.reason.as_deref(),
        Some("Step 1: the reply does not contain “goodbye”")
    );
    assert_eq!(d.steps.len(), 1);
    assert_eq!(d.steps[0].status, "failed");
    let passed: Vec<bool> = d.steps[0].checks.iter().map(|c| c.passed).collect();
    assert_eq!(passed, [true, false]);
    assert_eq!(
        fake.sends().len(),
        3,
        "the step after the failure was not sent"
    );
    assert!(fake.attached_blocks(&agent).is_empty());

    // A turn that fails ends the run too, with the turn's message.
    fake.fault(
        "POST",
        &format!("/v1/agents/{agent}/messages/stream"),
        common::fake_letta::Fault::server_error(),
    );
    let d = run_to_end(&app, &sam, s.id, "").await;
    assert_eq!(d.run.status, "failed");
    assert_eq!(d.steps[0].status, "error");
    assert!(
        d.run
            .reason
            .as_deref()
            .unwrap()
            .starts_with("Step 1: the turn failed"),
        "{:?}",
        d.run.reason
    );
    fake.clear_faults();
    assert!(fake.attached_blocks(&agent).is_empty());
    assert_eq!(journal_len(&app).await, 0);

    // The runs are listed newest first, and each run and its end is audited.
    let runs: Vec<RunSummary> = app
        .call(
            &sam,
            "staff/chat/scenarios/runs",
            &[("scenario_id", &s.id.to_string())],
        )
        .await
        .json();
    let statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["failed", "failed", "passed"]);
    let actions = app.audit_actions().await;
    assert_eq!(audited(&actions, "sam", "scenario.run"), 3);
    assert_eq!(audited(&actions, "sam", "scenario.run_end"), 3);
    assert!(audited(&actions, "sam", "chat.send") >= 3);
}

#[tokio::test]
async fn stop_ends_a_run_mid_turn_and_the_block_is_detached() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(100));
    let long = "many words here ".repeat(30);
    let s = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Slow".into(),
            agent_id: agent.clone(),
            steps: vec![step(ada.id, &long, &[]), step(ada.id, "second", &[])],
        },
    )
    .await;
    let a = start_run(&app, &sam, s.id, "").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let run: RunSummary = a.json();

    // One run of a scenario at a time.
    let again = start_run(&app, &sam, s.id, "").await;
    assert_eq!(again.status, 409, "{}", again.body);
    // Nor may it be deleted while it runs.
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/delete",
            &[("id", &s.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 409, "{}", a.body);

    // Wait until the reply streams (the block is attached then), then stop.
    for _ in 0..400 {
        let d = run_detail(&app, &sam, run.id).await;
        if d.steps.first().is_some_and(|s| !s.reply.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(fake.attached_blocks(&agent), vec![ada.block_id.clone()]);
    let tess = app.signed_in("tess", Role::Staff).await;
    let a = app
        .call(
            &tess,
            "staff/chat/scenarios/stop",
            &[("run_id", &run.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 403, "only who started it, or an operator");
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/stop",
            &[("run_id", &run.id.to_string())],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.json::<bool>());

    let d = finished(&app, &sam, run.id).await;
    assert_eq!(d.run.status, "stopped");
    assert_eq!(d.run.reason.as_deref(), Some("Stopped during step 1."));
    assert_eq!(d.steps.len(), 1, "the second step never started");
    assert_eq!(d.steps[0].status, "stopped");
    assert!(
        d.steps[0].reply.len() < format!("echo: {long}").len(),
        "cut short: {}",
        d.steps[0].reply
    );
    assert!(fake.attached_blocks(&agent).is_empty(), "detached");
    assert_eq!(journal_len(&app).await, 0);
    assert_eq!(fake.sends().len(), 1);
    let actions = app.audit_actions().await;
    assert_eq!(audited(&actions, "sam", "scenario.stop"), 1);
    // A stop of a run that has ended does nothing.
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/stop",
            &[("run_id", &run.id.to_string())],
        )
        .await;
    assert!(!a.json::<bool>());
}

#[tokio::test]
async fn two_runs_compare_step_by_step() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let bob = person(&app, &op, "bob").await;
    let agent = fake.add_agent("helper");
    let mut input = ScenarioInput {
        name: "Compare".into(),
        agent_id: agent.clone(),
        steps: vec![step(ada.id, "first", &[]), step(bob.id, "second", &[])],
    };
    let s = created(&app, &sam, &input).await;
    let one = run_to_end(&app, &sam, s.id, "").await;
    assert_eq!(one.run.status, "passed");
    // A change between the runs (here to the message; in life to the agent's prompt or model).
    input.steps[1].text = "second, changed".into();
    let mut fields = form_of("scenario", &input);
    fields.push(("id".into(), s.id.to_string()));
    assert_eq!(
        call_with(&app, &sam, "staff/chat/scenarios/update", &fields)
            .await
            .status,
        200
    );
    let two = run_to_end(&app, &sam, s.id, "").await;
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/compare",
            &[
                ("left", &one.run.id.to_string()),
                ("right", &two.run.id.to_string()),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let c: Comparison = a.json();
    assert_eq!(c.steps.len(), 2);
    assert!(c.steps[0].same_reply());
    assert!(!c.steps[1].same_reply());
    assert_eq!(c.steps[1].left.as_ref().unwrap().reply, "echo: second");
    assert_eq!(
        c.steps[1].right.as_ref().unwrap().reply,
        "echo: second, changed"
    );

    // Runs of different scenarios do not compare.
    let other = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Other".into(),
            agent_id: agent.clone(),
            steps: vec![step(ada.id, "x", &[])],
        },
    )
    .await;
    let three = run_to_end(&app, &sam, other.id, "").await;
    let a = app
        .call(
            &sam,
            "staff/chat/scenarios/compare",
            &[
                ("left", &one.run.id.to_string()),
                ("right", &three.run.id.to_string()),
            ],
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
}

/// Markup in a scenario's name, messages, expectations and the agent's replies is shown as
/// text on both screens: no element or event handler comes of it.
#[tokio::test]
async fn hostile_values_in_a_scenario_and_its_run_stay_text() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let evil = "</textarea></script><img src=x onerror=alert(1)>\"'><svg onload=alert(1)>";
    let s = created(
        &app,
        &sam,
        &ScenarioInput {
            name: format!("n{}", &evil[..60]),
            agent_id: agent.clone(),
            steps: vec![step(ada.id, evil, &[(ExpectKind::ReplyContains, evil)])],
        },
    )
    .await;
    let d = run_to_end(&app, &sam, s.id, "").await;
    assert_eq!(d.run.status, "passed", "{d:?}");
    for path in [
        "/chat/scenarios".to_string(),
        format!("/chat/scenarios/{}", s.id),
    ] {
        let res = sam.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        let doc = scraper::Html::parse_document(&html);
        for el in doc
            .root_element()
            .descendants()
            .filter_map(scraper::ElementRef::wrap)
        {
            let name = el.value().name();
            assert!(
                !matches!(name, "img" | "svg" | "iframe"),
                "{path}: a <{name}> came out of a value"
            );
            for (attr, _) in el.value().attrs() {
                assert!(!attr.starts_with("on"), "{path}: an {attr} attribute");
            }
        }
        let text: String = doc.root_element().text().collect();
        assert!(
            text.contains("onerror=alert(1)>"),
            "{path}: the value is shown as text"
        );
    }
}

/// Two scenarios of two persons each, run at once on one agent by two staff members: their
/// turns take the agent one at a time, and every message is read with its sender's block only.
#[tokio::test]
async fn two_runs_at_once_on_one_agent_never_put_two_persons_on_it() {
    let (app, fake, op, sam) = setup().await;
    let tess = app.signed_in("tess", Role::Staff).await;
    let mut persons = Vec::new();
    for name in ["ada", "bob", "cid", "dan"] {
        persons.push(person(&app, &op, name).await);
    }
    let agent = fake.add_agent("shared");
    fake.set_stream_delay(Duration::from_millis(3));
    let scenario = |name: &str, a: usize, b: usize| ScenarioInput {
        name: name.into(),
        agent_id: agent.clone(),
        steps: (0..3)
            .map(|i| {
                let p = if i % 2 == 0 { a } else { b };
                step(
                    persons[p].id,
                    &format!("{name} step {i}"),
                    &[(ExpectKind::ReplyContains, &format!("{name} step {i}"))],
                )
            })
            .collect(),
    };
    let one = created(&app, &sam, &scenario("one", 0, 1)).await;
    let two = created(&app, &tess, &scenario("two", 2, 3)).await;
    let (a, b) = tokio::join!(
        start_run(&app, &sam, one.id, ""),
        start_run(&app, &tess, two.id, "")
    );
    let (a, b): (RunSummary, RunSummary) = (a.json(), b.json());
    let (da, db) = tokio::join!(finished(&app, &sam, a.id), finished(&app, &tess, b.id));
    assert_eq!(da.run.status, "passed", "{da:?}");
    assert_eq!(db.run.status, "passed", "{db:?}");
    assert_eq!(
        fake.max_personas_attached(),
        1,
        "never two persona blocks at once"
    );
    let sends = fake.sends();
    assert_eq!(sends.len(), 6);
    for s in &sends {
        let p = persons
            .iter()
            .position(|p| Some(&p.identity_id) == s.sender_id.as_ref())
            .expect("sent as a known person");
        let name = ["ada", "bob", "cid", "dan"][p];
        assert_eq!(s.personas, vec![format!("Persona_{name}")], "{s:?}");
    }
    assert!(fake.attached_blocks(&agent).is_empty());
    assert_eq!(journal_len(&app).await, 0);
}

/// A run whose dashboard process died (its instance is not alive) shows as interrupted, and the
/// scenario may run again.
#[tokio::test]
async fn a_run_whose_process_died_is_interrupted() {
    let (app, fake, op, sam) = setup().await;
    let ada = person(&app, &op, "ada").await;
    let agent = fake.add_agent("helper");
    let s = created(
        &app,
        &sam,
        &ScenarioInput {
            name: "Orphan".into(),
            agent_id: agent.clone(),
            steps: vec![step(ada.id, "hi", &[])],
        },
    )
    .await;
    let run_id = letta_admin::db::scenarios::start_run(
        &app.state.db,
        &letta_admin::db::scenarios::NewRun {
            scenario_id: s.id,
            name: "Orphan",
            agent_id: &agent,
            steps: "[]",
            user_id: 1,
            username: "sam",
            instance_id: "instance-that-died",
        },
    )
    .await
    .unwrap()
    .unwrap();
    let runs: Vec<RunSummary> = app
        .call(
            &sam,
            "staff/chat/scenarios/runs",
            &[("scenario_id", &s.id.to_string())],
        )
        .await
        .json();
    assert_eq!(runs[0].id, run_id);
    assert_eq!(runs[0].status, "interrupted");
    assert!(!runs[0].running());
    let d = run_to_end(&app, &sam, s.id, "").await;
    assert_eq!(d.run.status, "passed");
}
