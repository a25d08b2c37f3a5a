//! Chat turn speed against the real Letta server, in one run (issue #8's bench; not a test).
//!
//! For each of N rounds, interleaved so drift hits all three alike:
//! - the dashboard: POST /api/staff/chat/send until the `Complete` event (the reply is on
//!   screen; the detach runs after it, off the critical path);
//! - direct, the seed's sequence: attach + stream until `[DONE]` + detach;
//! - direct attach + stream alone (the floor).
//!
//! The same rounds then run against the in-process fake Letta, which answers in about a
//! millisecond every time. The real server is the judge of the sequence, but its own time
//! varies by ~80 ms (standard deviation) from one turn to the next, 16 times the 5 ms budget:
//! the median of 60 per-round differences still has a 95% interval of about ±25 ms. So the
//! real comparison is reported with that interval (✓ when it does not put the overhead above
//! 5 ms), and the fake run measures the dashboard's own overhead to a fraction of a millisecond.
//!
//! The fake rounds run once with the agent lease in SQLite and, when `BENCH_POSTGRES_URL`
//! names a Postgres server (an admin URL: the bench creates a database of its own on it;
//! scripts/bench.sh starts a throwaway cluster), once more with it in Postgres, and the two are
//! reported side by side.
//!
//! Run: `scripts/bench.sh` (starts the Letta peer), or with LETTA_BASE_URL /
//! LETTA_SERVER_PASSWORD set: `cargo bench --features ssr --bench chat_turn` (without them only
//! the fake rounds run). BENCH_TURNS (default 60) sets N.

#[path = "../tests/api/common/fake_letta.rs"]
#[allow(dead_code)]
mod fake_letta;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use letta_admin::{
    auth::Role,
    config::Config,
    features::chat::model::{LineBuffer, PartKind, TurnEvent},
    features::persons::api::{CreateOutcome, PersonDetail},
    letta::types::{CreateAgentRequest, LettaMessage, MessageCreate, StreamEvent},
    startup::Application,
};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// First and third quartile of an already sorted slice.
fn iqr(sorted: &[f64]) -> (f64, f64) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.75))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A distribution-free 95% confidence interval for the median of an already sorted slice: the
/// order statistics n/2 ∓ 1.96·√n/2.
fn median_ci(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len() as f64;
    let half = 1.96 * n.sqrt() / 2.0;
    let lo = ((n / 2.0 - half).floor().max(0.0)) as usize;
    let hi = ((n / 2.0 + half).ceil() as usize).min(sorted.len() - 1);
    (sorted[lo], sorted[hi])
}

/// The series of one run: per round, the dashboard's turn, the seed's sequence and the floor,
/// with the time to the first assistant token of the first two.
#[derive(Default)]
struct Series {
    dash: Vec<f64>,
    dash_first: Vec<f64>,
    full: Vec<f64>,
    full_first: Vec<f64>,
    floor: Vec<f64>,
}

impl Series {
    /// Per-round `dashboard − floor` and first-token `dashboard − seed`, each sorted.
    fn differences(&self) -> (Vec<f64>, Vec<f64>) {
        let paired = |a: &[f64], b: &[f64]| -> Vec<f64> {
            let mut v: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v
        };
        (
            paired(&self.dash, &self.floor),
            paired(&self.dash_first, &self.full_first),
        )
    }
}

#[tokio::main]
async fn main() {
    let turns: usize = std::env::var("BENCH_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let real = match (
        std::env::var("LETTA_BASE_URL"),
        std::env::var("LETTA_SERVER_PASSWORD"),
    ) {
        (Ok(url), Ok(password)) => Some(run(url, password, turns, None, None).await),
        _ => {
            eprintln!(
                "chat_turn bench: no LETTA_BASE_URL / LETTA_SERVER_PASSWORD: the fake rounds only"
            );
            None
        }
    };
    let fake = fake_letta::FakeLetta::start().await;
    let fake_agent = fake.add_agent("bench");
    let on_fake = |database_url: Option<String>| {
        run(
            fake.url.to_string(),
            fake_letta::FakeLetta::PASSWORD.into(),
            turns,
            Some(fake_agent.clone()),
            database_url,
        )
    };
    let quick = on_fake(None).await;
    let on_postgres = match std::env::var("BENCH_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            Some(on_fake(Some(postgres_database(&admin).await)).await)
        }
        _ => None,
    };
    if let Some(real) = real {
        report(turns, real, &quick);
    }
    report_backends(turns, &quick, on_postgres.as_ref());
}

