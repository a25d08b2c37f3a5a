//! Server figures in one run (issues #10, #22; not a test): cold start, resident memory idle
//! and under 200 requests per second, the persons page (50 of 100,000) against a static asset
//! under load, served by 2 runtimes against 1, and a soak: 50 sessions browsing and chatting
//! against the in-process fake Letta, with bursts of concurrent page loads, watched for hangs.
//!
//! The server is the RELEASE binary (`cargo leptos build --release` first; scripts/bench.sh
//! does it) in its own process; this process generates the load over loopback.
//! BENCH_SECS (default 10) sets each load phase, BENCH_SESSION_SECS (default 600) the soak.

#[allow(dead_code)]
#[path = "../tests/api/common/fake_letta.rs"]
mod fake_letta;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_letta::FakeLetta;
use futures::StreamExt;
use letta_admin::{
    auth::Role, features::chat::model::LineBuffer, features::chat::model::TurnEvent,
};

const PASSWORD: &str = "bench password 1";

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

struct Server {
    child: Child,
    base: String,
    /// Its log (stderr), unless BENCH_SERVER_LOG names another.
    log: std::path::PathBuf,
}

impl Server {
    /// `workers`: the server's LETTA_ADMIN_WORKERS (its default, the cores, when `None`).
    fn start(dir: &std::path::Path, letta: Option<&FakeLetta>, workers: Option<usize>) -> Server {
        let bin = std::env::var("BENCH_SERVER_BIN")
            .unwrap_or_else(|_| "target/release/letta-admin".into());
        let port = free_port();
        let log = std::env::var("BENCH_SERVER_LOG")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| dir.join(format!("server-{port}.log")));
        let mut cmd = Command::new(&bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LETTA_ADMIN_DATA_DIR", dir)
            // The 50 chatting sessions all sign in as the one bench account.
            .env("LETTA_ADMIN_CHAT_TURNS_PER_USER", "100")
            .env("LEPTOS_OUTPUT_NAME", "letta_admin")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(&log)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        if let Some(n) = workers {
            cmd.env("LETTA_ADMIN_WORKERS", n.to_string());
        }
        if let Some(f) = letta {
            cmd.env("LETTA_BASE_URL", f.url.as_str())
                .env("LETTA_SERVER_PASSWORD", FakeLetta::PASSWORD);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {bin} ({e}); run `cargo leptos build --release` first")
        });
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Time from now until /healthz answers 200.
    async fn wait_healthy(&mut self, since: Instant) -> Duration {
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == 200 {
                    return since.elapsed();
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("server exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        // A request that hangs is an error to count, not a bench that never ends.
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

async fn signed_in(base: &str) -> reqwest::Client {
    let c = client();
    let r = c
        .post(format!("{base}/api/public/login"))
        .form(&[("username", "bench"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login: {}", r.status());
    c
}

/// The soak's watchdog: a request that took the client's whole timeout (30 s) is a hang. The
/// first one prints every thread's stack in the server (gdb), and the run fails at the end.
static HUNG: AtomicUsize = AtomicUsize::new(0);

fn watch(err: &reqwest::Error, pid: u32) {
    if !err.is_timeout() {
        return;
    }
    if HUNG.fetch_add(1, Ordering::SeqCst) == 0 {
        eprintln!("[load] a request hung for 30 s: every server thread's stack follows");
        match Command::new("gdb")
            .args([
                "-p",
                &pid.to_string(),
                "-batch",
                "-ex",
                "thread apply all bt",
            ])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => eprintln!("{}", String::from_utf8_lossy(&out.stdout)),
            Err(e) => eprintln!("[load] gdb could not run ({e}): no stacks"),
        }
    }
}

#[derive(Default)]
struct Stats {
    ms: Vec<f64>,
    errors: usize,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.ms.extend(other.ms);
        self.errors += other.errors;
    }
    fn sorted(mut self) -> (Vec<f64>, usize) {
        self.ms.sort_by(|a, b| a.total_cmp(b));
        (self.ms, self.errors)
    }
}

/// `concurrency` loops GETting `url` for `secs`. `unique`: every request adds a query
/// parameter of its own that the page ignores, so no answer can come from the page cache.
async fn hammer(
    c: &reqwest::Client,
    url: &str,
    concurrency: usize,
    secs: Duration,
    unique: bool,
) -> (Vec<f64>, usize, f64) {
    let deadline = Instant::now() + secs;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (c, url) = (c.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let url = if unique {
                    format!("{url}?render={task}-{n}")
                } else {
                    url.clone()
                };
                let t = Instant::now();
                match c.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        s.ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => s.errors += 1,
                }
            }
            s
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        all.merge(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (ms, errors) = all.sorted();
    let rps = ms.len() as f64 / elapsed;
    (ms, errors, rps)
}

async fn seed(dir: &std::path::Path) {
    let url = format!("sqlite://{}", dir.join("letta-admin.db").display());
    let db = letta_admin::db::connect(&url).await.unwrap();
    let hash = letta_admin::auth::password::hash(PASSWORD.into())
        .await
        .unwrap();
    letta_admin::db::users::insert(&db, "bench", &hash, Role::Operator)
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO persons (username, display_name, display_key, block_limit, created_at, updated_at) \
         SELECT printf('seed%06d', i), printf('Seed Person %06d', i), printf('seed person %06d', i), \
                5000, 1700000000000 + i, 1700000000000 + i FROM n",
    )
    .execute(db.as_sqlite().expect("the load bench seeds a SQLite file"))
    .await
    .unwrap();
    db.close().await;
}

#[tokio::main]
async fn main() {
    let phase = env_secs("BENCH_SECS", 10);
    let session_secs = env_secs("BENCH_SESSION_SECS", 600);
    let mut rows: Vec<(String, String, String)> = Vec::new();

    eprintln!("[load] 1. Cold start");
    // 1. Cold start on a fresh database (migrations included).
    let mut starts = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let mut s = Server::start(dir.path(), None, None);
        starts.push(s.wait_healthy(t).await.as_secs_f64() * 1000.0);
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    let cold = percentile(&starts, 0.5);
    rows.push((
        "cold start to 200 on /healthz (fresh database, median of 5)".into(),
        format!("{cold:.0} ms"),
        mark(cold <= 100.0, "≤ 100 ms"),
    ));

    eprintln!("[load] The measured server");
    // The measured server: 100,000 persons, a fake Letta, a signed-in operator.
    let fake = FakeLetta::start().await;
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let mut server = Server::start(dir.path(), Some(&fake), Some(2));
    server.wait_healthy(Instant::now()).await;
    let base = server.base.clone();
    let op = signed_in(&base).await;
    let persons_url = format!("{base}/persons");
    let page = op
        .get(&persons_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("seed000050"),
        "the persons page lists 50 of the seeded persons: {}",
        &page[page.len().saturating_sub(3000)..]
    );
    for _ in 0..50 {
        let _ = op.get(&persons_url).send().await.unwrap().bytes().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.rss_kb() as f64 / 1024.0;
    rows.push((
        "resident memory, idle (100,000 persons in the database)".into(),
        format!("{idle:.1} MB"),
        mark(idle <= 25.0, "≤ 25 MB"),
    ));

    eprintln!("[load] 2. The persons page");
    // 2. The persons page (server-rendered, 50 of 100,000) against a static asset.
    // The stylesheet under its content-hashed name, as the page links it.
    let css_url = {
        let end = page.find(".css\"").expect("the page links its stylesheet") + 4;
        let start = page[..end].rfind("/pkg/").expect("under /pkg");
        format!("{base}{}", &page[start..end])
    };
    let (p_ms, p_err, p_rps) = hammer(&op, &persons_url, 8, phase, false).await;
    let (s_ms, s_err, s_rps) = hammer(&op, &css_url, 8, phase, false).await;
    let (r_ms, r_err, r_rps) = hammer(&op, &persons_url, 8, phase, true).await;
    let (p50, s50, r50) = (
        percentile(&p_ms, 0.5),
        percentile(&s_ms, 0.5),
        percentile(&r_ms, 0.5),
    );
    let ratio = p50 / s50;
    rows.push((
        format!(
            "persons page p50 / static asset p50 (8 connections, {}s each)",
            phase.as_secs()
        ),
        format!("{ratio:.2} ({p50:.2} ms / {s50:.2} ms)"),
        mark(ratio <= 2.0 && p_err + s_err == 0, "≤ 2.0"),
    ));
    rows.push((
        "requests per second: persons page / static asset".into(),
        format!("{p_rps:.0} / {s_rps:.0}"),
        "reported".into(),
    ));
    rows.push((
        "… the persons page rendered for every request (page cache missed on purpose): p50, ratio to the static asset, requests/s".into(),
        format!(
            "{r50:.2} ms, {:.1}, {r_rps:.0}/s ({r_err} errors)",
            r50 / s50
        ),
        mark(r50 / s50 <= 10.0 && r_err == 0, "ratio ≤ 10"),
    ));

    eprintln!("[load] 2b. One runtime against two");
    // 2b. The same three loads on a server with ONE runtime (LETTA_ADMIN_WORKERS=1), on the
    // same database: what the second runtime (a second core) buys.
    {
        let mut one = Server::start(dir.path(), Some(&fake), Some(1));
        one.wait_healthy(Instant::now()).await;
        let c1 = signed_in(&one.base).await;
        let url1 = format!("{}/persons", one.base);
        let css1 = css_url.replace(&base, &one.base);
        let _ = c1.get(&url1).send().await.unwrap().bytes().await;
        let (r1_ms, r1_err, r1_rps) = hammer(&c1, &url1, 8, phase, true).await;
        let (p1_ms, p1_err, p1_rps) = hammer(&c1, &url1, 8, phase, false).await;
        let (s1_ms, s1_err, s1_rps) = hammer(&c1, &css1, 8, phase, false).await;
        let errors = r1_err + p1_err + s1_err;
        rows.push((
            "uncached persons page, requests/s: 2 runtimes / 1 runtime (8 connections; load generated on the same 2 cores)".into(),
            format!(
                "{:.2} ({r_rps:.0}/s / {r1_rps:.0}/s; p50 {r50:.2} / {:.2} ms)",
                r_rps / r1_rps,
                percentile(&r1_ms, 0.5)
            ),
            mark(r_rps / r1_rps >= 1.7 && errors == 0, "≥ 1.7"),
        ));
        rows.push((
            "… cached persons page and static asset, requests/s: 2 runtimes / 1 runtime".into(),
            format!(
                "{:.2}, {:.2} (p50 {p50:.2} / {:.2} ms, {s50:.2} / {:.2} ms)",
                p_rps / p1_rps,
                s_rps / s1_rps,
                percentile(&p1_ms, 0.5),
                percentile(&s1_ms, 0.5)
            ),
            mark(
                p_rps / p1_rps >= 0.95 && s_rps / s1_rps >= 0.95,
                "not slower (≥ 0.95)",
            ),
        ));
    }

    eprintln!("[load] 3. Resident memory");
    // 3. Resident memory under 200 requests per second.
    let peak = Arc::new(Mutex::new(0u64));
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + phase;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut n = 0usize;
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let url = match n % 4 {
            0 => css_url.clone(),
            1 => format!("{base}/healthz"),
            _ => persons_url.clone(),
        };
        let (c, errors) = (op.clone(), errors.clone());
        tokio::spawn(async move {
            match c.get(&url).send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        if n.is_multiple_of(20) {
            let mut p = peak.lock().unwrap();
            *p = (*p).max(server.rss_kb());
        }
    }
    let busy = *peak.lock().unwrap() as f64 / 1024.0;
    rows.push((
        format!(
            "resident memory under 200 requests/s (peak over {}s)",
            phase.as_secs()
        ),
        format!("{busy:.1} MB ({} errors)", errors.load(Ordering::Relaxed)),
        mark(busy <= 80.0, "≤ 80 MB"),
    ));

    eprintln!("[load] 3b. A flood of anonymous sign-ins");
    // 3b. 200 sign-in attempts at once, each from its own loopback address (so the per-address
    // throttle lets every one through to a password check): resident memory must stay within a
    // few argon2 instances (19 MiB each) of where it was, because hashing runs on a small fixed
    // pool; attempts the pool cannot take in time are answered 503 with Retry-After.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.rss_kb();
    let flood_peak = Arc::new(Mutex::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, on, pid) = (flood_peak.clone(), sampling.clone(), server.child.id());
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                {
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(rss);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let attempts = (0..200u32).map(|i| {
        let url = format!("{base}/api/public/login");
        async move {
            let c = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .local_address(std::net::IpAddr::from([
                    127,
                    0,
                    (2 + i / 250) as u8,
                    (2 + i % 250) as u8,
                ]))
                .build()
                .unwrap();
            c.post(url)
                .form(&[
                    ("username", format!("nobody{i}")),
                    ("password", "a wrong password".into()),
                ])
                .send()
                .await
                .map(|r| (r.status().as_u16(), r.headers().contains_key("retry-after")))
                .unwrap_or((0, false))
        }
    });
    let answers = futures::future::join_all(attempts).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let grew_mb = (*flood_peak.lock().unwrap()).saturating_sub(before) as f64 / 1024.0;
    let argon2_mb = 19.0 * 1.048_576; // 19 MiB, argon2id's default memory cost
    let count = |s: u16| answers.iter().filter(|a| a.0 == s).count();
    let busy_with_retry = answers.iter().filter(|a| a.0 == 503 && a.1).count();
    rows.push((
        "200 parallel anonymous sign-ins: resident memory above what it was (argon2 instances)".into(),
        format!(
            "+{grew_mb:.1} MB ({:.1} instances); {} checked, {} busy (503, {} with Retry-After), {} other",
            grew_mb / argon2_mb,
            count(422),
            count(503),
            busy_with_retry,
            answers.len() - count(422) - count(503)
        ),
        mark(grew_mb <= 4.0 * argon2_mb, "≤ 4 instances"),
    ));

    eprintln!("[load] 4. 50 sessions");
    // 4. 50 sessions browsing and chatting against the fake Letta.
    let mut persons = Vec::new();
    for i in 0..50 {
        let r: serde_json::Value = op
            .post(format!("{base}/api/operator/persons/create"))
            .form(&[
                ("form[username]", format!("load{i:02}")),
                ("form[display_name]", format!("Load {i}")),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        persons.push(r["Created"]["id"].as_i64().expect("person created"));
    }
    let agents: Vec<String> = (0..5)
        .map(|i| fake.add_agent(&format!("load agent {i}")))
        .collect();
    let deadline = Instant::now() + session_secs;
    let pid = server.child.id();
    // Every 3 s, 16 persons pages at once, each rendered for its request (a query parameter
    // of its own): the concurrent uncached renders that once hung the server.
    let bursts = {
        let (op, url) = (op.clone(), persons_url.clone());
        tokio::spawn(async move {
            let mut s = Stats::default();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let mut wave = Vec::new();
                for j in 0..16 {
                    n += 1;
                    let (c, url) = (op.clone(), format!("{url}?burst={n}-{j}"));
                    wave.push(tokio::spawn(async move {
                        let t = Instant::now();
                        match c.get(&url).send().await {
                            Ok(r) if r.status().is_success() => {
                                let _ = r.bytes().await;
                                Ok(t.elapsed().as_secs_f64() * 1000.0)
                            }
                            Ok(_) => Err(None),
                            Err(e) => Err(Some(e)),
                        }
                    }));
                }
                for w in wave {
                    match w.await.unwrap() {
                        Ok(ms) => s.ms.push(ms),
                        Err(e) => {
                            if let Some(e) = e {
                                watch(&e, pid);
                            }
                            s.errors += 1;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            s
        })
    };
    // Resident memory every 5 s: flat, or the soak found a leak.
    let rss = {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let out = samples.clone();
        let pid_status = format!("/proc/{pid}/status");
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let kb = std::fs::read_to_string(&pid_status)
                    .unwrap_or_default()
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                out.lock().unwrap().push(kb as f64 / 1024.0);
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        samples
    };
    let mut tasks = Vec::new();
    for (i, person) in persons.iter().copied().enumerate() {
        let c = signed_in(&base).await;
        let (base, agent) = (base.clone(), agents[i % agents.len()].clone());
        tasks.push(tokio::spawn(async move {
            let (mut pages, mut turns) = (Stats::default(), Stats::default());
            let mut k = 0;
            while Instant::now() < deadline {
                k += 1;
                for url in [
                    format!("{base}/persons?q=seed0{}", k % 10),
                    format!("{base}/chat?agent={agent}&person={person}"),
                ] {
                    let t = Instant::now();
                    match c.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            pages.ms.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        Err(e) => {
                            watch(&e, pid);
                            pages.errors += 1;
                        }
                        _ => pages.errors += 1,
                    }
                }
                let t = Instant::now();
                let res = c
                    .post(format!("{base}/api/staff/chat/send"))
                    .form(&[
                        ("send[agent_id]", agent.as_str()),
                        ("send[person_id]", &person.to_string()),
                        ("send[text]", &format!("message {k} from load{i:02}")),
                    ])
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) if r.status().is_success() => {
                        let mut body = r.bytes_stream();
                        let mut buf = LineBuffer::default();
                        let mut ok = false;
                        while let Some(Ok(chunk)) = body.next().await {
                            for ev in buf
                                .feed(std::str::from_utf8(&chunk).unwrap_or(""))
                                .into_iter()
                                .flatten()
                            {
                                match ev {
                                    TurnEvent::Complete { error: None, .. } => ok = true,
                                    TurnEvent::Complete { error: Some(_), .. }
                                    | TurnEvent::Failed { .. } => ok = false,
                                    TurnEvent::Released { detached: false } => ok = false,
                                    _ => {}
                                }
                            }
                        }
                        ok
                    }
                    Err(e) => {
                        watch(&e, pid);
                        false
                    }
                    _ => false,
                };
                if ok {
                    turns.ms.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    turns.errors += 1;
                }
            }
            (pages, turns)
        }));
    }
    let (mut pages, mut turns) = (Stats::default(), Stats::default());
    for t in tasks {
        let (p, c) = t.await.unwrap();
        pages.merge(p);
        turns.merge(c);
    }
    let (bursts, burst_errors) = bursts.await.unwrap().sorted();
    let (pages, page_errors) = pages.sorted();
    let (turns, turn_errors) = turns.sorted();
    let rss = rss.lock().unwrap().clone();
    // The first minute (or fifth) warms up; flat means the last fifth is no higher.
    let fifth = (rss.len() / 5).max(1);
    let early = rss
        .iter()
        .skip(fifth)
        .take(fifth)
        .cloned()
        .fold(0.0, f64::max);
    let late = rss.iter().rev().take(fifth).cloned().fold(0.0, f64::max);
    let leaked: usize = fake.all_attached_blocks().values().map(Vec::len).sum();
    let journal: i64 = {
        let url = format!("sqlite://{}", dir.path().join("letta-admin.db").display());
        let db = sqlx::SqlitePool::connect(&url).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM chat_attachments")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        n
    };
    rows.push((
        format!(
            "soak, 2 runtimes: 50 sessions × {}s: page loads (p50 / p99)",
            session_secs.as_secs()
        ),
        format!(
            "{} loads, {:.1} / {:.1} ms, {page_errors} errors",
            pages.len(),
            percentile(&pages, 0.5),
            percentile(&pages, 0.99)
        ),
        mark(page_errors == 0, "no errors"),
    ));
    rows.push((
        "… bursts of 16 uncached persons pages at once every 3 s (p50 / p99 / max)".into(),
        format!(
            "{} loads, {:.1} / {:.1} / {:.1} ms, {burst_errors} errors",
            bursts.len(),
            percentile(&bursts, 0.5),
            percentile(&bursts, 0.99),
            bursts.last().copied().unwrap_or(f64::NAN)
        ),
        mark(burst_errors == 0, "no errors"),
    ));
    let hung = HUNG.load(Ordering::SeqCst);
    rows.push((
        "… requests that hung (30 s without an answer; the watchdog prints the stacks)".into(),
        hung.to_string(),
        mark(hung == 0, "0"),
    ));
    // A few samples (a short run) cannot show a trend: reported, not judged.
    let judged = rss.len() >= 10;
    rows.push((
        "… resident memory: highest in the second fifth of the run / in the last fifth".into(),
        format!("{early:.1} MB / {late:.1} MB ({} samples)", rss.len()),
        if judged {
            mark(late <= early * 1.1 + 2.0, "flat (≤ +10%)")
        } else {
            "flat (≤ +10%): too short a run to tell".into()
        },
    ));
    rows.push((
        "… chat turns (p50 / p99)".into(),
        format!(
            "{} turns, {:.1} / {:.1} ms, {turn_errors} errors",
            turns.len(),
            percentile(&turns, 0.5),
            percentile(&turns, 0.99)
        ),
        mark(turn_errors == 0, "no errors"),
    ));
    rows.push((
        "… persona blocks left attached / journal rows after the run".into(),
        format!("{leaked} / {journal}"),
        mark(leaked == 0 && journal == 0, "0 / 0"),
    ));
    rows.push((
        "… most Persona_ blocks on one agent at once".into(),
        format!("{}", fake.max_personas_attached()),
        mark(fake.max_personas_attached() <= 1, "≤ 1"),
    ));

    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    eprintln!("[load] server warnings/errors: {}", warnings.len());
    for w in warnings.iter().take(10) {
        eprintln!("  {w}");
    }

    println!("| figure | measured | target |");
    println!("|---|---|---|");
    for (figure, value, target) in rows {
        println!("| {figure} | {value} | {target} |");
    }
    assert_eq!(
        hung, 0,
        "the soak's watchdog saw requests hang (stacks above)"
    );
}

fn mark(ok: bool, target: &str) -> String {
    format!("{target} {}", if ok { "✓" } else { "✗" })
}
