//! `letta-admin backup` and `letta-admin restore`, always through the real binary: a backup
//! taken while twenty chat turns run is whole and serves the same users, persons and persona
//! history; a restore is refused while a dashboard uses the database and brings back the
//! backed-up data once it stopped; the backup and its key are owner-only and never overwritten
//! without `--force`; a restore checks the backup and its key before it replaces anything.
use crate::common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fake_letta::FakeLetta, spawn_app, spawn_app_with, TestApp};
use letta_admin::{
    auth::Role,
    features::{
        chat::model::{LineBuffer, PartKind, TurnEvent},
        persona::api::{PersonaState, SaveOutcome, Version},
        persons::api::{CreateOutcome, PersonsPage},
    },
};
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_letta-admin");

/// The bound on every wait in these tests: only a hung test reaches it.
const LIMIT: Duration = Duration::from_secs(60);

/// What one run of the binary said.
#[derive(Debug)]
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// The binary with a clean environment on the data directory `data` (plus `env`).
fn command(data: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LETTA_ADMIN_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    cmd
}

/// Runs `letta-admin args…` to its end (off the test's runtime, which serves the fake Letta
/// meanwhile); `stdin` is written to its standard input.
async fn run(data: &Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    let mut cmd = command(data, env);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("start letta-admin");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

async fn backup(data: &Path, env: &[(&str, &str)], path: &Path, force: bool) -> Run {
    let path = path.to_str().unwrap();
    let args: &[&str] = if force {
        &["backup", path, "--force"]
    } else {
        &["backup", path]
    };
    run(data, env, args, "").await
}

async fn restore(data: &Path, env: &[(&str, &str)], path: &Path) -> Run {
    run(data, env, &["restore", path.to_str().unwrap()], "").await
}

async fn create_user(data: &Path, env: &[(&str, &str)], username: &str, role: &str) {
    let r = run(
        data,
        env,
        &["create-user", username, role],
        &format!("{}\n", common::PASSWORD),
    )
    .await;
    assert!(r.ok, "create-user {username}: {r:?}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// The files in `dir` whose names contain `part`.
fn files_named(dir: &Path, part: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(part))
        .collect();
    names.sort();
    names
}

/// A read-only connection: closing it never checkpoints a database's WAL away (what a
/// restore must deal with stays as the dashboard left it).
async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

async fn integrity_check(path: &Path) -> Vec<String> {
    let mut db = sqlite(path).await;
    let rows = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    rows
}

async fn strings(path: &Path, sql: &str) -> Vec<String> {
    let mut db = sqlite(path).await;
    let rows = sqlx::query_scalar(sql).fetch_all(&mut db).await.unwrap();
    db.close().await.unwrap();
    rows
}

async fn count(path: &Path, table: &str) -> i64 {
    let mut db = sqlite(path).await;
    let n = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    n
}

fn now_ms() -> i64 {
    letta_admin::db::now_ms()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP side of a dashboard, in-process ([`TestApp`]) or a real process ([`Dashboard`]).
trait Site {
    fn base(&self) -> &str;
}

impl Site for TestApp {
    fn base(&self) -> &str {
        &self.base
    }
}

async fn call(
    site: &impl Site,
    c: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let res = c
        .post(format!("{}/api/{endpoint}", site.base()))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

async fn call_json<T: serde::de::DeserializeOwned>(
    site: &impl Site,
    c: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> T {
    let (status, body) = call(site, c, endpoint, form).await;
    assert_eq!(status, 200, "{endpoint}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{endpoint} ({e}): {body}"))
}

/// A client signed in as `username`, or the status of the refused sign-in.
async fn sign_in(site: &impl Site, username: &str) -> Result<reqwest::Client, u16> {
    let c = common::client();
    let (status, _) = call(
        site,
        &c,
        "public/login",
        &[("username", username), ("password", common::PASSWORD)],
    )
    .await;
    if status == 200 {
        Ok(c)
    } else {
        Err(status)
    }
}

async fn create_person(site: &impl Site, op: &reqwest::Client, username: &str) -> i64 {
    let created: CreateOutcome = call_json(
        site,
        op,
        "operator/persons/create",
        &[
            ("form[username]", username),
            ("form[display_name]", &format!("{username} display")),
            ("form[notes]", ""),
        ],
    )
    .await;
    let CreateOutcome::Created(p) = created else {
        panic!("{created:?}")
    };
    p.id
}

/// Every person, as the persons page lists them (sorted by username).
async fn persons(site: &impl Site, c: &reqwest::Client) -> PersonsPage {
    call_json(site, c, "staff/persons/list", &[("query[search]", "")]).await
}

fn usernames(page: &PersonsPage) -> Vec<&str> {
    page.persons.iter().map(|p| p.username.as_str()).collect()
}

/// The person's `Persona_` block, read from Letta through the dashboard: only a dashboard
/// that can decrypt the stored Letta password gets it.
async fn persona(site: &impl Site, c: &reqwest::Client, person_id: i64) -> PersonaState {
    call_json(
        site,
        c,
        "staff/persona/get",
        &[("person_id", &person_id.to_string())],
    )
    .await
}

async fn history(site: &impl Site, c: &reqwest::Client, person_id: i64) -> Vec<Version> {
    call_json(
        site,
        c,
        "staff/persona/history",
        &[("person_id", &person_id.to_string())],
    )
    .await
}

async fn edit_persona(site: &impl Site, op: &reqwest::Client, person_id: i64, tea: &str) {
    let current = persona(site, op, person_id).await;
    let value = format!(
        r#"{{"name":"{} display","preferences":{{"tea":"{tea}"}},"conversation_history":[]}}"#,
        current.username
    );
    let saved: SaveOutcome = call_json(
        site,
        op,
        "operator/persona/save",
        &[
            ("save[person_id]", &person_id.to_string()),
            ("save[base]", &current.value),
            ("save[value]", &value),
            ("save[limit]", ""),
        ],
    )
    .await;
    assert!(matches!(saved, SaveOutcome::Saved(_)), "{saved:?}");
}

/// A dashboard process on `data`, on a port of its own, once it answers `/healthz`; dropping
/// it kills it.
struct Dashboard {
    base: String,
    child: Child,
    log: PathBuf,
}

impl Site for Dashboard {
    fn base(&self) -> &str {
        &self.base
    }
}

impl Dashboard {
    async fn start(data: &Path, env: &[(&str, &str)], log: PathBuf) -> Dashboard {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = command(data, env)
            .env("LEPTOS_OUTPUT_NAME", "letta_admin")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start letta-admin");
        let mut d = Dashboard {
            base: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        let health = format!("{}/healthz", d.base);
        let deadline = Instant::now() + LIMIT;
        while !reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            if let Some(status) = d.child.try_wait().unwrap() {
                panic!("letta-admin exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the dashboard did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        d
    }

    /// SIGKILL: no clean stop, its instance stays registered.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- dashboard log ({}) ---\n{log}", self.base);
        }
    }
}

#[tokio::test]
async fn a_backup_taken_during_twenty_chat_turns_is_whole_and_serves_the_same_data() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(create_person(&app, &op, &format!("p{i:02}")).await);
    }
    // History beyond "create": two edits on every fourth person.
    for &id in ids.iter().step_by(4) {
        edit_persona(&app, &op, id, "green").await;
        edit_persona(&app, &op, id, "black").await;
    }
    // Twenty staff members, one turn each (one user may hold only a few turns at once).
    let mut staff = Vec::new();
    for i in 0..20 {
        staff.push(app.signed_in(&format!("staff{i:02}"), Role::Staff).await);
    }
    let agent = fake.add_agent("helper");
    fake.set_stream_delay(Duration::from_millis(20));
    let mut turns = Vec::new();
    for (i, &pid) in ids.iter().enumerate() {
        let (base, c, agent) = (app.base.clone(), staff[i].clone(), agent.clone());
        turns.push(tokio::spawn(async move {
            let text = format!("message from p{i:02} {}", "word ".repeat(8));
            let res = c
                .post(format!("{base}/api/staff/chat/send"))
                .form(&[
                    ("send[agent_id]", agent.as_str()),
                    ("send[person_id]", &pid.to_string()),
                    ("send[text]", &text),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let body = res.text().await.unwrap();
            let events: Vec<TurnEvent> = LineBuffer::default()
                .feed(&body)
                .into_iter()
                .map(|e| e.unwrap())
                .collect();
            (text, events)
        }));
    }

    // The backup, by the binary, while the turns stream and wait (in the database: their
    // tickets and journal rows come and go).
    eventually("the first turn streams", async || !fake.sends().is_empty()).await;
    let data = app.state.config.data_dir.clone();
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("letta-admin-backup.db");
    let made = backup(&data, &[], &copy, false).await;
    let sent_by_then = fake.sends().len();
    assert!(made.ok, "{made:?}");
    assert!(
        sent_by_then < 20,
        "the backup should run while turns are still to come; all {sent_by_then} were sent"
    );
    assert!(made.stdout.contains("integrity_check: ok"), "{made:?}");
    let versions: i64 = letta_admin::with_pool!(&app.state.db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM block_history"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert!(versions >= 30, "20 creates and 10 edits: {versions}");
    assert!(
        made.stdout.contains(&format!(
            "rows: users 21, persons 20, block_history {versions},"
        )),
        "{made:?}"
    );
    assert!(made.stderr.contains("belong together"), "{made:?}");
    assert!(
        made.stderr.contains("can read the Letta password"),
        "{made:?}"
    );
    let key = with_suffix(&copy, ".key");
    assert_eq!((mode(&copy), mode(&key)), (0o600, 0o600));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        std::fs::read_to_string(data.join("secret.key")).unwrap(),
        "the key file is the dashboard's key"
    );
    assert_eq!(integrity_check(&copy).await, ["ok"]);
    assert!(
        count(&copy, "agent_tickets").await > 0,
        "the snapshot was taken while turns held or waited for the agent"
    );

    // The turns were not disturbed by it.
    for t in turns {
        let (text, events) = t.await.unwrap();
        let reply: String = events
            .iter()
            .filter_map(|e| match e {
                TurnEvent::Part {
                    kind: PartKind::Assistant,
                    text,
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(reply, format!("echo: {text}"), "{events:?}");
        assert!(
            matches!(events.last(), Some(TurnEvent::Released { detached: true })),
            "{events:?}"
        );
    }
    assert_eq!(fake.sends().len(), 20);

    // A dashboard on the copy, with the key file as its secret.key.
    let site = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, site.path().join("letta-admin.db")).unwrap();
    std::fs::copy(&key, site.path().join("secret.key")).unwrap();
    let dir = site.path().to_path_buf();
    let restored = spawn_app_with(move |c| {
        c.database_url = format!("sqlite://{}", dir.join("letta-admin.db").display());
        c.data_dir = dir;
    })
    .await;
    let op2 = sign_in(&restored, "olga")
        .await
        .expect("olga signs in on the copy");
    for i in 0..20 {
        let name = format!("staff{i:02}");
        assert!(
            sign_in(&restored, &name).await.is_ok(),
            "{name} signs in on the copy"
        );
    }
    let before = persons(&app, &op).await;
    let after = persons(&restored, &op2).await;
    assert_eq!(before.total, 20);
    assert_eq!(after, before, "the copy lists the same persons");
    for &id in &ids {
        let h = history(&restored, &op2, id).await;
        assert_eq!(h, history(&app, &op, id).await, "person {id}'s history");
        assert!(!h.is_empty());
    }
    // The Letta password came along and decrypts: the copy talks to Letta.
    let block = persona(&restored, &op2, ids[0]).await;
    assert_eq!(block, persona(&app, &op, ids[0]).await);
    assert!(block.value.contains("black"), "{block:?}");
}

#[tokio::test]
async fn restore_is_refused_while_a_dashboard_runs_and_brings_back_the_backup_once_it_stopped() {
    let fake = FakeLetta::start().await;
    let env = [
        // A killed dashboard is dead 2 s after its last heartbeat.
        ("LETTA_ADMIN_INSTANCE_EXPIRY_SECONDS", "2"),
        ("LETTA_BASE_URL", fake.url.as_str()),
        ("LETTA_SERVER_PASSWORD", FakeLetta::PASSWORD),
    ];
    let expiry_ms = 2000;
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path();
    let db = data.join("letta-admin.db");
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("before-bob.db");

    create_user(data, &env, "olga", "operator").await;
    let mut dashboard = Dashboard::start(data, &env, out.path().join("a.log")).await;
    let op = sign_in(&dashboard, "olga").await.unwrap();
    let ada = create_person(&dashboard, &op, "ada").await;
    let made = backup(data, &env, &copy, false).await;
    assert!(made.ok, "{made:?}");

    // Changes after the backup.
    create_person(&dashboard, &op, "bob").await;
    create_user(data, &env, "late", "staff").await;

    // Refused while the dashboard runs, naming it; nothing changed.
    let pid = dashboard.child.id();
    let host = strings(
        &db,
        &format!("SELECT host FROM instances WHERE pid = {pid}"),
    )
    .await;
    assert_eq!(host.len(), 1, "the dashboard is registered: {host:?}");
    let refused = restore(data, &env, &copy).await;
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("host {}, pid {pid}", host[0])),
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("nothing was changed"),
        "{refused:?}"
    );
    assert_eq!(usernames(&persons(&dashboard, &op).await), ["ada", "bob"]);
    assert!(files_named(data, "before-restore").is_empty());
    assert!(
        files_named(data, ".restore-").is_empty(),
        "no staged file left"
    );

    // Killed, it still counts as running until its heartbeat expires.
    dashboard.kill9();
    assert!(
        with_suffix(&db, "-wal").exists(),
        "the killed dashboard left its WAL (bob is in it)"
    );
    let heartbeat: i64 = strings(
        &db,
        &format!("SELECT CAST(heartbeat_at AS TEXT) FROM instances WHERE pid = {pid}"),
    )
    .await[0]
        .parse()
        .unwrap();
    let early = restore(data, &env, &copy).await;
    let answered = now_ms();
    let restored = if early.ok {
        eprintln!("the restore right after the kill ran once the lease had ended (a slow machine)");
        assert!(
            answered >= heartbeat + expiry_ms,
            "restored {} ms after the killed dashboard's last heartbeat, within its expiry",
            answered - heartbeat
        );
        early
    } else {
        assert!(early.stderr.contains(&format!("pid {pid}")), "{early:?}");
        let wait = heartbeat + expiry_ms + 200 - now_ms();
        tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
        restore(data, &env, &copy).await
    };
    assert!(restored.ok, "{restored:?}");
    assert!(
        restored.stdout.contains("integrity_check ok"),
        "{restored:?}"
    );
    assert!(
        restored.stdout.contains("holds the key already in"),
        "the key beside the backup is the one in use: {restored:?}"
    );

    // The restored file, the kept one, and no journal of the old database beside the new.
    assert_eq!(mode(&db), 0o600);
    assert_eq!(integrity_check(&db).await, ["ok"]);
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(
            !with_suffix(&db, suffix).exists(),
            "the old database's {suffix} is still beside the restored one"
        );
    }
    let kept = files_named(data, "letta-admin.db.before-restore-");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept = data.join(&kept[0]);
    assert_eq!(mode(&kept), 0o600);
    assert_eq!(
        strings(&kept, "SELECT username FROM persons ORDER BY username").await,
        ["ada", "bob"],
        "the previous database is kept whole"
    );
    assert_eq!(
        strings(&db, "SELECT id FROM instances").await,
        Vec::<String>::new(),
        "the backup's instances ran elsewhere"
    );

    // A dashboard on the data directory shows the backed-up data, not the later changes.
    let dashboard = Dashboard::start(data, &env, out.path().join("b.log")).await;
    let op = sign_in(&dashboard, "olga").await.unwrap();
    assert_eq!(usernames(&persons(&dashboard, &op).await), ["ada"]);
    assert!(
        sign_in(&dashboard, "late").await.is_err(),
        "a user created after the backup is gone"
    );
    assert_eq!(persona(&dashboard, &op, ada).await.username, "ada");

    // The same backup onto a new machine (an empty data directory): the key comes along.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = fresh_dir.path().join("data");
    let moved = restore(&fresh, &env, &copy).await;
    assert!(moved.ok, "{moved:?}");
    assert!(moved.stdout.contains("is now"), "{moved:?}");
    assert_eq!(mode(&fresh.join("secret.key")), 0o600);
    assert_eq!(
        std::fs::read(fresh.join("secret.key")).unwrap(),
        std::fs::read(with_suffix(&copy, ".key")).unwrap()
    );
    let elsewhere = Dashboard::start(&fresh, &env, out.path().join("c.log")).await;
    let op = sign_in(&elsewhere, "olga").await.unwrap();
    assert_eq!(
        persona(&elsewhere, &op, ada).await.username,
        "ada",
        "the Letta password decrypts on the new machine"
    );
}

#[tokio::test]
async fn restore_checks_the_backup_and_its_key_before_replacing_anything() {
    let fake = FakeLetta::start().await;
    let app = spawn_app().await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let out = tempfile::tempdir().unwrap();
    let good = out.path().join("good.db");
    let made = backup(&app.state.config.data_dir, &[], &good, false).await;
    assert!(made.ok, "{made:?}");
    let good_key = std::fs::read_to_string(with_suffix(&good, ".key")).unwrap();

    // The data directory restored into: a database of its own, no key file yet.
    let target_dir = tempfile::tempdir().unwrap();
    let target = target_dir.path();
    create_user(target, &[], "keeper", "admin").await;
    let db = target.join("letta-admin.db");
    let unchanged = async || {
        assert_eq!(
            strings(&db, "SELECT username FROM users").await,
            ["keeper"],
            "the database was replaced"
        );
        let names = files_named(target, "");
        assert!(
            names
                .iter()
                .all(|n| n == "letta-admin.db" || n.starts_with("letta-admin.db-")),
            "files left in the data directory: {names:?}"
        );
    };

    // Damaged: every b-tree page after the first gets a broken header.
    let damaged = out.path().join("damaged.db");
    let mut bytes = std::fs::read(&good).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for start in (page..bytes.len()).step_by(page) {
        bytes[start..start + 12].fill(0xEE);
    }
    std::fs::write(&damaged, bytes).unwrap();
    std::fs::write(with_suffix(&damaged, ".key"), &good_key).unwrap();
    let r = restore(target, &[], &damaged).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.stderr.contains("integrity_check"), "{r:?}");
    unchanged().await;

    // Not a database at all.
    let text = out.path().join("notes.db");
    std::fs::write(&text, "not a database, only some text ".repeat(200)).unwrap();
    let r = restore(target, &[], &text).await;
    assert!(!r.ok, "{r:?}");
    unchanged().await;

    // Whole, but with someone else's key: a dashboard on it would not start.
    let wrong = out.path().join("wrong-key.db");
    std::fs::copy(&good, &wrong).unwrap();
    std::fs::write(with_suffix(&wrong, ".key"), "ab".repeat(32)).unwrap();
    let r = restore(target, &[], &wrong).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.stderr.contains("does not decrypt"), "{r:?}");
    unchanged().await;

    // Whole, with no key anywhere.
    let keyless = out.path().join("keyless.db");
    std::fs::copy(&good, &keyless).unwrap();
    let r = restore(target, &[], &keyless).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.stderr.contains("no key to decrypt it"), "{r:?}");
    unchanged().await;

    // The good backup goes in, with its key.
    let r = restore(target, &[], &good).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(strings(&db, "SELECT username FROM users").await, ["olga"]);
    assert_eq!(
        std::fs::read_to_string(target.join("secret.key")).unwrap(),
        good_key
    );
    assert_eq!(
        files_named(target, "letta-admin.db.before-restore-").len(),
        1
    );
}

#[tokio::test]
async fn a_backup_is_owner_only_and_never_overwritten_without_force() {
    let app = spawn_app().await;
    app.add_user("olga", Role::Admin).await;
    let data = app.state.config.data_dir.clone();
    let out = tempfile::tempdir().unwrap();
    // A quote in the name: the path is bound as a parameter, never spliced into the SQL.
    let copy = out.path().join("it's a backup.db");
    let key = with_suffix(&copy, ".key");

    let first = backup(&data, &[], &copy, false).await;
    assert!(first.ok, "{first:?}");
    assert!(
        first.stdout.contains("no Letta password"),
        "nothing to decrypt yet: {first:?}"
    );
    assert_eq!((mode(&copy), mode(&key)), (0o600, 0o600));
    assert_eq!(integrity_check(&copy).await, ["ok"]);
    let bytes = std::fs::read(&copy).unwrap();

    app.add_user("later", Role::Staff).await;
    let again = backup(&data, &[], &copy, false).await;
    assert!(!again.ok, "{again:?}");
    assert!(again.stderr.contains("--force"), "{again:?}");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        bytes,
        "the backup was changed"
    );
    // The key file alone also counts: a new backup beside it would look like its pair.
    std::fs::remove_file(&copy).unwrap();
    let beside = backup(&data, &[], &copy, false).await;
    assert!(!beside.ok, "{beside:?}");
    assert!(
        beside.stderr.contains(&key.display().to_string()),
        "{beside:?}"
    );
    assert!(!copy.exists());
    assert_eq!(
        files_named(out.path(), ""),
        ["it's a backup.db.key"],
        "nothing else written"
    );

    std::fs::write(&copy, b"an older backup").unwrap();
    let forced = backup(&data, &[], &copy, true).await;
    assert!(forced.ok, "{forced:?}");
    assert_eq!((mode(&copy), mode(&key)), (0o600, 0o600));
    assert_eq!(
        strings(&copy, "SELECT username FROM users ORDER BY username").await,
        ["later", "olga"]
    );
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        std::fs::read_to_string(data.join("secret.key")).unwrap()
    );
}