/// A new database for the bench on the Postgres server `admin` names: its URL.
async fn postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    let name = format!("bench_{}_{}", std::process::id(), letta_admin::db::now_ms());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("BENCH_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let mut url = url::Url::parse(admin).expect("BENCH_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The dashboard's overhead on the fake Letta with the agent lease in SQLite and in Postgres.
fn report_backends(turns: usize, sqlite: &Series, postgres: Option<&Series>) {
    let figures = |s: &Series| {
        let (mut over, mut first) = s.differences();
        let mut dash = s.dash.clone();
        (
            median(&mut over),
            iqr(&over),
            median(&mut first),
            median(&mut dash),
        )
    };
    let (so, s_iqr, sf, sd) = figures(sqlite);
    println!();
    println!(
        "chat turn against the in-process fake Letta, the agent lease in the database, median of {turns} rounds:"
    );
    println!("| figure | SQLite | Postgres | Postgres ÷ SQLite |");
    println!("|---|---|---|---|");
    match postgres.map(figures) {
        Some((po, p_iqr, pf, pd)) => {
            println!(
                "| dashboard − direct attach + send (IQR) | {so:.2} ms ({:.2} … {:.2}) | {po:.2} ms ({:.2} … {:.2}) | {:.2} |",
                s_iqr.0, s_iqr.1, p_iqr.0, p_iqr.1, po / so
            );
            println!(
                "| time to first token: dashboard − direct | {sf:.2} ms | {pf:.2} ms | {:.2} |",
                pf / sf
            );
            println!(
                "| dashboard: send → complete reply | {sd:.2} ms | {pd:.2} ms | {:.2} |",
                pd / sd
            );
        }
        None => {
            println!(
                "| dashboard − direct attach + send (IQR) | {so:.2} ms ({:.2} … {:.2}) | (BENCH_POSTGRES_URL not set) | |",
                s_iqr.0, s_iqr.1
            );
            println!("| time to first token: dashboard − direct | {sf:.2} ms | | |");
            println!("| dashboard: send → complete reply | {sd:.2} ms | | |");
        }
    }
}

fn report(turns: usize, mut real: Series, quick: &Series) {
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    // `differences` are sorted, so `median` leaves them as they are.
    let (mut over, mut first) = real.differences();
    let (overhead, over_iqr, over_ci) = (median(&mut over), iqr(&over), median_ci(&over));
    let (first_over, first_iqr, first_ci) = (median(&mut first), iqr(&first), median_ci(&first));
    // Dashboard ÷ the seed's sequence, per round: a comparison, reported. The budget is the
    // overhead over attach + send (a ratio target derived from it only repeats it, with the
    // noise of two more series).
    let mut ratios: Vec<f64> = real
        .dash
        .iter()
        .zip(&real.full)
        .map(|(x, y)| x / y)
        .collect();
    let ratio = median(&mut ratios);
    let (d, s, a) = (
        median(&mut real.dash),
        median(&mut real.full),
        median(&mut real.floor),
    );
    let (df, sf) = (median(&mut real.dash_first), median(&mut real.full_first));
    let (mut q_over, mut q_first) = quick.differences();
    let (q_overhead, q_over_iqr) = (median(&mut q_over), iqr(&q_over));
    let (q_first_over, q_first_iqr) = (median(&mut q_first), iqr(&q_first));

    println!("chat turn, median of {turns} rounds, real Letta 0.16.8 + fake LLM:");
    println!("| figure | value | target |");
    println!("|---|---|---|");
    println!("| dashboard: send → complete reply | {d:.1} ms | |");
    println!("| direct attach + send + detach (the seed's sequence) | {s:.1} ms | |");
    println!("| direct attach + send (the floor) | {a:.1} ms | |");
    // ✓: the interval does not put the overhead above the budget (Letta's own jitter is far
    // larger than the budget; the fake rows below measure the overhead itself).
    println!(
        "| dashboard − direct attach + send (median per round; 95% CI {:.1} … {:.1}; IQR {:.1} … {:.1}) | {overhead:.1} ms | ≤ 5 ms {} |",
        over_ci.0,
        over_ci.1,
        over_iqr.0,
        over_iqr.1,
        mark(over_ci.0 <= 5.0)
    );
    println!(
        "| dashboard ÷ direct attach + send + detach (median per round) | {ratio:.3} | reported |"
    );
    println!(
        "| time to first token: dashboard − direct (median per round; 95% CI {:.1} … {:.1}; IQR {:.1} … {:.1}; medians {df:.1} vs {sf:.1}) | {first_over:.1} ms | ≤ 5 ms {} |",
        first_ci.0,
        first_ci.1,
        first_iqr.0,
        first_iqr.1,
        mark(first_ci.0 <= 5.0)
    );
    println!(
        "| the same against the in-process fake Letta (answers in ~1 ms): dashboard − direct attach + send (IQR {:.2} … {:.2}) | {q_overhead:.2} ms | ≤ 5 ms {} |",
        q_over_iqr.0,
        q_over_iqr.1,
        mark(q_overhead <= 5.0)
    );
    println!(
        "| … time to first token: dashboard − direct (IQR {:.2} … {:.2}) | {q_first_over:.2} ms | ≤ 5 ms {} |",
        q_first_iqr.0,
        q_first_iqr.1,
        mark(q_first_over <= 5.0)
    );
}

/// Runs `turns` rounds against the Letta at `url`, through a dashboard of its own, on `agent`
/// (created, and deleted afterwards, when `None`), on the database `database_url` (a SQLite
/// file of its own when `None`).
async fn run(
    url: String,
    password: String,
    turns: usize,
    agent: Option<String>,
    database_url: Option<String>,
) -> Series {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_dir(dir.path());
    if let Some(db) = database_url {
        config.database_url = db;
    }
    config.letta_base_url = Some(url);
    config.letta_password = Some(password.into());
    let options = leptos::config::LeptosOptions::builder()
        .output_name("letta_admin")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let app = Application::build(config, options).await.expect("app");
    let base = format!("http://{}", app.addr);
    let state = app.state.clone();
    tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });

    // An operator, a person and an agent.
    let hash = letta_admin::auth::password::hash("bench password 1".into())
        .await
        .unwrap();
    letta_admin::db::users::insert(&state.db, "bench", &hash, Role::Operator)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = http
        .post(format!("{base}/api/public/login"))
        .form(&[("username", "bench"), ("password", "bench password 1")])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let username = format!("bench_{}", std::process::id());
    let created: CreateOutcome = http
        .post(format!("{base}/api/operator/persons/create"))
        .form(&[
            ("form[username]", username.as_str()),
            ("form[display_name]", "Bench"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let CreateOutcome::Created(summary) = created else {
        panic!("person not created: {created:?}")
    };
    let person: PersonDetail = http
        .post(format!("{base}/api/staff/persons/get"))
        .form(&[("id", summary.id.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (block_id, identity_id) = (person.block_id.unwrap(), person.identity_id.unwrap());
    let letta = state.letta.client().unwrap();
    let created_agent = agent.is_none();
    let agent = match agent {
        Some(id) => id,
        None => {
            letta
                .agents()
                .create(&CreateAgentRequest {
                    name: Some(format!("bench-{}", std::process::id())),
                    model: Some("openai-proxy/fake-model".into()),
                    embedding: Some("openai/text-embedding-3-small".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .id
        }
    };

    let dashboard = async |text: &str| -> (Duration, Duration) {
        let started = Instant::now();
        let res = http
            .post(format!("{base}/api/staff/chat/send"))
            .form(&[
                ("send[agent_id]", agent.as_str()),
                ("send[person_id]", &summary.id.to_string()),
                ("send[text]", text),
            ])
            .send()
            .await
            .unwrap();
        let mut body = res.bytes_stream();
        let mut buf = LineBuffer::default();
        let (mut first, mut complete) = (None, None);
        while let Some(chunk) = body.next().await {
            for ev in buf.feed(std::str::from_utf8(&chunk.unwrap()).unwrap()) {
                match ev.unwrap() {
                    TurnEvent::Part {
                        kind: PartKind::Assistant,
                        ..
                    } if first.is_none() => first = Some(started.elapsed()),
                    TurnEvent::Complete { error: None, .. } => complete = Some(started.elapsed()),
                    TurnEvent::Complete { error: Some(e), .. } => panic!("turn failed: {e}"),
                    TurnEvent::Failed { message } => panic!("turn failed: {message}"),
                    _ => {}
                }
            }
        }
        (complete.unwrap(), first.unwrap())
    };
    let direct = async |text: &str, detach: bool| -> (Duration, Duration) {
        let started = Instant::now();
        letta
            .agents()
            .attach_block(&agent, &block_id)
            .await
            .unwrap();
        let mut events = letta
            .messages()
            .stream(
                &agent,
                &[MessageCreate::user(text, Some(identity_id.clone()))],
            )
            .await
            .unwrap();
        let mut first = None;
        while let Some(ev) = events.next().await {
            match ev.unwrap() {
                StreamEvent::Message(LettaMessage::AssistantMessage(_)) if first.is_none() => {
                    first = Some(started.elapsed())
                }
                StreamEvent::Done => break,
                _ => {}
            }
        }
        let floor = started.elapsed();
        letta
            .agents()
            .detach_block(&agent, &block_id)
            .await
            .unwrap();
        let total = started.elapsed();
        (if detach { total } else { floor }, first.unwrap())
    };

    for _ in 0..3 {
        dashboard("warm up").await;
        direct("warm up", true).await;
    }
    let mut series = Series::default();
    for i in 0..turns {
        let text = format!("bench message {i}");
        let (d, f) = dashboard(&text).await;
        series.dash.push(ms(d));
        series.dash_first.push(ms(f));
        let (d, f) = direct(&text, true).await;
        series.full.push(ms(d));
        series.full_first.push(ms(f));
        series.floor.push(ms(direct(&text, false).await.0));
    }
    if created_agent {
        let _ = letta.agents().delete(&agent).await;
    }
    let _ = letta.blocks().delete(&block_id).await;
    let _ = letta.identities().delete(&identity_id).await;
    series
}
