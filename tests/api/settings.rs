//! The Letta connection settings, against the in-process fake Letta (fast, with faults). The
//! real server is covered by the contract suite and the browser tests.
use crate::common;

use std::time::Duration;

use common::{
    fake_letta::{FakeLetta, Fault, SECRET_MARKER},
    spawn_app, spawn_app_with, TestApp,
};
use letta_admin::{
    auth::Role,
    components::connection_badge::Badge,
    error::AppError,
    features::settings::api::{ConnectionReport, SettingsView},
};

async fn test_conn(
    app: &TestApp,
    c: &reqwest::Client,
    url: &str,
    password: &str,
    timeout: &str,
) -> ConnectionReport {
    let a = app
        .call(
            c,
            "operator/settings/test",
            &[
                ("form[base_url]", url),
                ("form[password]", password),
                ("form[timeout_secs]", timeout),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

async fn save(app: &TestApp, c: &reqwest::Client, url: &str, password: &str) -> common::Answer {
    app.call(
        c,
        "operator/settings/save",
        &[
            ("form[base_url]", url),
            ("form[password]", password),
            ("form[timeout_secs]", "5"),
        ],
    )
    .await
}

#[tokio::test]
async fn environment_values_are_first_run_defaults_only() {
    let fake = FakeLetta::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let key = "11".repeat(32);
    let first = spawn_app_with(|c| {
        c.database_url = db.clone();
        c.secret_key_hex = Some(key.clone().into());
        c.letta_base_url = Some(fake.url.to_string());
        c.letta_password = Some(FakeLetta::PASSWORD.into());
    })
    .await;
    let op = first.signed_in("olga", Role::Operator).await;
    let v: SettingsView = first.call(&op, "operator/settings/get", &[]).await.json();
    assert_eq!(v.base_url, fake.url.as_str());
    assert_eq!(v.base_url_from.source, "environment");
    assert!(v.password_set);
    let b: Badge = first.call(&op, "staff/connection/badge", &[]).await.json();
    assert!(matches!(b, Badge::Connected { .. }), "{b:?}");

    // An operator changes the URL (typing the password: the saved one stays with the saved
    // URL); a restart with other environment values keeps the database's.
    let refused = save(&first, &op, "http://127.0.0.1:9/", "").await;
    assert_eq!(refused.status, 422);
    assert!(refused.error().for_field("password").is_some());
    assert_eq!(
        save(&first, &op, "http://127.0.0.1:9/", "the password for 9")
            .await
            .status,
        200
    );
    let second = spawn_app_with(|c| {
        c.database_url = db.clone();
        c.secret_key_hex = Some(key.clone().into());
        c.letta_base_url = Some("http://elsewhere.test:8283".into());
        c.letta_password = Some("another".into());
    })
    .await;
    let c = common::client();
    assert_eq!(
        second
            .call(
                &c,
                "public/login",
                &[("username", "olga"), ("password", common::PASSWORD)]
            )
            .await
            .status,
        200
    );
    let v: SettingsView = second.call(&c, "operator/settings/get", &[]).await.json();
    assert_eq!(v.base_url, "http://127.0.0.1:9/");
    assert_eq!(v.base_url_from.source, "dashboard");
    assert_eq!(v.base_url_from.updated_by.as_deref(), Some("olga"));
    assert!(v.password_set, "the saved password was kept");
}

#[tokio::test]
async fn the_saved_password_only_ever_goes_to_the_saved_url() {
    let fake = FakeLetta::start().await;
    let elsewhere = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let sent_password = |f: &FakeLetta| {
        f.requests().iter().any(|r| {
            r.authorization
                .as_deref()
                .is_some_and(|a| a.contains(FakeLetta::PASSWORD))
        })
    };

    // Testing the saved URL with an empty field uses the saved password.
    let same = test_conn(&app, &op, fake.url.as_str(), "", "5").await;
    assert_eq!(same.outcome, "connected", "{same:?}");
    // Testing or saving another URL with an empty field is refused beside the password field,
    // and the other server never hears from the dashboard.
    let a = app
        .call(
            &op,
            "operator/settings/test",
            &[
                ("form[base_url]", elsewhere.url.as_str()),
                ("form[password]", ""),
                ("form[timeout_secs]", "5"),
            ],
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.error().for_field("password").is_some());
    let a = save(&app, &op, elsewhere.url.as_str(), "").await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.error().for_field("password").is_some());
    // Give the connection badge the time a re-check would take; nothing went to the other URL.
    let _ = app.call(&op, "staff/connection/badge", &[]).await;
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
    assert!(!sent_password(&elsewhere));
    // Typed in, the password may go anywhere the operator says.
    let typed = test_conn(&app, &op, elsewhere.url.as_str(), FakeLetta::PASSWORD, "5").await;
    assert_eq!(typed.outcome, "connected", "{typed:?}");
    // Ticking "clear" tests without any password.
    let a = app
        .call(
            &op,
            "operator/settings/test",
            &[
                ("form[base_url]", "http://127.0.0.1:9"),
                ("form[clear_password]", "on"),
                ("form[timeout_secs]", "5"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn test_connection_tells_each_failure_apart() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;

    let ok = test_conn(&app, &op, fake.url.as_str(), FakeLetta::PASSWORD, "5").await;
    assert!(ok.ok && ok.outcome == "connected", "{ok:?}");
    assert!(
        ok.message.starts_with("Connected: Letta "),
        "{}",
        ok.message
    );
    assert!(ok.message.ends_with(" ms"), "{}", ok.message);

    let wrong = test_conn(&app, &op, fake.url.as_str(), "not-the-password", "5").await;
    assert_eq!(wrong.outcome, "wrong_password");
    assert_eq!(
        wrong.message,
        "Wrong password: the Letta server refused it."
    );

    let none = test_conn(&app, &op, fake.url.as_str(), "", "5").await;
    assert_eq!(none.outcome, "no_password");

    // Nothing listens on port 9 (discard) here.
    let down = test_conn(&app, &op, "http://127.0.0.1:9", "x", "5").await;
    assert_eq!(down.outcome, "unreachable", "{down:?}");

    // The dashboard itself answers HTTP but is not Letta.
    let not_letta = test_conn(&app, &op, &app.base, "x", "5").await;
    assert_eq!(not_letta.outcome, "not_letta", "{not_letta:?}");

    let tls = test_conn(
        &app,
        &op,
        &fake.url.as_str().replace("http://", "https://"),
        "x",
        "5",
    )
    .await;
    assert_eq!(tls.outcome, "tls", "{tls:?}");

    fake.fault("GET", "/v1/health/", Fault::Sleep(Duration::from_secs(3)));
    let slow = test_conn(&app, &op, fake.url.as_str(), FakeLetta::PASSWORD, "1").await;
    assert_eq!(slow.outcome, "timeout", "{slow:?}");
    assert_eq!(slow.message, "Timed out: no answer within 1 s.");
    fake.clear_faults();

    // A 500 full of SQL: reported without a byte of it.
    fake.fault("GET", "/v1/identities/count", Fault::server_error());
    let broken = test_conn(&app, &op, fake.url.as_str(), FakeLetta::PASSWORD, "5").await;
    assert!(!broken.ok);
    assert!(!format!("{broken:?}").contains(SECRET_MARKER));
}

#[tokio::test]
async fn bad_urls_and_timeouts_are_refused_beside_their_field() {
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    for (url, expect) in [
        ("ftp://letta", "http:// or https://"),
        ("https://admin:pw@letta", "password"),
        ("https://letta/?x=1", "query"),
        ("https://letta/#a", "fragment"),
    ] {
        let a = save(&app, &op, url, "").await;
        assert_eq!(a.status, 422);
        let msg = a.error().for_field("base_url").unwrap();
        assert!(msg.contains(expect), "{url}: {msg}");
    }
    let a = app
        .call(
            &op,
            "operator/settings/save",
            &[("form[base_url]", "http://x"), ("form[timeout_secs]", "0")],
        )
        .await;
    assert!(a.error().for_field("timeout_secs").is_some());
}

#[tokio::test]
async fn saving_takes_effect_at_once_and_clearing_removes_the_password() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let badge = |b: common::Answer| b.json::<Badge>();

    assert_eq!(
        badge(app.call(&op, "staff/connection/badge", &[]).await),
        Badge::NotConfigured
    );
    app.connect_to_fake(&op, &fake, "5").await;
    assert!(matches!(
        badge(app.call(&op, "staff/connection/badge", &[]).await),
        Badge::Connected { .. }
    ));
    assert!(app.state.letta.client().is_ok());

    assert_eq!(
        save(&app, &op, fake.url.as_str(), "wrong").await.status,
        200
    );
    assert_eq!(
        badge(app.call(&op, "staff/connection/badge", &[]).await),
        Badge::WrongPassword
    );

    let cleared = app
        .call(
            &op,
            "operator/settings/save",
            &[
                ("form[base_url]", fake.url.as_str()),
                ("form[clear_password]", "on"),
                ("form[timeout_secs]", "5"),
            ],
        )
        .await;
    let v: SettingsView = cleared.json();
    assert!(!v.password_set);
    assert_eq!(v.password_from.updated_by.as_deref(), Some("olga"));
    let actions = app.audit_actions().await;
    assert!(
        actions
            .iter()
            .filter(|a| a.1 == "settings.letta.save")
            .count()
            == 3
    );
}

#[tokio::test]
async fn letta_failures_become_short_messages_without_upstream_bodies() {
    common::capture_warnings();
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let client = app.state.letta.client().unwrap();
    type Expect = fn(&AppError) -> bool;
    let cases: Vec<(Fault, Expect)> = vec![
        (
            Fault::server_error(),
            |e| matches!(e, AppError::Upstream(m) if m.contains("HTTP 500")),
        ),
        (
            Fault::unauthorized(),
            |e| matches!(e, AppError::Upstream(m) if m.contains("password")),
        ),
        (
            Fault::validation_repr(),
            |e| matches!(e, AppError::Validation { message, .. } if message.starts_with("The Letta server rejected the input:")),
        ),
        // A 422 whose `detail` is a plain string, and one whose `msg` quotes the input: the
        // browser gets our words, never the server's.
        (
            Fault::status(
                422,
                serde_json::json!({ "detail": format!("{SECRET_MARKER} SELECT persona FROM block") })
                    .to_string(),
            ),
            |e| matches!(e, AppError::Validation { message, .. } if message == "The Letta server rejected the input: invalid input"),
        ),
        (
            Fault::status(
                422,
                serde_json::json!({ "detail": format!(
                    "[{{'type': 'value_error', 'loc': ('body', 'value'), 'msg': 'Value error, {SECRET_MARKER}'}}]"
                ) })
                .to_string(),
            ),
            |e| matches!(e, AppError::Validation { message, .. } if message == "The Letta server rejected the input: value: not valid"),
        ),
        (Fault::conflict_sql(), |e| {
            matches!(e, AppError::Conflict(_))
        }),
        (Fault::not_found_sql(), |e| {
            matches!(e, AppError::NotFound(_))
        }),
        (
            Fault::MalformedJson,
            |e| matches!(e, AppError::Upstream(m) if m.contains("does not understand")),
        ),
        (Fault::ResetMidBody, |e| matches!(e, AppError::Upstream(_))),
    ];
    for (fault, expected) in cases {
        let label = format!("{fault:?}");
        fake.clear_faults();
        fake.fault("GET", "/v1/identities/count", fault);
        let err: AppError = client.check_auth().await.expect_err(&label).into();
        assert!(expected(&err), "{label} → {err:?}");
        let shown = serde_json::to_string(&err).unwrap() + &err.to_string();
        assert!(
            !shown.contains(SECRET_MARKER) && !shown.contains("SELECT"),
            "{label} leaked: {shown}"
        );
    }
    // The server's bodies (raw SQL, persona text) are logged at debug only: no WARN or ERROR
    // line carries them.
    let logged = common::warnings_logged();
    assert!(
        logged.contains("Letta call failed"),
        "nothing was captured: {logged}"
    );
    assert!(
        !logged.contains(SECRET_MARKER),
        "a WARN line carries an upstream body: {logged}"
    );
}

#[tokio::test]
async fn a_stale_badge_is_answered_at_once_and_checked_again_behind_the_page() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let hub = &app.state.letta;
    // The first check after a settings change is waited for.
    assert!(matches!(
        hub.health(Duration::from_secs(30)).await,
        letta_admin::connection::Health::Connected { .. }
    ));
    // Letta now hangs. A stale result is still answered (the page does not wait for Letta)
    // while one background check runs.
    fake.fault("GET", "/v1/health/", Fault::Sleep(Duration::from_secs(3)));
    fake.fault("GET", "/v1/identities/count", Fault::server_error());
    assert!(matches!(
        hub.health(Duration::ZERO).await,
        letta_admin::connection::Health::Connected { .. }
    ));
    // The background check's outcome replaces it once it is in.
    let mut seen = None;
    for _ in 0..100 {
        let h = hub.health(Duration::from_secs(30)).await;
        if !matches!(h, letta_admin::connection::Health::Connected { .. }) {
            seen = Some(h);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(letta_admin::connection::Health::Unreachable));
}

#[tokio::test]
async fn on_postgres_an_instance_with_another_secret_key_does_not_start() {
    if !common::on_postgres() {
        eprintln!("SKIPPED on SQLite: the key file lives beside the database there");
        return;
    }
    let first = spawn_app_with(|c| c.secret_key_hex = Some("11".repeat(32).into())).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = letta_admin::config::Config::for_dir(dir.path());
    config.database_url = first.state.config.database_url.clone();
    config.secret_key_hex = Some("22".repeat(32).into());
    let options = leptos::config::LeptosOptions::builder()
        .output_name("letta_admin")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let err = match letta_admin::startup::Application::build(config, options).await {
        Ok(_) => panic!("a replica with another key started"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("same LETTA_ADMIN_SECRET_KEY"), "{err}");
    // The same key, from a file this time (a mounted secret): it starts.
    let key_file = dir.path().join("shared.key");
    std::fs::write(&key_file, "11".repeat(32)).unwrap();
    let db = first.state.config.database_url.clone();
    let second = spawn_app_with(move |c| {
        c.database_url = db;
        c.secret_key_file = Some(key_file);
    })
    .await;
    assert_ne!(first.state.instance.id(), second.state.instance.id());
}
