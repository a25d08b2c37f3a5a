use crate::common;

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
    let db_url = common::fresh_database_url(dir.path()).await;
    // One data directory too: the instances on one database share its secret key.
    let on_shared = |c: &mut letta_admin::config::Config| {
        c.database_url = db_url.clone();
        c.data_dir = dir.path().to_path_buf();
    };
    let first = common::spawn_app_with(on_shared).await;
    first.add_user("boss", Role::Admin).await;
    let second = common::spawn_app_with(on_shared).await;
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

async fn sign_in(
    app: &common::TestApp,
    c: &reqwest::Client,
    user: &str,
    pw: &str,
) -> common::Answer {
    app.call(c, "public/login", &[("username", user), ("password", pw)])
        .await
}

#[tokio::test]
async fn five_failures_throttle_that_username_from_that_address() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Staff).await;
    let c = client();
    for _ in 0..5 {
        assert_eq!(sign_in(&app, &c, "ada", "bad password").await.status, 422);
    }
    // Even the right password is refused now, with a time to wait.
    let a = sign_in(&app, &c, "ada", PASSWORD).await;
    assert_eq!(a.status, 429);
    match a.error() {
        AppError::TooManyAttempts { minutes } => assert!((1..=15).contains(&minutes)),
        other => panic!("{other:?}"),
    }
    assert!(a
        .error()
        .to_string()
        .starts_with("Too many attempts, try again in"));
    let retry: u32 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((60..=15 * 60).contains(&retry), "{retry}");
    // Another username from the same address is not locked by ada's failures.
    app.add_user("bea", Role::Staff).await;
    assert_eq!(sign_in(&app, &c, "bea", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn thirty_simultaneous_wrong_passwords_get_five_password_checks() {
    let app = spawn_app().await;
    app.add_user("ada", Role::Staff).await;
    let c = client();
    let answers =
        futures::future::join_all((0..30).map(|_| sign_in(&app, &c, "ada", "bad password"))).await;
    let checked = answers.iter().filter(|a| a.status == 422).count();
    let throttled = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        (checked, throttled),
        (5, 25),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let failed_checks = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(_, action, outcome)| action == "auth.login" && outcome == "failed")
        .count();
    assert_eq!(failed_checks, 5);
}

/// A second dashboard on `first`'s database (and data directory, for the key file).
async fn twin(first: &common::TestApp) -> common::TestApp {
    let (dir, db) = (
        first.state.config.data_dir.clone(),
        first.state.config.database_url.clone(),
    );
    common::spawn_app_with(move |c| {
        c.data_dir = dir;
        c.database_url = db;
    })
    .await
}

#[tokio::test]
async fn thirty_simultaneous_wrong_passwords_through_two_instances_get_five_password_checks() {
    // The throttle's count-and-insert is atomic in the database itself (on Postgres under an
    // advisory lock per client address), not in one process: alternating instances on one
    // database share the limit.
    let a = spawn_app().await;
    let b = twin(&a).await;
    a.add_user("ada", Role::Staff).await;
    let c = client();
    let answers = futures::future::join_all((0..30).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        sign_in(app, &c, "ada", "bad password")
    }))
    .await;
    let checked = answers.iter().filter(|a| a.status == 422).count();
    let throttled = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        (checked, throttled),
        (5, 25),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn two_setups_at_once_on_two_instances_make_exactly_one_admin() {
    let a = spawn_app().await;
    let b = twin(&a).await;
    async fn setup(app: &common::TestApp, username: &str) -> u16 {
        let token = app
            .setup_token
            .clone()
            .expect("a setup token on a fresh database");
        app.call(
            &client(),
            "public/setup",
            &[
                ("token", token.as_str()),
                ("username", username),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await
        .status
    }
    let (sa, sb) = tokio::join!(setup(&a, "roota"), setup(&b, "rootb"));
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert_ne!(statuses[1], 200, "{statuses:?}");
    assert_eq!(
        letta_admin::db::users::count_active_admins(&a.state.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn twenty_first_admins_at_once_through_two_pools_make_exactly_one() {
    // The statement behind setup, raced without the password hashing in between: on Postgres
    // (READ COMMITTED) each insert's NOT EXISTS would see no admin in its snapshot.
    let a = spawn_app().await;
    let b = twin(&a).await;
    let made = futures::future::join_all((0..20).map(|i| {
        let db = if i % 2 == 0 {
            a.state.db.clone()
        } else {
            b.state.db.clone()
        };
        async move {
            letta_admin::db::users::insert_first_admin(&db, &format!("admin{i:02}"), "x")
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(made.iter().flatten().count(), 1, "{made:?}");
    assert_eq!(
        letta_admin::db::users::count_active_admins(&a.state.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_real_user_out() {
    let app = spawn_app().await;
    app.add_user("root", Role::Admin).await;
    // Someone elsewhere fails with the admin's name until they are throttled, and goes on.
    let stranger = common::client_from(2);
    for _ in 0..8 {
        let status = sign_in(&app, &stranger, "root", "guess").await.status;
        assert!(status == 422 || status == 429, "{status}");
    }
    assert_eq!(sign_in(&app, &stranger, "root", PASSWORD).await.status, 429);
    // The admin, from their own address, still gets in (slowed down, not blocked)...
    let admin = common::client_from(3);
    let a = sign_in(&app, &admin, "root", PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // ...and so does the stranger's address for a username it did not attack.
    app.add_user("cleo", Role::Staff).await;
    assert_eq!(sign_in(&app, &stranger, "cleo", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn one_address_trying_many_usernames_is_throttled() {
    let app = spawn_app().await;
    let sprayer = common::client_from(4);
    for i in 0..20 {
        let a = sign_in(&app, &sprayer, &format!("user{i}"), "Summer2026!").await;
        assert_eq!(a.status, 422, "attempt {i}: {}", a.body);
    }
    let a = sign_in(&app, &sprayer, "user99", "Summer2026!").await;
    assert_eq!(a.status, 429);
    // Other addresses are unaffected.
    app.add_user("dan", Role::Staff).await;
    assert_eq!(sign_in(&app, &client(), "dan", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_their_session() {
    let app = spawn_app().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let staff = app.signed_in("ada", Role::Staff).await;
    let id: i64 = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT id FROM users WHERE username = 'ada'"
    )
    .fetch_one(pool)
    .await)
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

/// Signs in with the given forwarding headers; returns the status and the Set-Cookie values.
async fn sign_in_forwarded(
    app: &common::TestApp,
    c: &reqwest::Client,
    user: &str,
    pw: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<String>) {
    let mut req = c
        .post(app.url("/api/public/login"))
        .header("accept", "application/json")
        .form(&[("username", user), ("password", pw)]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (res.status().as_u16(), cookies)
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_counts_and_https_makes_the_cookie_secure() {
    let app = common::spawn_app_with(|c| {
        c.trusted_proxies = letta_admin::proxy::Cidr::parse_list("127.0.0.1").unwrap();
    })
    .await;
    app.add_user("ada", Role::Staff).await;
    let proxy = client();
    // The throttle keys on the client the proxy names, not on the proxy.
    for _ in 0..5 {
        let (status, _) = sign_in_forwarded(
            &app,
            &proxy,
            "ada",
            "bad",
            &[("x-forwarded-for", "203.0.113.9")],
        )
        .await;
        assert_eq!(status, 422);
    }
    let (status, _) = sign_in_forwarded(
        &app,
        &proxy,
        "ada",
        PASSWORD,
        &[("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(status, 429);
    let (status, cookies) = sign_in_forwarded(
        &app,
        &proxy,
        "ada",
        PASSWORD,
        &[
            ("x-forwarded-for", "203.0.113.10"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("letta_admin_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
    // Over plain http through the same proxy: not Secure (the browser would drop it).
    let (_, cookies) = sign_in_forwarded(
        &app,
        &client(),
        "ada",
        PASSWORD,
        &[("x-forwarded-proto", "http")],
    )
    .await;
    assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
    // The audit log names the forwarded client.
    let details: Vec<String> = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COALESCE(detail, '') FROM audit_log WHERE action = 'auth.login'",
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert!(details.iter().any(|d| d == "203.0.113.10"), "{details:?}");
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    // Only 127.0.0.1 is trusted; this client connects from 127.0.0.5.
    let app = common::spawn_app_with(|c| {
        c.trusted_proxies = letta_admin::proxy::Cidr::parse_list("127.0.0.1").unwrap();
    })
    .await;
    app.add_user("ada", Role::Staff).await;
    let direct = common::client_from(5);
    for i in 0..5 {
        let ip = format!("198.51.100.{i}");
        let (status, _) =
            sign_in_forwarded(&app, &direct, "ada", "bad", &[("x-forwarded-for", &ip)]).await;
        assert_eq!(status, 422);
    }
    // A new made-up address does not help: the throttle sees 127.0.0.5 every time.
    let (status, _) = sign_in_forwarded(
        &app,
        &direct,
        "ada",
        PASSWORD,
        &[("x-forwarded-for", "198.51.100.99")],
    )
    .await;
    assert_eq!(status, 429);
    // Nor does claiming https.
    let other = common::client_from(6);
    let (status, cookies) = sign_in_forwarded(
        &app,
        &other,
        "ada",
        PASSWORD,
        &[("x-forwarded-proto", "https")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
}

#[tokio::test]
async fn an_https_only_dashboard_uses_a_host_only_secure_cookie() {
    let app = common::spawn_app_with(|c| c.cookie_secure = true).await;
    app.add_user("ada", Role::Staff).await;
    let (status, cookies) = sign_in_forwarded(&app, &client(), "ada", PASSWORD, &[]).await;
    assert_eq!(status, 200);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-letta_admin_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        session.contains("Secure") && session.contains("Path=/"),
        "{session}"
    );
    assert!(
        !session.to_ascii_lowercase().contains("domain="),
        "{session}"
    );
}

/// A real nginx (Debian's package) in front of the app: plain http on one port and TLS (a
/// self-signed certificate made with openssl) on another, both sending the usual forwarding
/// headers. `None` (the test is skipped) when nginx is not installed, unless
/// `NGINX_REQUIRED=1` (scripts/test.sh) makes that a failure.
struct Nginx {
    child: std::process::Child,
    http: String,
    https: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn nginx_in_front_of(app: &common::TestApp) -> Option<Nginx> {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(bin) = bin else {
        assert!(
            std::env::var("NGINX_REQUIRED").as_deref() != Ok("1"),
            "NGINX_REQUIRED=1 but nginx is not installed"
        );
        eprintln!("SKIPPED: nginx is not installed");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(d.join("key.pem"))
        .arg("-out")
        .arg(d.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl could not make a certificate");
    let (http, https) = (free_port(), free_port());
    let forward = format!(
        "proxy_pass http://{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;",
        upstream = app.addr
    );
    let conf = format!(
        "daemon off;
        pid {d}/nginx.pid;
        error_log {d}/error.log;
        events {{ worker_connections 64; }}
        http {{
          access_log off;
          client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
          fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
          server {{ listen 127.0.0.1:{http}; location / {{ {forward} }} }}
          server {{
            listen 127.0.0.1:{https} ssl;
            ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem;
            location / {{ {forward} }}
          }}
        }}",
        d = d.display()
    );
    std::fs::write(d.join("nginx.conf"), conf).unwrap();
    let child = std::process::Command::new(bin)
        .arg("-p")
        .arg(&d)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let nginx = Nginx {
        child,
        http: format!("http://127.0.0.1:{http}"),
        https: format!("https://127.0.0.1:{https}"),
        _dir: dir,
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/healthz", nginx.http))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Some(nginx);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "nginx did not come up: {}",
        std::fs::read_to_string(d.join("error.log")).unwrap_or_default()
    );
}

/// Signs in through `base` (the proxy) from loopback address 127.0.0.`n`.
async fn sign_in_via(base: &str, n: u8, user: &str, pw: &str) -> (u16, Vec<String>) {
    let c = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, n]))
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let res = c
        .post(format!("{base}/api/public/login"))
        .header("accept", "application/json")
        .form(&[("username", user), ("password", pw)])
        .send()
        .await
        .unwrap();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (res.status().as_u16(), cookies)
}

#[tokio::test]
async fn through_a_real_nginx_the_throttle_keys_on_each_client_and_https_makes_the_cookie_secure() {
    // nginx connects to the app from 127.0.0.1: that is the trusted proxy.
    let app = common::spawn_app_with(|c| {
        c.trusted_proxies = letta_admin::proxy::Cidr::parse_list("127.0.0.1").unwrap();
    })
    .await;
    let Some(nginx) = nginx_in_front_of(&app).await else {
        return;
    };
    app.add_user("ada", Role::Staff).await;
    // A stranger at 127.0.0.8 fails until throttled...
    for _ in 0..5 {
        assert_eq!(sign_in_via(&nginx.http, 8, "ada", "bad").await.0, 422);
    }
    assert_eq!(sign_in_via(&nginx.http, 8, "ada", PASSWORD).await.0, 429);
    // ...while ada at 127.0.0.9, through the same proxy, is not (everyone would share the
    // proxy's address without the trusted-proxy setting).
    let (status, cookies) = sign_in_via(&nginx.http, 9, "ada", PASSWORD).await;
    assert_eq!(status, 200);
    assert!(
        cookies.iter().all(|c| !c.contains("Secure")),
        "plain http: {cookies:?}"
    );
    // Over TLS at the proxy, the cookie is Secure.
    let (status, cookies) = sign_in_via(&nginx.https, 10, "ada", PASSWORD).await;
    assert_eq!(status, 200);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("letta_admin_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
    // The audit log names the real clients, not the proxy.
    let details: Vec<String> = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COALESCE(detail, '') FROM audit_log WHERE action = 'auth.login'",
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert!(details.iter().any(|d| d == "127.0.0.8"), "{details:?}");
    assert!(details.iter().any(|d| d == "127.0.0.10"), "{details:?}");
    // The proxy's request id reaches the answer.
    let r = reqwest::get(format!("{}/healthz", nginx.http))
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32, "nginx's $request_id: {id}");
}

#[tokio::test]
async fn through_nginx_without_the_trusted_proxy_setting_everyone_is_the_proxy() {
    let app = spawn_app().await;
    let Some(nginx) = nginx_in_front_of(&app).await else {
        return;
    };
    app.add_user("ada", Role::Staff).await;
    // TLS at a proxy the dashboard does not trust: the cookie stays as configured.
    let (status, cookies) = sign_in_via(&nginx.https, 13, "ada", PASSWORD).await;
    assert_eq!(status, 200);
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| !c.contains("Secure")),
        "{cookies:?}"
    );
    for _ in 0..5 {
        assert_eq!(sign_in_via(&nginx.http, 11, "ada", "bad").await.0, 422);
    }
    // Another client is throttled too: the forwarding headers are not believed.
    assert_eq!(sign_in_via(&nginx.http, 12, "ada", PASSWORD).await.0, 429);
}
