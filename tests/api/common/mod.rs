//! `spawn_app()`: the whole application on port 0 with its own temporary database, and HTTP
//! clients that keep cookies like a browser.
//!
//! The database is a SQLite file in a temporary directory, or with `TEST_DATABASE=postgres`
//! a fresh Postgres database (`CREATE DATABASE t_<random>` on the server `TEST_POSTGRES_URL`
//! names, e.g. the throwaway cluster of scripts/pg-throwaway.sh): every app its own, so the
//! tests stay independent and run in parallel on either backend.
#![allow(dead_code)]

pub mod fake_letta;

use std::net::SocketAddr;

use letta_admin::{auth::Role, config::Config, startup::Application};
use serde::de::DeserializeOwned;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub setup_token: Option<String>,
    pub state: letta_admin::state::AppState,
    server: tokio::task::JoinHandle<()>,
    /// The runtime the app was built and runs on; `None` once dropped.
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "correct horse battery";

/// The real Letta peer for contract tests: `LETTA_BASE_URL` / `LETTA_SERVER_PASSWORD`.
/// Without it the test is skipped loudly, unless `LETTA_CONTRACT_REQUIRED=1` (scripts/test.sh),
/// which makes a missing peer a failure.
pub fn letta_peer() -> Option<(String, String)> {
    match std::env::var("LETTA_BASE_URL") {
        Ok(url) if !url.is_empty() => Some((
            url,
            std::env::var("LETTA_SERVER_PASSWORD").unwrap_or_default(),
        )),
        _ => {
            assert!(
                std::env::var("LETTA_CONTRACT_REQUIRED").as_deref() != Ok("1"),
                "LETTA_CONTRACT_REQUIRED=1 but LETTA_BASE_URL is not set"
            );
            eprintln!("SKIPPED: no Letta peer (set LETTA_BASE_URL)");
            None
        }
    }
}

/// Whether this run puts the apps on Postgres (`TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE").as_deref() == Ok("postgres")
}

/// The URL of a new, empty database: on Postgres a new database on the test server, on SQLite
/// a file in `dir`. For tests that start several apps on one database.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("letta-admin.db").display());
    }
    let admin = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_DATABASE=postgres needs TEST_POSTGRES_URL (scripts/pg-throwaway.sh start)");
    new_postgres_database(&admin).await
}

/// A new, empty database on the Postgres server at `admin` (a URL with CREATE DATABASE rights).
pub async fn new_postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "t_{}",
        hex::encode(letta_admin::crypto::random_bytes::<8>().unwrap())
    );
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to TEST_POSTGRES_URL: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let _ = conn.close().await;
    let mut url = url::Url::parse(admin).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_site(adjust, "target/site", false).await
}

/// The app serving built assets from `site_root`, with content-hashed names or without.
pub async fn spawn_app_with_site(
    adjust: impl FnOnce(&mut Config),
    site_root: &str,
    hash_files: bool,
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_dir(dir.path());
    let default_url = config.database_url.clone();
    adjust(&mut config);
    // A database of its own unless the test named one (a second instance on another app's).
    if on_postgres() && config.database_url == default_url {
        config.database_url = fresh_database_url(dir.path()).await;
    }
    if on_postgres() {
        // Each test's app has a pool of its own: a few connections are plenty.
        config.db_max_connections = 6;
    }
    let options = leptos::config::LeptosOptions::builder()
        .output_name("letta_admin")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .hash_files(hash_files)
        .site_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let runtime = app_runtime();
    let server = runtime.spawn(async move {
        let app = Application::build(config, options)
            .await
            .expect("app builds");
        let _ = tx.send((app.addr, app.setup_token.clone(), app.state.clone()));
        let _ = app.run_until_stopped().await;
    });
    let (addr, setup_token, state) = rx.await.expect("app builds");
    TestApp {
        addr,
        base: format!("http://{addr}"),
        setup_token,
        state,
        server,
        runtime: Some(runtime),
        _dir: dir,
    }
}

