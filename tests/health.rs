mod common;

use common::{client, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_without_signing_in() {
    let app = spawn_app().await;
    let c = client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.db.close().await;
    let r = client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let c = client();
    for path in ["/healthz", "/login", "/api/public/me", "/no-such-page"] {
        let r = if path.starts_with("/api") {
            c.post(app.url(path)).send().await.unwrap()
        } else {
            c.get(app.url(path)).send().await.unwrap()
        };
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
    }
}

#[tokio::test]
async fn pages_allow_only_their_own_nonce_for_inline_scripts() {
    let app = spawn_app().await;
    let r = client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let body = r.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the CSP");
    assert!(
        csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // Every inline script on the page carries this response's nonce.
    let scripts = body.matches("<script").count();
    assert!(scripts > 0);
    assert!(
        body.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts,
        "{body}"
    );
    // A second page load gets a different nonce.
    let r2 = client().get(app.url("/login")).send().await.unwrap();
    assert_ne!(
        r2.headers()["content-security-policy"].to_str().unwrap(),
        csp
    );
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let app = spawn_app().await;
    let r = client().get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));
}

/// Screens whose data is all local are rendered whole (`SsrMode::Async` in the route table):
/// the signed-in persons page arrives in one piece with its table, without the streaming
/// renderer's fallbacks and chunk-swapping scripts; a screen that waits on Letta still streams.
#[tokio::test]
async fn local_screens_are_sent_whole_and_letta_screens_stream() {
    let app = spawn_app().await;
    let op = app
        .signed_in("olga", letta_admin::auth::Role::Operator)
        .await;
    let persons = op.get(app.url("/persons")).send().await.unwrap();
    assert_eq!(persons.status(), 200);
    let html = persons.text().await.unwrap();
    assert!(html.contains("<h1>Persons</h1>"), "{html}");
    assert!(html.contains("No persons yet."), "{html}");
    assert!(!html.contains("<template"), "{html}");
    assert!(!html.contains("Loading"), "{html}");

    let agents = op.get(app.url("/agents")).send().await.unwrap();
    assert_eq!(agents.status(), 200);
    let html = agents.text().await.unwrap();
    assert!(html.contains("<template"), "{html}");
}
