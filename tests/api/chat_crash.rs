//! Chat turns through the real binary, run as separate processes: killed (SIGKILL) or paused
//! (SIGSTOP) mid-turn, and two dashboards sharing one database (a SQLite file, or with
//! `TEST_DATABASE=postgres` one Postgres database: see tests/api/common). The promise under test is
//! the chat's: never two persons' `Persona_` blocks on one agent at once, every block detached
//! in the end, and a process that lost the agent never writes to it again.
use crate::common;

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_letta::{FakeLetta, SendRecord};
use letta_admin::features::chat::model::{LineBuffer, TurnEvent};
use letta_admin::features::persons::api::{CreateOutcome, PersonDetail};
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_letta-admin");

/// The bound on every wait in these tests: only a hung test reaches it.
const LIMIT: Duration = Duration::from_secs(30);

/// A lease short enough to watch it expire: an instance is dead 2 s after its last heartbeat,
/// and every sweeper looks once a second.
const SHORT_LEASE: [(&str, &str); 2] = [
    ("LETTA_ADMIN_INSTANCE_EXPIRY_SECONDS", "2"),
    ("LETTA_ADMIN_CHAT_SWEEP_SECONDS", "1"),
];

/// A few sweeper periods of [`SHORT_LEASE`]: long enough for a process that would act wrongly
/// (detach twice, write after losing the agent) to have done it.
const SETTLE: Duration = Duration::from_secs(3);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it holds; fails the test only if it never does within [`LIMIT`].
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One data directory, one database and one fake Letta (with one agent), shared by every
/// dashboard process a test starts.
struct Site {
    fake: FakeLetta,
    agent: String,
    database_url: String,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
    logs: tempfile::TempDir,
}