/// The runtime an app starts on: ONE worker of its own that lives as long as the app, like the
/// real server's main runtime (src/main.rs). With LETTA_ADMIN_WORKERS above 1 (scripts/test.sh
/// sets 2) the app then serves its requests on worker threads of its own (src/serve.rs); with
/// 1, on this runtime. Each `#[tokio::test]` has its own runtime on its own thread; apps
/// started from those would end with them mid-request. The tests' own code (clients, fake
/// Letta) stays on the test's runtime.
///
/// One runtime per app, not one for the whole binary: an app's background tasks (heartbeat,
/// sweeper, pruning) and its pool's connections (a thread and files each on SQLite) end with
/// it, as with a process that exits. With every module of the suite in one process, apps left
/// running on a shared runtime would pile up to hundreds (threads, open files, heartbeats).
fn app_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("app-server")
        .enable_all()
        .build()
        .expect("app runtime")
}

impl Drop for TestApp {
    /// The test is over: stop answering on its port; then, off the test's thread, close the
    /// pool (on Postgres its connections would pile up on the server) and end the app's
    /// runtime with every background task still on it.
    fn drop(&mut self) {
        self.server.abort();
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let db = self.state.db.clone();
        std::thread::spawn(move || {
            runtime.block_on(async {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), db.close()).await;
            });
            runtime.shutdown_background();
        });
    }
}

/// A browser-like client: keeps cookies, never follows redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        // A request the app never answers fails the test instead of hanging the suite.
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A browser-like client that connects from another loopback address (`127.0.0.<n>`): to the
/// app, a different client address, as another machine would be.
pub fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, n]))
        .build()
        .expect("client")
}

pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.body))
    }

    pub fn error(&self) -> letta_admin::error::AppError {
        self.json()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls a server function the way the browser does (form-encoded POST, JSON answer).
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let res = client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request");
        Answer {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    /// Creates a user directly in the database (as the CLI would).
    pub async fn add_user(&self, username: &str, role: Role) {
        let hash = letta_admin::auth::password::hash(PASSWORD.into())
            .await
            .unwrap();
        letta_admin::db::users::insert(&self.state.db, username, &hash, role)
            .await
            .unwrap();
    }

    /// Connects the dashboard to the fake Letta through the Settings server function, as an
    /// operator would (`c` must be an operator's client); fails the test if it is refused.
    pub async fn connect_to_fake(
        &self,
        c: &reqwest::Client,
        fake: &fake_letta::FakeLetta,
        timeout_secs: &str,
    ) {
        let saved = self
            .call(
                c,
                "operator/settings/save",
                &[
                    ("form[base_url]", fake.url.as_str()),
                    ("form[password]", fake_letta::FakeLetta::PASSWORD),
                    ("form[timeout_secs]", timeout_secs),
                ],
            )
            .await;
        assert_eq!(saved.status, 200, "{}", saved.body);
    }

    /// A signed-in client for a new user with `role`.
    pub async fn signed_in(&self, username: &str, role: Role) -> reqwest::Client {
        self.add_user(username, role).await;
        let c = client();
        let a = self
            .call(
                &c,
                "public/login",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(a.status, 200, "login failed: {}", a.body);
        c
    }

    /// Runs a script (one or more statements) written once per backend.
    pub async fn exec_sql(&self, sqlite: &str, postgres: &str) {
        match &self.state.db {
            letta_admin::db::Db::Sqlite(p) => {
                sqlx::raw_sql(sqlite).execute(p).await.unwrap();
            }
            letta_admin::db::Db::Postgres(p) => {
                sqlx::raw_sql(postgres).execute(p).await.unwrap();
            }
        }
    }

    pub async fn audit_actions(&self) -> Vec<(Option<String>, String, String)> {
        letta_admin::with_pool!(&self.state.db, |pool| sqlx::query_as(
            "SELECT actor, action, outcome FROM audit_log ORDER BY id"
        )
        .fetch_all(pool)
        .await)
        .unwrap()
    }
}

/// Everything logged at WARN and above since the first `capture_warnings()`, from every thread
/// (the apps' server runtime included) and by every module of the test binary (they share the
/// process, so also by other tests running at the same time): for tests that check what the
/// logs must never carry.
pub fn warnings_logged() -> String {
    String::from_utf8_lossy(&lock(&log_capture().warnings)).into_owned()
}

/// Starts capturing WARN and ERROR lines (idempotent); call it before the app acts.
pub fn capture_warnings() {
    log_capture();
}

/// Captures everything logged at DEBUG and above while the returned guard lives: from every
/// thread, so also what other tests running at the same time log.
pub fn capture_debug() -> DebugCapture {
    let logs = log_capture();
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    lock(&logs.debug).push(buf.clone());
    DEBUG_CAPTURES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    DebugCapture(buf)
}

pub struct DebugCapture(Buffer);

impl DebugCapture {
    /// What was logged since the capture started.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl Drop for DebugCapture {
    fn drop(&mut self) {
        lock(&log_capture().debug).retain(|b| !std::sync::Arc::ptr_eq(b, &self.0));
        DEBUG_CAPTURES.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

type Buffer = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

/// How many `DebugCapture`s are alive: DEBUG and INFO lines are formatted only then.
static DEBUG_CAPTURES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct LogCapture {
    warnings: Buffer,
    /// The live debug captures' buffers.
    debug: std::sync::Arc<std::sync::Mutex<Vec<Buffer>>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The test binary's one global log subscriber, installed on first use: WARN and above always
/// into `warnings`, DEBUG and above into each live debug capture. One subscriber for all
/// modules: a process can install only one, and a second attempt would fail (or be ignored).
fn log_capture() -> &'static LogCapture {
    static LOGS: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::{
            filter::{filter_fn, LevelFilter},
            layer::SubscriberExt,
            util::SubscriberInitExt,
            Layer,
        };
        let warnings: Buffer = Default::default();
        let debug: std::sync::Arc<std::sync::Mutex<Vec<Buffer>>> = Default::default();
        let to_warnings = CaptureWriter(vec![warnings.clone()]);
        let captures = debug.clone();
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || to_warnings.clone())
                    .with_filter(LevelFilter::WARN),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || CaptureWriter(lock(&captures).clone()))
                    .with_filter(
                        filter_fn(|meta| {
                            *meta.level() <= tracing::Level::DEBUG
                                && DEBUG_CAPTURES.load(std::sync::atomic::Ordering::SeqCst) > 0
                        })
                        .with_max_level_hint(LevelFilter::DEBUG),
                    ),
            )
            .try_init()
            .expect("the test binary's only log subscriber");
        LogCapture { warnings, debug }
    })
}

/// Appends each line to every buffer it holds.
#[derive(Clone)]
struct CaptureWriter(Vec<Buffer>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        for buf in &self.0 {
            lock(buf).extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A person made through the dashboard (its Letta identity and persona block created), as the
/// chat and scenario tests need it.
pub struct Person {
    pub id: i64,
    pub block_id: String,
    pub identity_id: String,
}

/// Creates `username` as an operator would and reads back its stored Letta ids.
pub async fn person(app: &TestApp, op: &reqwest::Client, username: &str) -> Person {
    let a = app
        .call(
            op,
            "operator/persons/create",
            &[
                ("form[username]", username),
                ("form[display_name]", &format!("{username} display")),
                ("form[notes]", ""),
            ],
        )
        .await;
    let letta_admin::features::persons::api::CreateOutcome::Created(summary) = a.json() else {
        panic!("{}", a.body)
    };
    let p: letta_admin::features::persons::api::PersonDetail = app
        .call(op, "staff/persons/get", &[("id", &summary.id.to_string())])
        .await
        .json();
    Person {
        id: p.id,
        block_id: p.block_id.unwrap(),
        identity_id: p.identity_id.unwrap(),
    }
}
