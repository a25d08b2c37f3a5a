mod common;

use common::{client, spawn_app, PASSWORD};
use letta_admin::{auth::Role, error::AppError};

fn session_cookie(jar_header: Option<&reqwest::header::HeaderValue>) -> Option<String> {
    jar_header?
        .to_str()
        .ok()?
        .split(';')
        .next()
        .map(str::to_string)
}

#[tokio::test]
async fn first_run_setup_needs_the_token_and_works_once() {
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a setup token on first start");
    let c = client();

    let status = app.call(&c, "public/setup_status", &[]).await;
    assert_eq!(status.body, r#"{"needed":true}"#);

    let bad = app
        .call(
            &c,
            "public/setup",
            &[
                ("token", "wrong"),
                ("username", "root"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, 403);

    let mismatch = app
        .call(
            &c,
            "public/setup",
            &[
                ("token", &token),
                ("username", "root"),
                ("password", PASSWORD),
                ("confirm", "other password"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.error().for_field("confirm").is_some());

    let ok = app
        .call(
            &c,
            "public/setup",
            &[
                ("token", &token),
                ("username", "root"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Gone once an admin exists, even with the right token.
    let again = app
        .call(
            &c,
            "public/setup",
            &[
                ("token", &token),
                ("username", "root2"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, 403);
    assert_eq!(
        app.call(&c, "public/setup_status", &[]).await.body,
        r#"{"needed":false}"#
    );

    let login = app
        .call(
            &c,
            "public/login",
            &[("username", "root"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains(r#""role":"admin""#));
}

#[tokio::test]
async fn no_setup_token_when_an_admin_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let first = common::spawn_app_with(|c| c.database_url = db_url.clone()).await;
    first.add_user("boss", Role::Admin).await;
    let second = common::spawn_app_with(|c| c.database_url = db_url.clone()).await;
    assert!(second.setup_token.is_none());
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_message() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Staff).await;
    let c = client();
    let wrong = app
        .call(
            &c,
            "public/login",
            &[("username", "ada"), ("password", "not the password")],
        )
        .await;
    let unknown = app
        .call(
            &c,
            "public/login",
            &[("username", "nobody"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.error().to_string(), "Wrong username or password.");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&(Some("ada".into()), "auth.login".into(), "failed".into())));
}

#[tokio::test]
async fn login_changes_the_session_id_and_logout_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Operator).await;
    let c = client();
    // An anonymous call that touches the session, to get a pre-login cookie if any is set.
    let before = c.post(app.url("/api/public/me")).send().await.unwrap();
    let before_cookie = session_cookie(before.headers().get("set-cookie"));

    let res = c
        .post(app.url("/api/public/login"))
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert_ne!(
        Some(set_cookie.split(';').next().unwrap().to_string()),
        before_cookie
    );

    let me = app.call(&c, "public/me", &[]).await;
    assert!(me.body.contains(r#""username":"ada""#), "{}", me.body);

    assert_eq!(app.call(&c, "public/logout", &[]).await.status, 200);
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
}

/// The sign-out button is a real form: clicked before the wasm has hydrated, the browser posts
/// it itself, and the answer must take it to the sign-in page with the session gone.
#[tokio::test]
async fn a_plain_form_sign_out_ends_the_session_and_lands_on_sign_in() {
    let app = spawn_app().await;
    let c = app.signed_in("ada", Role::Staff).await;
    let res = c
        .post(app.url("/api/public/logout"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("sec-fetch-site", "same-origin")
        .header("referer", app.url("/chat"))
        .form(&[] as &[(&str, &str)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
    // The wasm's own call is answered with data (and a redirect header), not a 302.
    let c = app.signed_in("bea", Role::Staff).await;
    let answer = c
        .post(app.url("/api/public/logout"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
}

#[tokio::test]
async fn five_failures_throttle_further_attempts() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Staff).await;
    let c = client();
    for _ in 0..5 {
        let a = app
            .call(
                &c,
                "public/login",
                &[("username", "ada"), ("password", "bad password")],
            )
            .await;
        assert_eq!(a.status, 422);
    }
    // Even the right password is refused now, with a time to wait.
    let a = app
        .call(
            &c,
            "public/login",
            &[("username", "ada"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 429);
    match a.error() {
        AppError::TooManyAttempts { minutes } => assert!((1..=15).contains(&minutes)),
        other => panic!("{other:?}"),
    }
    assert!(a
        .error()
        .to_string()
        .starts_with("Too many attempts, try again in"));
    // The same client address is throttled for other usernames too.
    let other = app
        .call(
            &c,
            "public/login",
            &[("username", "someone"), ("password", "x")],
        )
        .await;
    assert_eq!(other.status, 429);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_their_session() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let staff = app.signed_in("ada", Role::Staff).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ada'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let r = app
        .call(
            &admin,
            "admin/users/set_disabled",
            &[("id", &id.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.call(&staff, "public/me", &[]).await.body, "null");
    let again = app
        .call(
            &client(),
            "public/login",
            &[("username", "ada"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.error().to_string(), "Wrong username or password.");
}

#[tokio::test]
async fn sessions_expire_after_the_absolute_lifetime() {
    let app =
        common::spawn_app_with(|c| c.session_absolute = std::time::Duration::from_millis(300))
            .await;
    let c = app.signed_in("ada", Role::Staff).await;
    assert!(app.call(&c, "public/me", &[]).await.body.contains("ada"));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
}

/// The idle expiry is measured from the last request, not from sign-in: an active user stays
/// signed in past the idle window, an idle one does not.
#[tokio::test]
async fn an_active_session_outlives_the_idle_window_and_an_idle_one_ends() {
    let idle = std::time::Duration::from_secs(3);
    let app = common::spawn_app_with(|c| c.session_idle = idle).await;
    let c = app.signed_in("ada", Role::Staff).await;
    // Six seconds of activity, twice the idle window.
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert!(
            app.call(&c, "public/me", &[]).await.body.contains("ada"),
            "signed out while active"
        );
    }
    tokio::time::sleep(idle + std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.call(&c, "public/me", &[]).await.body, "null");
}