impl Site {
    /// `env`: variables every process of this site gets on top of the basic ones.
    async fn new(env: &[(&str, &str)]) -> Site {
        let fake = FakeLetta::start().await;
        let agent = fake.add_agent("helper");
        let dir = tempfile::tempdir().unwrap();
        Site {
            fake,
            agent,
            database_url: common::fresh_database_url(dir.path()).await,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dir,
            logs: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LETTA_ADMIN_DATA_DIR", self.dir.path())
            .env("DATABASE_URL", &self.database_url)
            .env("LETTA_BASE_URL", self.fake.url.as_str())
            .env("LETTA_SERVER_PASSWORD", FakeLetta::PASSWORD)
            .env("LEPTOS_OUTPUT_NAME", "letta_admin")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// A dashboard account, made with the CLI (the password on standard input).
    fn create_user(&self, username: &str, role: &str) {
        let mut create = self
            .command()
            .args(["create-user", username, role])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(create.stdin.take().unwrap(), "{}", common::PASSWORD).unwrap();
        assert!(create.wait().unwrap().success(), "create-user {username}");
    }

    /// A dashboard process on a port of its own, once it answers `/healthz`. Its log goes to a
    /// file, printed if the test fails.
    async fn start(&self, name: &'static str) -> Dashboard {
        let port = free_port();
        let log = self.logs.path().join(format!("{name}-{port}.log"));
        let child = self
            .command()
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start letta-admin");
        let mut dashboard = Dashboard {
            name,
            base: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        let health = dashboard.url("/healthz");
        let deadline = Instant::now() + LIMIT;
        while !reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            if let Some(status) = dashboard.child.try_wait().unwrap() {
                panic!("letta-admin {name} exited: {status}");
            }
            assert!(Instant::now() < deadline, "{name} did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        dashboard
    }

    fn attached(&self) -> Vec<String> {
        self.fake.attached_blocks(&self.agent)
    }

    fn block_requests(&self, action: &str, block_id: &str) -> usize {
        self.fake.request_count(
            "PATCH",
            &format!(
                "/v1/agents/{}/core-memory/blocks/{action}/{block_id}",
                self.agent
            ),
        )
    }

    /// How often the block was attached to the site's agent (successfully or not).
    fn attaches(&self, block_id: &str) -> usize {
        self.block_requests("attach", block_id)
    }

    /// How often a detach of the block from the site's agent was asked for.
    fn detaches(&self, block_id: &str) -> usize {
        self.block_requests("detach", block_id)
    }

    /// What the agent went through, as Letta saw it: every request that changes it (anything
    /// but GET), in order, with the persons' names for their blocks and identities ("attach
    /// ada", "send ada", "detach ada"; anything else as "METHOD path").
    fn timeline(&self, persons: &[&Person]) -> Vec<String> {
        let name = |id: &str| {
            persons
                .iter()
                .find(|p| p.block_id == id || p.identity_id == id)
                .map_or_else(|| id.to_owned(), |p| p.username.clone())
        };
        let prefix = format!("/v1/agents/{}/", self.agent);
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .filter_map(|r| {
                let rest = r.path.strip_prefix(&prefix)?;
                let segs: Vec<&str> = rest.split('/').collect();
                let sender = r
                    .body
                    .as_ref()
                    .and_then(|b| b["messages"][0]["sender_id"].as_str());
                Some(match (r.method.as_str(), segs.as_slice(), sender) {
                    (
                        "PATCH",
                        ["core-memory", "blocks", action @ ("attach" | "detach"), block],
                        _,
                    ) => {
                        format!("{action} {}", name(block))
                    }
                    ("POST", ["messages", ..], Some(sender)) => format!("send {}", name(sender)),
                    _ => format!("{} {}", r.method, r.path),
                })
            })
            .collect()
    }

    /// Rows in the chat journal, read from the shared database.
    async fn journal_len(&self) -> i64 {
        const SQL: &str = "SELECT COUNT(*) FROM chat_attachments";
        if common::on_postgres() {
            let mut db = sqlx::PgConnection::connect(&self.database_url)
                .await
                .expect("open the dashboards' database");
            let n = sqlx::query_scalar(SQL).fetch_one(&mut db).await.unwrap();
            db.close().await.unwrap();
            return n;
        }
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.dir.path().join("letta-admin.db"))
            .busy_timeout(Duration::from_secs(10));
        let mut db = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("open the dashboards' database");
        let n = sqlx::query_scalar(SQL).fetch_one(&mut db).await.unwrap();
        db.close().await.unwrap();
        n
    }

    /// Nothing attached to the agent and nothing in the journal, once the turns are over.
    async fn assert_clean(&self) {
        eventually("the journal is empty", async || {
            self.journal_len().await == 0
        })
        .await;
        assert!(
            self.attached().is_empty(),
            "still attached: {:?}",
            self.attached()
        );
    }
}

/// A running letta-admin process; dropping it kills it (also when the test fails).
struct Dashboard {
    name: &'static str,
    base: String,
    child: Child,
    log: PathBuf,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        // SIGKILL also ends a process stopped with SIGSTOP.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let from = (log.len().saturating_sub(6000)..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(0);
            let tail = &log[from..];
            eprintln!("--- log of {} ({}) ---\n{tail}", self.name, self.base);
        }
    }
}

/// A person as the dashboard stores it: the ids the chat uses.
struct Person {
    id: i64,
    username: String,
    block_id: String,
    identity_id: String,
}

impl Dashboard {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no destructor, no detach.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// `kill -STOP` / `kill -CONT`.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    async fn sign_in(&self, username: &str) -> reqwest::Client {
        let c = common::client();
        let login = c
            .post(self.url("/api/public/login"))
            .form(&[("username", username), ("password", common::PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "{username} signs in on {}", self.name);
        c
    }

    /// Creates a person through this process (`c`: an operator's client).
    async fn create_person(&self, c: &reqwest::Client, username: &str) -> Person {
        let created: CreateOutcome = c
            .post(self.url("/api/operator/persons/create"))
            .header("accept", "application/json")
            .form(&[
                ("form[username]", username),
                ("form[display_name]", &format!("{username} display")),
                ("form[notes]", ""),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let CreateOutcome::Created(summary) = created else {
            panic!("{created:?}")
        };
        let p: PersonDetail = c
            .post(self.url("/api/staff/persons/get"))
            .header("accept", "application/json")
            .form(&[("id", summary.id.to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Person {
            id: p.id,
            username: p.username,
            block_id: p.block_id.unwrap(),
            identity_id: p.identity_id.unwrap(),
        }
    }

    /// Starts a chat turn as `person`; its events stream back.
    async fn start_turn(
        &self,
        c: &reqwest::Client,
        agent_id: &str,
        person: &Person,
        text: &str,
    ) -> TurnStream {
        let res = c
            .post(self.url("/api/staff/chat/send"))
            .form(&[
                ("send[agent_id]", agent_id),
                ("send[person_id]", &person.id.to_string()),
                ("send[text]", text),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "{}'s turn on {}",
            person.username,
            self.name
        );
        TurnStream {
            res,
            buf: LineBuffer::default(),
            pending: VecDeque::new(),
            seen: Vec::new(),
        }
    }

    /// A whole turn's events.
    async fn turn(
        &self,
        c: &reqwest::Client,
        agent_id: &str,
        person: &Person,
        text: &str,
    ) -> Vec<TurnEvent> {
        self.start_turn(c, agent_id, person, text)
            .await
            .rest()
            .await
    }
}

/// The NDJSON events of one turn, read as they arrive.
struct TurnStream {
    res: reqwest::Response,
    buf: LineBuffer,
    /// Decoded but not yet handed out.
    pending: VecDeque<TurnEvent>,
    /// Handed out so far.
    seen: Vec<TurnEvent>,
}

impl TurnStream {
    /// The next event; `None` when the stream ended (or was cut: the process died).
    async fn next(&mut self) -> Option<TurnEvent> {
        while self.pending.is_empty() {
            let chunk = tokio::time::timeout(LIMIT, self.res.chunk())
                .await
                .unwrap_or_else(|_| panic!("no event for {LIMIT:?} after {:?}", self.seen));
            let Ok(Some(chunk)) = chunk else {
                return None;
            };
            for ev in self.buf.feed(std::str::from_utf8(&chunk).unwrap()) {
                self.pending.push_back(ev.unwrap());
            }
        }
        let ev = self.pending.pop_front()?;
        self.seen.push(ev.clone());
        Some(ev)
    }

    /// Reads until an event matches and returns it; the stream stays open.
    async fn until(&mut self, what: &str, matches: impl Fn(&TurnEvent) -> bool) -> TurnEvent {
        while let Some(ev) = self.next().await {
            if matches(&ev) {
                return ev;
            }
        }
        panic!("the stream ended before {what}: {:?}", self.seen);
    }

    /// Every event of the turn, read to the end.
    async fn rest(mut self) -> Vec<TurnEvent> {
        while self.next().await.is_some() {}
        self.seen
    }
}

fn is_part(ev: &TurnEvent) -> bool {
    matches!(ev, TurnEvent::Part { .. })
}

/// The turn completed (`end_turn`, no error) and ended released with its block detached.
fn assert_turn_ok(who: &str, events: &[TurnEvent]) {
    let complete = events.iter().find_map(|e| match e {
        TurnEvent::Complete {
            stop_reason, error, ..
        } => Some((stop_reason.as_str(), error.as_deref())),
        _ => None,
    });
    assert_eq!(
        complete,
        Some(("end_turn", None)),
        "{who} did not complete: {events:?}"
    );
    assert!(
        matches!(events.last(), Some(TurnEvent::Released { detached: true })),
        "{who} did not end released with the block detached: {events:?}"
    );
}

/// The message reached Letta as `person`, with exactly that person's block attached.
fn assert_sent_as(send: &SendRecord, person: &Person) {
    assert_eq!(
        send.sender_id.as_deref(),
        Some(person.identity_id.as_str()),
        "sender of {send:?}"
    );
    assert_eq!(
        send.personas,
        vec![format!("Persona_{}", person.username)],
        "{}'s message was sent with these persona blocks attached",
        person.username
    );
}

fn sends_from(fake: &FakeLetta, person: &Person) -> usize {
    fake.sends()
        .iter()
        .filter(|s| s.sender_id.as_deref() == Some(person.identity_id.as_str()))
        .count()
}

#[tokio::test]
async fn a_block_attached_when_the_process_is_killed_is_detached_at_the_next_start() {
    let site = Site::new(&SHORT_LEASE).await;
    site.create_user("olga", "operator");
    let mut server = site.start("A").await;
    let c = server.sign_in("olga").await;
    let ada = server.create_person(&c, "ada").await;

    // A slow reply; kill the process while the block is attached.
    site.fake.set_stream_delay(Duration::from_millis(200));
    let mut turn = server
        .start_turn(&c, &site.agent, &ada, &"word ".repeat(50))
        .await;
    turn.until("the first token", is_part).await;
    assert_eq!(site.attached(), vec![ada.block_id.clone()]);
    server.kill9();
    drop(turn);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        site.attached(),
        vec![ada.block_id.clone()],
        "the dead process left the block attached"
    );

    // Back up on the same database: the sweeper detaches it.
    let _server = site.start("A").await;
    eventually(
        "the sweeper detaches the block after the restart",
        async || site.attached().is_empty(),
    )
    .await;
    site.assert_clean().await;
    assert_eq!(
        site.timeline(&[&ada]),
        ["attach ada", "send ada", "detach ada"]
    );
}

#[tokio::test]
async fn two_processes_on_one_database_never_attach_two_personas_to_one_agent() {
    let site = Site::new(&[
        // One operator sends all twenty turns (the default cap is 3 per user).
        ("LETTA_ADMIN_CHAT_TURNS_PER_USER", "100"),
        ("LETTA_ADMIN_CHAT_WAIT_SECONDS", "120"),
    ])
    .await;
    site.create_user("olga", "operator");
    let a = site.start("A").await;
    let b = site.start("B").await;
    let ca = a.sign_in("olga").await;
    let cb = b.sign_in("olga").await;
    let sides = [(&a, &ca), (&b, &cb)];
    let mut persons = Vec::new();
    for i in 0..20 {
        let (d, c) = sides[i % 2];
        persons.push(d.create_person(c, &format!("person{i:02}")).await);
    }

    // Slow enough that the turns overlap: all twenty are sent at once, alternating A and B.
    site.fake.set_stream_delay(Duration::from_millis(20));
    let agent = site.agent.as_str();
    let turns = persons.iter().enumerate().map(|(i, p)| {
        let (d, c) = sides[i % 2];
        async move {
            let events = d
                .turn(c, agent, p, &format!("hello from {}", p.username))
                .await;
            (p, d.name, events)
        }
    });
    let done = futures::future::join_all(turns).await;

    for (p, via, events) in &done {
        assert_turn_ok(&format!("{}'s turn via {via}", p.username), events);
    }
    let sends = site.fake.sends();
    assert_eq!(sends.len(), 20, "{sends:#?}");
    for p in &persons {
        let mine: Vec<&SendRecord> = sends
            .iter()
            .filter(|s| s.sender_id.as_deref() == Some(p.identity_id.as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "{}'s sends: {mine:?}", p.username);
        assert_sent_as(mine[0], p);
        assert_eq!(mine[0].text, format!("hello from {}", p.username));
    }
    assert_eq!(
        site.fake.max_personas_attached(),
        1,
        "two persons' blocks were on the agent at once"
    );
    // Each turn had the agent to itself from its attach to its detach (the detach comes after
    // the reply's stream ended): nobody else's attach, send or detach in between.
    let timeline = site.timeline(&persons.iter().collect::<Vec<_>>());
    let one_at_a_time = timeline.len() == 3 * persons.len()
        && timeline.chunks(3).all(|turn| {
            let who = turn[0].strip_prefix("attach ").unwrap_or("?");
            turn[1] == format!("send {who}") && turn[2] == format!("detach {who}")
        });
    assert!(
        one_at_a_time,
        "the turns on the agent overlapped; it saw:\n{}",
        timeline.join("\n")
    );
    site.assert_clean().await;
}

#[tokio::test]
async fn a_process_killed_mid_turn_is_cleaned_up_by_the_other_and_the_waiting_turn_goes_ahead() {
    let site = Site::new(&SHORT_LEASE).await;
    site.create_user("olga", "operator");
    let mut a = site.start("A").await;
    let b = site.start("B").await;
    let ca = a.sign_in("olga").await;
    let cb = b.sign_in("olga").await;
    let ada = a.create_person(&ca, "ada").await;
    let bob = b.create_person(&cb, "bob").await;

    // Ada's slow turn streams through A; bob's turn through B waits for the agent.
    site.fake.set_stream_delay(Duration::from_millis(100));
    let mut ada_turn = a
        .start_turn(&ca, &site.agent, &ada, &"word ".repeat(100))
        .await;
    ada_turn.until("ada's first token", is_part).await;
    let mut bob_turn = b
        .start_turn(&cb, &site.agent, &bob, "hello, it is bob")
        .await;
    let first = bob_turn
        .until("bob's turn waits or goes ahead", |e| {
            !matches!(e, TurnEvent::Started { .. } | TurnEvent::Ping)
        })
        .await;
    assert!(
        matches!(first, TurnEvent::Waiting { .. }),
        "bob's turn on B must wait while ada's turn on A holds the agent; it got {first:?}"
    );
    assert_eq!(
        site.attached(),
        vec![ada.block_id.clone()],
        "only ada's block is attached while her turn streams on A"
    );

    // A dies with ada's block attached: B's sweeper detaches it, then bob's turn goes ahead.
    a.kill9();
    drop(ada_turn);
    eventually("B detaches the block the dead A left", async || {
        !site.attached().contains(&ada.block_id)
    })
    .await;
    let bob_events = bob_turn.rest().await;
    assert_turn_ok("bob's turn via B", &bob_events);
    let sends = site.fake.sends();
    assert_eq!(sends.len(), 2, "{sends:#?}");
    assert_sent_as(&sends[0], &ada);
    assert_sent_as(&sends[1], &bob);
    assert_eq!(site.fake.max_personas_attached(), 1);
    site.assert_clean().await;
    assert_eq!(site.detaches(&ada.block_id), 1, "ada's block detached once");

    // A again, on the same data directory: its leftover is gone already, so it leaves it be.
    let _a = site.start("A").await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        site.detaches(&ada.block_id),
        1,
        "the restarted A detached ada's block a second time"
    );
    site.assert_clean().await;
    assert_eq!(
        site.timeline(&[&ada, &bob]),
        [
            "attach ada",
            "send ada",
            "detach ada",
            "attach bob",
            "send bob",
            "detach bob"
        ]
    );
}

#[tokio::test]
async fn a_paused_process_does_not_touch_the_agent_after_its_lease_moved_on() {
    let site = Site::new(&SHORT_LEASE).await;
    site.create_user("olga", "operator");
    let a = site.start("A").await;
    let b = site.start("B").await;
    let ca = a.sign_in("olga").await;
    let cb = b.sign_in("olga").await;
    let ada = a.create_person(&ca, "ada").await;
    let bob = b.create_person(&cb, "bob").await;

    // Ada's slow turn streams through A; then A freezes (a long GC pause, a stopped VM).
    site.fake.set_stream_delay(Duration::from_millis(100));
    let mut ada_turn = a
        .start_turn(&ca, &site.agent, &ada, &"word ".repeat(60))
        .await;
    ada_turn.until("ada's first token", is_part).await;
    assert_eq!(
        site.attached(),
        vec![ada.block_id.clone()],
        "only ada's block is attached while her turn streams on A"
    );
    a.signal("STOP");
    let attaches_at_stop = site.attaches(&ada.block_id);
    assert_eq!(sends_from(&site.fake, &ada), 1);

    // A stops heartbeating: B's sweeper takes ada's block off, and bob's turn runs on B.
    eventually(
        "B's sweeper detaches ada's block from the paused A",
        async || !site.attached().contains(&ada.block_id),
    )
    .await;
    let bob_events = b.turn(&cb, &site.agent, &bob, "hello, it is bob").await;
    assert_turn_ok("bob's turn via B", &bob_events);
    assert_sent_as(site.fake.sends().last().unwrap(), &bob);
    let writes_before_resume = site.timeline(&[&ada, &bob]).len();

    // A wakes up and finishes its turn as it can, without touching the agent.
    a.signal("CONT");
    let ada_events = ada_turn.rest().await;
    tokio::time::sleep(SETTLE).await;
    let timeline = site.timeline(&[&ada, &bob]);
    let later = &timeline[writes_before_resume..];
    assert!(
        later.is_empty(),
        "A wrote to the agent after its lease moved on: {later:?}; its turn said {ada_events:?}"
    );
    assert_eq!(
        site.detaches(&ada.block_id),
        1,
        "ada's block is detached exactly once, by B"
    );
    assert_eq!(
        site.attaches(&ada.block_id),
        attaches_at_stop,
        "ada's block attached again after A was stopped"
    );
    assert_eq!(
        sends_from(&site.fake, &ada),
        1,
        "a message as ada after A was stopped"
    );
    assert_eq!(site.fake.max_personas_attached(), 1);
    site.assert_clean().await;
    assert_eq!(
        timeline,
        [
            "attach ada",
            "send ada",
            "detach ada",
            "attach bob",
            "send bob",
            "detach bob"
        ]
    );
}
