//! The Letta password is write-only: after it is saved it appears in no response, no page, no
//! log line and not in the database file (it is stored encrypted).
use crate::common;

use common::{fake_letta::FakeLetta, spawn_app};
use letta_admin::auth::Role;

#[tokio::test]
async fn a_saved_password_never_comes_back_out() {
    // Every log line at DEBUG and above while this test runs (the test binary's one global
    // subscriber: also the lines of other tests running meanwhile, which never see this
    // password).
    let logs = common::capture_debug();

    let fake = FakeLetta::start_with_password(Some("pw-LEAK-CANARY-7731")).await;
    let secret = "pw-LEAK-CANARY-7731";
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    let mut seen = String::new();

    let form = [
        ("form[base_url]", fake.url.as_str()),
        ("form[password]", secret),
        ("form[timeout_secs]", "5"),
    ];
    for endpoint in [
        "operator/settings/test",
        "operator/settings/save",
        "operator/settings/get",
        "staff/connection/badge",
    ] {
        let a = app.call(&op, endpoint, &form).await;
        assert_eq!(a.status, 200, "{endpoint}: {}", a.body);
        seen.push_str(&a.body);
    }
    assert!(
        seen.contains("Connected: Letta"),
        "the password really was used: {seen}"
    );
    // Wrong-password paths too.
    let a = app
        .call(
            &op,
            "operator/settings/test",
            &[
                ("form[base_url]", fake.url.as_str()),
                ("form[password]", "pw-LEAK-CANARY-7731x"),
                ("form[timeout_secs]", "5"),
            ],
        )
        .await;
    seen.push_str(&a.body);

    for page in ["/settings", "/", "/login"] {
        let r = op.get(app.url(page)).send().await.unwrap();
        seen.push_str(&r.text().await.unwrap());
    }
    assert!(seen.contains("Letta server"), "the settings page rendered");
    assert!(!seen.contains(secret), "a response carried the password");

    // Stored encrypted: not in the database file (nor its write-ahead log).
    let dir = app.state.config.data_dir.clone();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the password in clear",
            path.display()
        );
    }

    let logs = logs.text();
    assert!(logs.contains("letta"), "logs were captured");
    assert!(!logs.contains(secret), "a log line carried the password");
}
