//! A crash mid-turn: the real binary is killed (SIGKILL) while a persona block is attached;
//! started again on the same database, its sweeper detaches the block.
mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::fake_letta::FakeLetta;
use letta_admin::features::chat::model::{LineBuffer, TurnEvent};
use letta_admin::features::persons::api::CreateOutcome;

const BIN: &str = env!("CARGO_BIN_EXE_letta-admin");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(dir: &std::path::Path, fake: &FakeLetta, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LETTA_ADMIN_DATA_DIR", dir)
        .env("LETTA_BASE_URL", fake.url.as_str())
        .env("LETTA_SERVER_PASSWORD", FakeLetta::PASSWORD)
        .env("LEPTOS_OUTPUT_NAME", "letta_admin")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn start(dir: &std::path::Path, fake: &FakeLetta, port: u16) -> Child {
    let mut child = command(dir, fake, port).spawn().expect("start letta-admin");
    let health = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..200 {
        if reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("letta-admin exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("letta-admin did not become healthy");
}

#[tokio::test]
async fn a_block_attached_when_the_process_is_killed_is_detached_at_the_next_start() {
    let fake = FakeLetta::start().await;
    let agent = fake.add_agent("helper");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();

    let mut create = command(dir.path(), &fake, port)
        .args(["create-user", "olga", "operator"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{}", common::PASSWORD).unwrap();
    assert!(create.wait().unwrap().success());

    let mut server = start(dir.path(), &fake, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let c = common::client();
    let login = c
        .post(format!("{base}/api/public/login"))
        .form(&[("username", "olga"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let created: CreateOutcome = c
        .post(format!("{base}/api/operator/persons/create"))
        .form(&[
            ("form[username]", "ada"),
            ("form[display_name]", "Ada"),
            ("form[notes]", ""),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let CreateOutcome::Created(ada) = created else {
        panic!("{created:?}")
    };

    // A slow reply; kill the process while the block is attached.
    fake.set_stream_delay(Duration::from_millis(200));
    let mut res = c
        .post(format!("{base}/api/staff/chat/send"))
        .form(&[
            ("send[agent_id]", agent.as_str()),
            ("send[person_id]", &ada.id.to_string()),
            ("send[text]", &"word ".repeat(50)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut buf = LineBuffer::default();
    'read: while let Some(chunk) = res.chunk().await.unwrap() {
        for ev in buf.feed(std::str::from_utf8(&chunk).unwrap()) {
            if matches!(ev.unwrap(), TurnEvent::Part { .. }) {
                break 'read;
            }
        }
    }
    assert_eq!(fake.attached_blocks(&agent).len(), 1);
    server.kill().unwrap(); // SIGKILL: no destructor, no detach
    server.wait().unwrap();
    drop(res);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.attached_blocks(&agent).len(),
        1,
        "the dead process left the block attached"
    );

    // Back up: the sweeper detaches it.
    let mut server = start(dir.path(), &fake, port).await;
    let mut detached = false;
    for _ in 0..100 {
        if fake.attached_blocks(&agent).is_empty() {
            detached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(detached, "the sweeper detached the block after the restart");
}