#[tokio::test]
async fn a_key_from_the_environment_is_named_and_not_written() {
    let hex_key = "5a".repeat(32);
    let fake = FakeLetta::start().await;
    let key_for_app = hex_key.clone();
    let app = spawn_app_with(move |c| c.secret_key_hex = Some(key_for_app.into())).await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.connect_to_fake(&op, &fake, "5").await;
    let data = app.state.config.data_dir.clone();
    let out = tempfile::tempdir().unwrap();

    let copy = out.path().join("env.db");
    let made = backup(&data, &[("LETTA_ADMIN_SECRET_KEY", &hex_key)], &copy, false).await;
    assert!(made.ok, "{made:?}");
    assert!(
        !with_suffix(&copy, ".key").exists(),
        "a key file was written"
    );
    assert!(
        made.stdout.contains("comes from LETTA_ADMIN_SECRET_KEY"),
        "{made:?}"
    );
    assert!(
        made.stderr
            .contains("keep the value of LETTA_ADMIN_SECRET_KEY"),
        "{made:?}"
    );
    assert!(
        made.stdout.contains("The key decrypts the Letta password"),
        "{made:?}"
    );

    // Without the variable no key is found: the backup says the password is lost.
    let bare = out.path().join("bare.db");
    let made = backup(&data, &[], &bare, false).await;
    assert!(made.ok, "{made:?}");
    assert!(
        made.stderr.contains("cannot be recovered from this backup"),
        "{made:?}"
    );
}
