//! An in-process fake Letta 0.16.8 server (axum, bound on 127.0.0.1:0) for tests.
//!
//! - A small in-memory happy path: health, identities, blocks, agents (core-memory attach/detach,
//!   identity links, context), messages (send, history, SSE stream, async, cancel), runs,
//!   archival memory, models. It keeps the real server's quirks that matter to a client:
//!   collection paths without their trailing slash answer 307, id paths with one also answer 307
//!   (to the slash-less path, as the real 0.16.8 does; NOTES says 404),
//!   malformed ids answer 422 with a Python-repr `detail`, 404/409 bodies contain raw SQL, a
//!   second detach is a 404, identities' own `agent_ids`/`block_ids` stay empty, PUT upsert
//!   cannot create, passages carry an `embedding` array, an SDK-like User-Agent gets agents
//!   without blocks.
//! - Scriptable faults per route ([`FakeLetta::fault`]): any status with any body, malformed
//!   JSON, a sleep, a connection reset mid-body, a raw SSE body.
//! - Inspection: every request received ([`FakeLetta::requests`]) and the state
//!   ([`FakeLetta::attached_blocks`], [`FakeLetta::history`], ...).
//!
//! Every fault body built by the helpers contains [`SECRET_MARKER`], so a test can assert that an
//! error's `Display` never leaks a body.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

/// Present in every fault body built by the helpers below (and in the fake's own 404/409
/// bodies), like the raw SQL in real Letta error bodies.
pub const SECRET_MARKER: &str = "SELECT secret_sql";

/// What the fake does instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with this body (`application/json`).
    Status { status: u16, body: String },
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// Wait, then answer normally (or the next fault, if any). Use it to exceed a timeout.
    Sleep(Duration),
    /// Send a 200 head with `Content-Length: 1000`, a few bytes, then drop the connection.
    ResetMidBody,
    /// Drop the connection before any response byte is sent.
    DropConnection,
    /// 200 `text/event-stream` with this raw SSE text.
    Sse(String),
}

impl Fault {
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Fault::Status {
            status,
            body: body.into(),
        }
    }

    /// 500 like a failed LLM call on a non-streaming send.
    pub fn server_error() -> Self {
        Fault::status(
            500,
            json!({"error": {"type": "llm_error", "message": "LLM request failed",
                             "detail": format!("{SECRET_MARKER} FROM llm_calls")}})
            .to_string(),
        )
    }

    pub fn unauthorized() -> Self {
        Fault::status(
            401,
            json!({"detail": format!("Unauthorized {SECRET_MARKER}")}).to_string(),
        )
    }

    /// 422 whose `detail` is a Python repr STRING (the real server's shape).
    pub fn validation_repr() -> Self {
        Fault::status(
            422,
            json!({"detail": format!(
                "[{{'type': 'missing', 'loc': ('body', 'name'), 'msg': 'Field required', \
                 'input': {{'note': '{SECRET_MARKER}'}}}}]"
            )})
            .to_string(),
        )
    }

    /// 409 whose body carries raw SQL, like a unique violation on the real server.
    pub fn conflict_sql() -> Self {
        Fault::status(409, conflict_body("identities", "identifier_key"))
    }

    pub fn not_found_sql() -> Self {
        Fault::status(404, not_found_body("agents", "agent-x"))
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    pub body: Option<Value>,
}

struct FaultRule {
    method: String,
    path: String,
    fault: Fault,
    remaining: Option<usize>,
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self.method == "*" || self.method.eq_ignore_ascii_case(method);
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        method_ok && path_ok && self.remaining != Some(0)
    }
}

#[derive(Default)]
struct Db {
    identities: Vec<Value>,
    blocks: BTreeMap<String, Value>,
    agents: Vec<Value>,
    /// agent id -> attached block ids, in attach order.
    agent_blocks: BTreeMap<String, Vec<String>>,
    /// (block id, identity id)
    block_identities: BTreeSet<(String, String)>,
    /// (agent id, identity id)
    agent_identities: BTreeSet<(String, String)>,
    messages: BTreeMap<String, Vec<Value>>,
    passages: BTreeMap<String, Vec<Value>>,
    runs: BTreeMap<String, (Value, Vec<Value>)>,
    /// Pause between two SSE events of `/messages/stream` (0: the whole answer at once).
    stream_delay: Duration,
    /// Per agent: a cancel flag and the number of streams still running.
    live: BTreeMap<String, Arc<LiveAgent>>,
    /// What each send saw: the `Persona_` blocks attached to the agent at that moment.
    sends: Vec<SendRecord>,
    /// The most `Persona_` blocks ever attached to one agent at the same time.
    max_personas: usize,
    /// Per agent: the `core_memory` and summaries `/context` answers, instead of fixed texts.
    context_texts: BTreeMap<String, (String, String)>,
    /// Slow streams running now, on all agents, and the most there ever were at once.
    streams_now: Arc<std::sync::atomic::AtomicUsize>,
    max_streams: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Default)]
struct LiveAgent {
    cancel: std::sync::atomic::AtomicBool,
    streams: std::sync::atomic::AtomicUsize,
}

/// One message received by the fake, with what the agent could see then.
#[derive(Debug, Clone)]
pub struct SendRecord {
    pub agent_id: String,
    pub sender_id: Option<String>,
    pub text: String,
    /// Labels of the `Persona_` blocks attached when the message arrived.
    pub personas: Vec<String>,
}

fn persona_labels(db: &Db, agent_id: &str) -> Vec<String> {
    db.agent_blocks
        .get(agent_id)
        .into_iter()
        .flatten()
        .filter_map(|b| db.blocks.get(b))
        .filter_map(|b| b["label"].as_str())
        .filter(|l| l.starts_with("Persona_"))
        .map(str::to_owned)
        .collect()
}

struct Inner {
    password: Option<String>,
    requests: Vec<RecordedRequest>,
    faults: Vec<FaultRule>,
    db: Db,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake. Dropping it stops the server.
pub struct FakeLetta {
    /// Base URL, e.g. `http://127.0.0.1:40123/` (no path prefix).
    pub url: url::Url,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLetta {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLetta {
    /// Password `fake-password`.
    pub async fn start() -> FakeLetta {
        Self::start_with_password(Some("fake-password")).await
    }

    pub const PASSWORD: &'static str = "fake-password";

    /// `None`: no auth required (like a server without `LETTA_SERVER_SECURE`).
    pub async fn start_with_password(password: Option<&str>) -> FakeLetta {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            password: password.map(str::to_owned),
            requests: Vec::new(),
            faults: Vec::new(),
            db: Db::default(),
        }));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake letta");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake letta serve");
        });
        FakeLetta {
            url: url::Url::parse(&format!("http://{addr}/")).expect("url"),
            inner,
            task,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Apply `fault` to every request matching `method` (`"*"` = any) and `path` (exact, or a
    /// prefix when it ends with `*`), until cleared. Rules are checked in insertion order.
    pub fn fault(&self, method: &str, path: &str, fault: Fault) {
        self.add_fault(method, path, fault, None);
    }

    /// Like [`Self::fault`] for the next `times` matching requests only.
    pub fn fault_times(&self, method: &str, path: &str, fault: Fault, times: usize) {
        self.add_fault(method, path, fault, Some(times));
    }

    fn add_fault(&self, method: &str, path: &str, fault: Fault, remaining: Option<usize>) {
        self.lock().faults.push(FaultRule {
            method: method.to_owned(),
            path: path.to_owned(),
            fault,
            remaining,
        });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests matched `method` and `path` (same matching as [`Self::fault`]).
    pub fn request_count(&self, method: &str, path: &str) -> usize {
        let probe = FaultRule {
            method: method.to_owned(),
            path: path.to_owned(),
            fault: Fault::MalformedJson,
            remaining: None,
        };
        self.lock()
            .requests
            .iter()
            .filter(|r| probe.matches(&r.method, &r.path))
            .count()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// The block ids attached to an agent right now, in attach order.
    pub fn attached_blocks(&self, agent_id: &str) -> Vec<String> {
        self.lock()
            .db
            .agent_blocks
            .get(agent_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every agent's attached block ids right now.
    pub fn all_attached_blocks(&self) -> BTreeMap<String, Vec<String>> {
        self.lock().db.agent_blocks.clone()
    }

    /// The identity ids linked to a block right now.
    pub fn block_identities(&self, block_id: &str) -> Vec<String> {
        self.lock()
            .db
            .block_identities
            .iter()
            .filter(|(b, _)| b == block_id)
            .map(|(_, i)| i.clone())
            .collect()
    }

    /// The stored message history of an agent (raw JSON, oldest first).
    pub fn history(&self, agent_id: &str) -> Vec<Value> {
        self.lock()
            .db
            .messages
            .get(agent_id)
            .cloned()
            .unwrap_or_default()
    }

    /// A stored block (raw JSON), e.g. to check what value was written.
    pub fn block(&self, block_id: &str) -> Option<Value> {
        self.lock().db.blocks.get(block_id).cloned()
    }

    pub fn agent_ids(&self) -> Vec<String> {
        self.lock()
            .db
            .agents
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn block_ids(&self) -> Vec<String> {
        self.lock().db.blocks.keys().cloned().collect()
    }

    /// Streams answer one SSE event every `delay` (and can be cancelled meanwhile).
    pub fn set_stream_delay(&self, delay: Duration) {
        self.lock().db.stream_delay = delay;
    }

    /// Every message received, with the persona blocks attached at that moment.
    pub fn sends(&self) -> Vec<SendRecord> {
        self.lock().db.sends.clone()
    }

    /// The most `Persona_` blocks that were ever attached to one agent at once.
    pub fn max_personas_attached(&self) -> usize {
        self.lock().db.max_personas
    }

    /// The most slow streams that ever ran at the same time (on any agents).
    pub fn max_concurrent_streams(&self) -> usize {
        self.lock().db.max_streams.load(Ordering::SeqCst)
    }

    /// Streams still running on an agent.
    pub fn live_streams(&self, agent_id: &str) -> usize {
        self.lock()
            .db
            .live
            .get(agent_id)
            .map_or(0, |l| l.streams.load(Ordering::SeqCst))
    }

    /// Creates an agent directly in the fake (as if made elsewhere); returns its id.
    pub fn add_agent(&self, name: &str) -> String {
        self.add_agent_with(json!({"name": name, "model": "openai-proxy/fake-model"}))
    }

    /// Creates an agent directly in the fake from a create body (`name`, `description`, `tags`,
    /// `system`, `memory_blocks`, ...), unchecked: also values the dashboard would refuse, as
    /// another client could store them; returns its id.
    pub fn add_agent_with(&self, body: Value) -> String {
        let mut inner = self.lock();
        let _ = agents(&mut inner.db, "POST", &[""], &[], body);
        inner
            .db
            .agents
            .last()
            .and_then(|a| a["id"].as_str())
            .expect("agent")
            .to_owned()
    }

    /// Appends a message to an agent's history as another client (or the agent) could have
    /// stored it: raw JSON in Letta's shape (`message_type` and its fields); `id` and `date`
    /// are filled in when missing. Returns its id.
    pub fn push_message(&self, agent_id: &str, mut message: Value) -> String {
        if message.get("id").is_none() {
            message["id"] = json!(new_id("message"));
        }
        if message.get("date").is_none() {
            message["date"] = json!(now());
        }
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        self.lock()
            .db
            .messages
            .entry(agent_id.to_owned())
            .or_default()
            .push(message);
        id
    }

    /// Sets one field of a stored block, unchecked (e.g. a label the dashboard would refuse).
    pub fn set_block_field(&self, block_id: &str, key: &str, value: Value) {
        if let Some(block) = self.lock().db.blocks.get_mut(block_id) {
            block[key] = value;
        }
    }

    /// Links a block to an identity, as `PATCH /v1/blocks/{id}/identities/attach/{identity}`
    /// does.
    pub fn link_block_identity(&self, block_id: &str, identity_id: &str) {
        self.lock()
            .db
            .block_identities
            .insert((block_id.to_owned(), identity_id.to_owned()));
    }

    /// Stores a passage in an agent's archival memory directly, unchecked; returns its id.
    pub fn add_passage(&self, agent_id: &str, text: &str, tags: &[&str]) -> String {
        let id = new_id("passage");
        let p = json!({"id": id, "text": text, "tags": tags, "created_at": now(),
                       "embedding": vec![0.25_f32; 4096], "embedding_config": {"embedding_dim": 4096}});
        self.lock()
            .db
            .passages
            .entry(agent_id.to_owned())
            .or_default()
            .push(p);
        id
    }

    /// What `/context` answers for this agent's compiled `core_memory`, `summary_memory` and
    /// `external_memory_summary` (otherwise fixed texts).
    pub fn set_context_texts(&self, agent_id: &str, core_memory: &str, summary: &str) {
        self.lock().db.context_texts.insert(
            agent_id.to_owned(),
            (core_memory.to_owned(), summary.to_owned()),
        );
    }

    pub fn identity_ids(&self) -> Vec<String> {
        self.lock()
            .db
            .identities
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect()
    }
}

// ---- request handling ----------------------------------------------------------------------

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn raw_response(status: u16, content_type: &'static str, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Status { status, body } => raw_response(status, "application/json", body),
        Fault::MalformedJson => raw_response(
            200,
            "application/json",
            format!("{{\"id\": \"x\", \"oops\": {SECRET_MARKER}"),
        ),
        Fault::ResetMidBody => {
            // The head and a first chunk go out; a moment later the body fails, and hyper
            // drops the connection with 990 promised bytes missing. (Failing at once would
            // make hyper drop the connection before the head is flushed.)
            let chunks = futures::stream::unfold(0u8, |step| async move {
                match step {
                    0 => Some((Ok(Bytes::from_static(b"{\"id\": \"parti")), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "fake reset",
                            )),
                            2,
                        ))
                    }
                    _ => None,
                }
            });
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "1000")
                .body(Body::from_stream(chunks))
                .expect("response")
        }
        Fault::DropConnection => {
            // A body that fails at once: hyper drops the connection before flushing the head.
            let chunks = futures::stream::iter([Err::<Bytes, _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fake drop",
            ))]);
            Response::builder()
                .status(200)
                .header(header::CONTENT_LENGTH, "1000")
                .body(Body::from_stream(chunks))
                .expect("response")
        }
        Fault::Sse(text) => raw_response(200, "text/event-stream", text),
        Fault::Sleep(_) => unreachable!("handled before"),
    }
}

fn not_found_body(table: &str, id: &str) -> String {
    json!({"detail": format!(
        "No {table} found with id {id}: {SECRET_MARKER} FROM {table} WHERE {table}.id = '{id}' \
         AND actor=User(id='user-00000000', organization_id='org-00000000')"
    )})
    .to_string()
}

fn conflict_body(table: &str, column: &str) -> String {
    json!({"detail": format!(
        "(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint \
         \"unique_{column}\" [SQL: INSERT INTO {table} ... ] {SECRET_MARKER}"
    )})
    .to_string()
}

fn not_found(table: &str, id: &str) -> Response {
    raw_response(404, "application/json", not_found_body(table, id))
}

/// 422 with the real server's Python-repr `detail` string.
fn validation(loc: &[&str], kind: &str, msg: &str, input: &str) -> Response {
    let loc = loc
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let msg_repr = if msg.contains('\'') {
        format!("\"{msg}\"")
    } else {
        format!("'{msg}'")
    };
    let detail =
        format!("[{{'type': '{kind}', 'loc': ({loc}), 'msg': {msg_repr}, 'input': '{input}'}}]");
    json_response(422, json!({ "detail": detail }))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn new_id(prefix: &str) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        t,
        n & 0xffff,
        (n >> 4) & 0xfff,
        (t >> 8) & 0xfff,
        n
    )
}

/// `<prefix>-<uuid4>`, like the path validators of the real server.
fn valid_id(prefix: &str, id: &str) -> bool {
    let Some(rest) = id.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Good enough for a fake: a fixed date with the current seconds of the day.
    format!(
        "2026-01-01T{:02}:{:02}:{:02}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

fn query_map(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn q_get<'q>(q: &'q [(String, String)], key: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn q_all<'q>(q: &'q [(String, String)], key: &str) -> Vec<&'q str> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body_json: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let header_str = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header_str(header::AUTHORIZATION);

    // Record, then find a fault (consuming one use of it). Sleep faults are applied and the
    // search goes on, so a Sleep can precede another fault or the normal answer.
    let mut sleeps = Vec::new();
    let fault = {
        let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
        inner.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_owned),
            authorization: authorization.clone(),
            user_agent: header_str(header::USER_AGENT),
            body: body_json.clone(),
        });
        let mut found = None;
        for rule in inner.faults.iter_mut() {
            if !rule.matches(method.as_str(), &path) {
                continue;
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            match &rule.fault {
                Fault::Sleep(d) => sleeps.push(*d),
                other => {
                    found = Some(other.clone());
                    break;
                }
            }
        }
        found
    };
    for d in sleeps {
        tokio::time::sleep(d).await;
    }
    if let Some(fault) = fault {
        return fault_response(fault);
    }

    // Letta quirk: health and ready are open, everything else needs the password.
    let open = path == "/v1/health/" || path == "/v1/ready/";
    if !open {
        let password = shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .password
            .clone();
        if let Some(pw) = password {
            let ok = authorization.as_deref() == Some(&format!("Bearer {pw}"))
                || header_str(header::HeaderName::from_static("x-bare-password")).as_deref()
                    == Some(&format!("password {pw}"));
            if !ok {
                return json_response(401, json!({"detail": "Unauthorized"}));
            }
        }
    }

    let q = query_map(&uri);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Letta quirk (NOTES: Agents): requests that look like the official SDK get agents with
    // EMPTY blocks / tools / identity_ids unless `include=agent.blocks` etc. is passed.
    let sdk_like = header_str(header::USER_AGENT).is_some_and(|ua| ua.starts_with("letta-client/"))
        || headers.contains_key("x-stainless-package-version");
    let resp = {
        let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
        route(
            &mut inner.db,
            method.as_str(),
            &path,
            &segs,
            &q,
            body_json.unwrap_or(Value::Null),
        )
    };
    if sdk_like && method == Method::GET && segs.get(1) == Some(&"agents") && segs.len() <= 3 {
        return strip_relations(resp, &q_all(&q, "include")).await;
    }
    resp
}

async fn strip_relations(resp: Response, include: &[&str]) -> Response {
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        return raw_response(
            status,
            "application/json",
            String::from_utf8_lossy(&bytes).into_owned(),
        );
    };
    let strip = |a: &mut Value| {
        for (field, inc) in [
            ("blocks", "agent.blocks"),
            ("tools", "agent.tools"),
            ("identity_ids", "agent.identities"),
        ] {
            if !include.contains(&inc) && a.get(field).is_some() {
                a[field] = json!([]);
            }
        }
        if !include.contains(&"agent.blocks") && a.get("memory").is_some() {
            a["memory"]["blocks"] = json!([]);
        }
    };
    match &mut v {
        Value::Array(items) => items.iter_mut().for_each(strip),
        obj @ Value::Object(_) => strip(obj),
        _ => {}
    }
    json_response(status, v)
}

/// Collection roots, which need their trailing slash.
const COLLECTIONS: [&str; 5] = [
    "/v1/agents",
    "/v1/blocks",
    "/v1/identities",
    "/v1/models",
    "/v1/health",
];

fn route(
    db: &mut Db,
    method: &str,
    path: &str,
    segs: &[&str],
    q: &[(String, String)],
    body: Value,
) -> Response {
    // Letta quirk (NOTES: Paths): a collection root without its slash is a 307 to an absolute
    // URL; so is an id path WITH a trailing slash.
    if COLLECTIONS.contains(&path) {
        return Response::builder()
            .status(307)
            .header(header::LOCATION, format!("http://testserver{path}/"))
            .body(Body::empty())
            .expect("response");
    }
    if segs.len() > 3 && segs.last() == Some(&"") {
        // (NOTES says 404; the real 0.16.8 answers 307 to the slash-less path.)
        return Response::builder()
            .status(307)
            .header(
                header::LOCATION,
                format!("http://testserver{}", path.trim_end_matches('/')),
            )
            .body(Body::empty())
            .expect("response");
    }

    match (method, segs) {
        ("GET", ["v1", "health", ""]) => {
            json_response(200, json!({"version": "0.16.8", "status": "ok"}))
        }
        ("GET", ["v1", "models", ""]) => json_response(
            200,
            json!([{"handle": "openai-proxy/fake-model", "name": "fake-model", "display_name": "fake-model",
                    "provider_type": "openai", "provider_name": "openai-proxy", "model": "fake-model",
                    "model_endpoint_type": "openai", "context_window": 8192, "max_context_window": 8192}]),
        ),
        ("GET", ["v1", "models", "embedding"]) => json_response(
            200,
            json!([{"handle": "openai/text-embedding-3-small", "name": "text-embedding-3-small",
                    "display_name": "text-embedding-3-small", "provider_type": "openai",
                    "provider_name": "openai", "embedding_endpoint_type": "openai",
                    "embedding_model": "text-embedding-3-small", "embedding_dim": 1536}]),
        ),
        (_, ["v1", "identities", rest @ ..]) => identities(db, method, rest, q, body),
        (_, ["v1", "blocks", rest @ ..]) => blocks(db, method, rest, body),
        (_, ["v1", "agents", rest @ ..]) => agents(db, method, rest, q, body),
        (_, ["v1", "runs", rest @ ..]) => runs(db, method, rest),
        _ => json_response(404, json!({"detail": "Not Found"})),
    }
}

fn missing_field(body: &Value, fields: &[&str]) -> Option<Response> {
    fields
        .iter()
        .find(|f| body.get(**f).is_none_or(Value::is_null))
        .map(|f| validation(&["body", f], "missing", "Field required", "{...}"))
}

fn identity_type_ok(body: &Value) -> Option<Response> {
    match body.get("identity_type").and_then(Value::as_str) {
        Some("org" | "user" | "other") | None => None,
        Some(other) => Some(validation(
            &["body", "identity_type"],
            "enum",
            "Input should be 'org', 'user' or 'other'",
            other,
        )),
    }
}

fn identity_view(db: &Db, ident: &Value) -> Value {
    // Letta quirk (NOTES: Identities): agent_ids / block_ids are ALWAYS [] in answers.
    let mut v = ident.clone();
    v["agent_ids"] = json!([]);
    v["block_ids"] = json!([]);
    let _ = db;
    v
}

fn identities(
    db: &mut Db,
    method: &str,
    rest: &[&str],
    q: &[(String, String)],
    body: Value,
) -> Response {
    match (method, rest) {
        ("GET", [""]) => {
            // Cursors, like the real server: `after` / `before` are identity ids (unknown: 404),
            // compared in the requested order (default newest first). `before` is a FILTER, not
            // a window: with `limit`, the page is taken from the start of the order (so in the
            // default order `before=X&limit=N` gives the N newest, not the N next to X).
            let asc = q_get(q, "order") == Some("asc");
            let position = |id: &str| db.identities.iter().position(|i| i["id"] == id);
            // Err(id): the cursor names no identity.
            let cursor = |key: &str| match q_get(q, key) {
                None => Ok(None),
                Some(id) => position(id).map(Some).ok_or(id),
            };
            let (after, before) = match (cursor("after"), cursor("before")) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(id), _) | (_, Err(id)) => return not_found("identities", id),
            };
            // Creation index of each identity; "comes after X" depends on the order.
            let in_window = |idx: usize| {
                let later = |c: usize| if asc { idx > c } else { idx < c };
                let earlier = |c: usize| if asc { idx < c } else { idx > c };
                after.is_none_or(later) && before.is_none_or(earlier)
            };
            let ordered: Vec<(usize, &Value)> = if asc {
                db.identities.iter().enumerate().collect()
            } else {
                db.identities.iter().enumerate().rev().collect()
            };
            let mut out: Vec<Value> = ordered
                .into_iter()
                .filter(|(idx, _)| in_window(*idx))
                .map(|(_, i)| i)
                .filter(|i| q_get(q, "identifier_key").is_none_or(|k| i["identifier_key"] == k))
                .filter(|i| {
                    q_get(q, "name").is_none_or(|n| {
                        i["name"]
                            .as_str()
                            .unwrap_or("")
                            .to_lowercase()
                            .contains(&n.to_lowercase())
                    })
                })
                .filter(|i| q_get(q, "identity_type").is_none_or(|t| i["identity_type"] == t))
                .map(|i| identity_view(db, i))
                .collect();
            let limit = q_get(q, "limit").and_then(|l| l.parse().ok()).unwrap_or(50);
            out.truncate(limit);
            json_response(200, Value::Array(out))
        }
        ("GET", ["count"]) => json_response(200, json!(db.identities.len())),
        ("POST", [""]) => {
            if let Some(r) = missing_field(&body, &["identifier_key", "name", "identity_type"])
                .or_else(|| identity_type_ok(&body))
            {
                return r;
            }
            if db
                .identities
                .iter()
                .any(|i| i["identifier_key"] == body["identifier_key"])
            {
                return raw_response(
                    409,
                    "application/json",
                    conflict_body("identities", "identifier_key"),
                );
            }
            let ident = json!({
                "id": new_id("identity"),
                "identifier_key": body["identifier_key"],
                "name": body["name"],
                "identity_type": body["identity_type"],
                "properties": body.get("properties").cloned().filter(|p| !p.is_null()).unwrap_or(json!([])),
                "agent_ids": [], "block_ids": [],
            });
            db.identities.push(ident.clone());
            json_response(200, identity_view(db, &ident))
        }
        ("PUT", [""]) => {
            if let Some(r) = missing_field(&body, &["identifier_key", "name", "identity_type"]) {
                return r;
            }
            // Letta quirk (NOTES: Identities): the upsert cannot create: 404 for a new key.
            let Some(ident) = db
                .identities
                .iter_mut()
                .find(|i| i["identifier_key"] == body["identifier_key"])
            else {
                return not_found("identities", body["identifier_key"].as_str().unwrap_or(""));
            };
            ident["name"] = body["name"].clone();
            ident["identity_type"] = body["identity_type"].clone();
            if let Some(p) = body.get("properties").filter(|p| !p.is_null()) {
                ident["properties"] = p.clone();
            }
            let ident = ident.clone();
            json_response(200, identity_view(db, &ident))
        }
        (_, [id, tail @ ..]) => {
            if !valid_id("identity", id) {
                return validation(
                    &["path", "identity_id"],
                    "string_pattern_mismatch",
                    "String should match pattern '^identity-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'",
                    id,
                );
            }
            let Some(pos) = db.identities.iter().position(|i| i["id"] == *id) else {
                return not_found("identities", id);
            };
            match (method, tail) {
                ("GET", []) => json_response(200, identity_view(db, &db.identities[pos])),
                ("DELETE", []) => {
                    db.identities.remove(pos);
                    db.block_identities.retain(|(_, i)| i != id);
                    db.agent_identities.retain(|(_, i)| i != id);
                    json_response(200, Value::Null)
                }
                ("PATCH", []) => {
                    if let Some(r) = identity_type_ok(&body) {
                        return r;
                    }
                    // A key another identity has: 409 with SQL in the body, like the real one.
                    if let Some(k) = body.get("identifier_key").filter(|k| !k.is_null()) {
                        if db
                            .identities
                            .iter()
                            .enumerate()
                            .any(|(n, i)| n != pos && i["identifier_key"] == *k)
                        {
                            return raw_response(
                                409,
                                "application/json",
                                conflict_body("identities", "identifier_key"),
                            );
                        }
                    }
                    let ident = &mut db.identities[pos];
                    for key in ["identifier_key", "name", "identity_type"] {
                        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                            ident[key] = v.clone();
                        }
                    }
                    // Letta quirk (NOTES: Identities): PATCH merges properties by key.
                    if let Some(Value::Array(new_props)) = body.get("properties") {
                        let mut props = ident["properties"].as_array().cloned().unwrap_or_default();
                        for np in new_props {
                            match props.iter_mut().find(|p| p["key"] == np["key"]) {
                                Some(p) => *p = np.clone(),
                                None => props.push(np.clone()),
                            }
                        }
                        ident["properties"] = Value::Array(props);
                    }
                    let ident = ident.clone();
                    json_response(200, identity_view(db, &ident))
                }
                ("PUT", ["properties"]) => {
                    if !body.is_array() {
                        return validation(
                            &["body"],
                            "list_type",
                            "Input should be a valid list",
                            "...",
                        );
                    }
                    db.identities[pos]["properties"] = body;
                    json_response(200, identity_view(db, &db.identities[pos]))
                }
                ("GET", ["blocks"]) => {
                    let out: Vec<Value> = db
                        .block_identities
                        .iter()
                        .filter(|(_, i)| i == id)
                        .filter_map(|(b, _)| db.blocks.get(b).cloned())
                        .collect();
                    json_response(200, Value::Array(out))
                }
                ("GET", ["agents"]) => {
                    let out: Vec<Value> = db
                        .agent_identities
                        .iter()
                        .filter(|(_, i)| i == id)
                        .filter_map(|(a, _)| agent_view(db, a))
                        .collect();
                    json_response(200, Value::Array(out))
                }
                _ => json_response(405, json!({"detail": "Method Not Allowed"})),
            }
        }
        _ => json_response(405, json!({"detail": "Method Not Allowed"})),
    }
}

fn blocks(db: &mut Db, method: &str, rest: &[&str], body: Value) -> Response {
    match (method, rest) {
        ("GET", ["count"]) => json_response(200, json!(db.blocks.len())),
        ("POST", [""]) => {
            if let Some(r) = missing_field(&body, &["label", "value"]) {
                return r;
            }
            let block = json!({
                "id": new_id("block"),
                "label": body["label"],
                "value": body["value"],
                // Letta quirk (NOTES: Blocks): the limit is stored, never enforced.
                "limit": body.get("limit").cloned().filter(|v| !v.is_null()).unwrap_or(json!(100000)),
                "description": body.get("description").cloned().unwrap_or(Value::Null),
                "read_only": body.get("read_only").cloned().filter(|v| !v.is_null()).unwrap_or(json!(false)),
                "metadata": body.get("metadata").cloned().filter(|v| !v.is_null()).unwrap_or(json!({})),
                "is_template": false, "hidden": null, "tags": null,
            });
            db.blocks
                .insert(block["id"].as_str().unwrap_or("").to_owned(), block.clone());
            json_response(200, block)
        }
        (_, [id, tail @ ..]) => {
            if !valid_id("block", id) {
                return validation(
                    &["path", "block_id"],
                    "string_pattern_mismatch",
                    "String should match pattern '^block-...$'",
                    id,
                );
            }
            if !db.blocks.contains_key(*id) {
                return not_found("blocks", id);
            }
            match (method, tail) {
                ("GET", []) => json_response(200, db.blocks[*id].clone()),
                ("PATCH", []) => {
                    let block = db.blocks.get_mut(*id).expect("checked");
                    for key in [
                        "value",
                        "limit",
                        "description",
                        "label",
                        "read_only",
                        "metadata",
                    ] {
                        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                            block[key] = v.clone();
                        }
                    }
                    json_response(200, block.clone())
                }
                ("DELETE", []) => {
                    db.blocks.remove(*id);
                    for list in db.agent_blocks.values_mut() {
                        list.retain(|b| b != id);
                    }
                    db.block_identities.retain(|(b, _)| b != id);
                    json_response(200, Value::Null)
                }
                ("PATCH", ["identities", action @ ("attach" | "detach"), identity_id]) => {
                    if !db.identities.iter().any(|i| i["id"] == *identity_id) {
                        return not_found("identities", identity_id);
                    }
                    let key = ((*id).to_owned(), (*identity_id).to_owned());
                    if *action == "attach" {
                        db.block_identities.insert(key);
                    } else {
                        db.block_identities.remove(&key);
                    }
                    json_response(200, db.blocks[*id].clone())
                }
                _ => json_response(405, json!({"detail": "Method Not Allowed"})),
            }
        }
        _ => json_response(405, json!({"detail": "Method Not Allowed"})),
    }
}

fn agent_view(db: &Db, agent_id: &str) -> Option<Value> {
    let mut agent = db.agents.iter().find(|a| a["id"] == agent_id)?.clone();
    let blocks: Vec<Value> = db
        .agent_blocks
        .get(agent_id)
        .into_iter()
        .flatten()
        .filter_map(|b| db.blocks.get(b).cloned())
        .collect();
    agent["memory"] = json!({"blocks": blocks.clone()});
    agent["blocks"] = Value::Array(blocks);
    agent["identity_ids"] = db
        .agent_identities
        .iter()
        .filter(|(a, _)| a == agent_id)
        .map(|(_, i)| json!(i))
        .collect();
    Some(agent)
}

/// Ids of the agents matching the list filters, oldest first.
fn matching_agents(db: &Db, q: &[(String, String)]) -> Vec<String> {
    let tags = q_all(q, "tags");
    let all_tags = q_get(q, "match_all_tags") == Some("true");
    let keys = q_all(q, "identifier_keys");
    db.agents
        .iter()
        .filter(|a| q_get(q, "name").is_none_or(|n| a["name"] == n))
        .filter(|a| {
            let has = |t: &&str| {
                a["tags"]
                    .as_array()
                    .is_some_and(|x| x.iter().any(|x| x.as_str() == Some(t)))
            };
            tags.is_empty()
                || if all_tags {
                    tags.iter().all(has)
                } else {
                    tags.iter().any(has)
                }
        })
        .filter(|a| {
            q_get(q, "identity_id").is_none_or(|i| {
                db.agent_identities
                    .contains(&(a["id"].as_str().unwrap_or("").to_owned(), i.to_owned()))
            })
        })
        .filter(|a| {
            keys.is_empty()
                || db.agent_identities.iter().any(|(agent, ident)| {
                    a["id"] == agent.as_str()
                        && db.identities.iter().any(|i| {
                            i["id"] == ident.as_str()
                                && keys.contains(&i["identifier_key"].as_str().unwrap_or(""))
                        })
                })
        })
        .filter(|a| {
            // Case-insensitive, like the real server.
            q_get(q, "query_text").is_none_or(|t| {
                a["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(&t.to_lowercase())
            })
        })
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect()
}

fn agents(
    db: &mut Db,
    method: &str,
    rest: &[&str],
    q: &[(String, String)],
    body: Value,
) -> Response {
    match (method, rest) {
        ("GET", [""]) => {
            let mut out: Vec<Value> = matching_agents(db, q)
                .into_iter()
                .filter_map(|id| agent_view(db, &id))
                .collect();
            // Newest first by default; `after` is the next ones in the chosen order.
            if q_get(q, "order") != Some("asc") {
                out.reverse();
            }
            if let Some(after) = q_get(q, "after") {
                match out.iter().position(|a| a["id"] == after) {
                    Some(i) => out = out.split_off(i + 1),
                    None => return not_found("agents", after),
                }
            }
            let limit = q_get(q, "limit").and_then(|l| l.parse().ok()).unwrap_or(50);
            out.truncate(limit);
            json_response(200, Value::Array(out))
        }
        ("GET", ["count"]) => json_response(200, json!(matching_agents(db, q).len())),
        ("POST", [""]) => {
            let id = new_id("agent");
            let mut block_ids: Vec<String> = body["block_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b.as_str().map(str::to_owned))
                .collect();
            for mb in body["memory_blocks"].as_array().into_iter().flatten() {
                let block_id = new_id("block");
                db.blocks.insert(
                    block_id.clone(),
                    json!({"id": block_id, "label": mb["label"], "value": mb["value"],
                           "limit": mb.get("limit").cloned().filter(|v| !v.is_null()).unwrap_or(json!(100000)),
                           "description": mb.get("description").cloned().unwrap_or(Value::Null),
                           "read_only": false, "metadata": {}}),
                );
                block_ids.push(block_id);
            }
            let model = body["model"]
                .as_str()
                .unwrap_or("openai-proxy/fake-model")
                .to_owned();
            let agent = json!({
                "id": id,
                "name": body.get("name").cloned().filter(|v| !v.is_null()).unwrap_or(json!(format!("agent-{}", &id[6..14]))),
                "description": body.get("description").cloned().unwrap_or(Value::Null),
                "tags": body.get("tags").cloned().filter(|v| !v.is_null()).unwrap_or(json!([])),
                "system": body.get("system").cloned().filter(|v| !v.is_null()).unwrap_or(json!("You are a helpful agent.")),
                "agent_type": "letta_v1_agent",
                "model": model,
                "embedding": body.get("embedding").cloned().unwrap_or(Value::Null),
                "llm_config": {"model": model.rsplit('/').next().unwrap_or(""), "handle": model,
                               "model_endpoint_type": "openai", "context_window": 8192},
                "created_at": now(), "updated_at": now(), "last_run_completion": null,
                "tools": [], "sources": [],
            });
            db.agent_blocks.insert(id.clone(), block_ids);
            for i in body["identity_ids"].as_array().into_iter().flatten() {
                db.agent_identities
                    .insert((id.clone(), i.as_str().unwrap_or("").to_owned()));
            }
            db.agents.push(agent);
            json_response(200, agent_view(db, &id).unwrap_or(Value::Null))
        }
        (_, [id, tail @ ..]) => {
            if !valid_id("agent", id) {
                return validation(
                    &["path", "agent_id"],
                    "string_pattern_mismatch",
                    "String should match pattern '^agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'",
                    id,
                );
            }
            let Some(pos) = db.agents.iter().position(|a| a["id"] == *id) else {
                return not_found("agents", id);
            };
            let id = (*id).to_owned();
            match (method, tail) {
                ("GET", []) => json_response(200, agent_view(db, &id).unwrap_or(Value::Null)),
                ("PATCH", []) => {
                    let agent = &mut db.agents[pos];
                    for key in [
                        "name",
                        "description",
                        "tags",
                        "system",
                        "model",
                        "embedding",
                    ] {
                        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                            agent[key] = v.clone();
                        }
                    }
                    agent["updated_at"] = json!(now());
                    if let Some(ids) = body.get("identity_ids").and_then(Value::as_array) {
                        db.agent_identities.retain(|(a, _)| *a != id);
                        for i in ids {
                            db.agent_identities
                                .insert((id.clone(), i.as_str().unwrap_or("").to_owned()));
                        }
                    }
                    json_response(200, agent_view(db, &id).unwrap_or(Value::Null))
                }
                ("DELETE", []) => {
                    db.agents.remove(pos);
                    db.agent_blocks.remove(&id);
                    db.agent_identities.retain(|(a, _)| *a != id);
                    json_response(200, Value::Null)
                }
                ("GET", ["core-memory", "blocks"]) => {
                    let out: Vec<Value> = db.agent_blocks[&id]
                        .iter()
                        .filter_map(|b| db.blocks.get(b).cloned())
                        .collect();
                    json_response(200, Value::Array(out))
                }
                ("PATCH", ["core-memory", "blocks", action @ ("attach" | "detach"), block_id]) => {
                    if !db.blocks.contains_key(*block_id) {
                        return not_found("blocks", block_id);
                    }
                    let list = db.agent_blocks.entry(id.clone()).or_default();
                    let attached = list.iter().any(|b| b == block_id);
                    if *action == "attach" {
                        // Repeat is harmless.
                        if !attached {
                            list.push((*block_id).to_owned());
                        }
                        let n = persona_labels(db, &id).len();
                        db.max_personas = db.max_personas.max(n);
                    } else {
                        // Letta quirk (NOTES: Agents): detaching a block that is not attached is a 404.
                        if !attached {
                            return not_found("blocks_agents", block_id);
                        }
                        list.retain(|b| b != block_id);
                    }
                    json_response(200, agent_view(db, &id).unwrap_or(Value::Null))
                }
                ("PATCH", ["identities", action @ ("attach" | "detach"), identity_id]) => {
                    if !db.identities.iter().any(|i| i["id"] == *identity_id) {
                        return not_found("identities", identity_id);
                    }
                    let key = (id.clone(), (*identity_id).to_owned());
                    if *action == "attach" {
                        db.agent_identities.insert(key);
                    } else {
                        db.agent_identities.remove(&key);
                    }
                    json_response(200, Value::Null)
                }
                ("GET", ["context"]) => {
                    let n = db.messages.get(&id).map_or(0, Vec::len);
                    let mut context = json!({
                        "context_window_size_max": 8192, "context_window_size_current": 1000 + 10 * n,
                        "num_messages": n, "num_archival_memory": db.passages.get(&id).map_or(0, Vec::len),
                        "num_recall_memory": n, "num_tokens_external_memory_summary": 50,
                        "external_memory_summary": "summary", "num_tokens_system": 500,
                        "system_prompt": db.agents[pos]["system"], "num_tokens_core_memory": 100,
                        "core_memory": "<memory_blocks></memory_blocks>", "num_tokens_summary_memory": 0,
                        "summary_memory": null, "num_tokens_functions_definitions": 300,
                        "functions_definitions": [], "num_tokens_messages": 10 * n, "messages": [],
                    });
                    if let Some((core, summary)) = db.context_texts.get(&id) {
                        context["core_memory"] = json!(core);
                        context["summary_memory"] = json!(summary);
                        context["external_memory_summary"] = json!(summary);
                    }
                    json_response(200, context)
                }
                ("GET", ["messages"]) => {
                    let mut all = db.messages.get(&id).cloned().unwrap_or_default();
                    // `before`: only messages older than that one.
                    if let Some(before) = q_get(q, "before") {
                        if let Some(pos) = all.iter().position(|m| m["id"] == before) {
                            all.truncate(pos);
                        }
                    }
                    let limit = q_get(q, "limit")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(100);
                    let page = if q_get(q, "order") == Some("asc") {
                        all.into_iter().take(limit).collect::<Vec<_>>()
                    } else {
                        // newest N, chronological inside the page
                        let skip = all.len().saturating_sub(limit);
                        all.into_iter().skip(skip).collect()
                    };
                    json_response(200, Value::Array(page))
                }
                ("POST", ["messages"]) => match turn(db, &id, &body) {
                    Ok((out, _)) => json_response(
                        200,
                        json!({"messages": out, "stop_reason": {"message_type": "stop_reason", "stop_reason": "end_turn"},
                               "usage": usage()}),
                    ),
                    Err(r) => *r,
                },
                ("POST", ["messages", "stream"]) => match turn(db, &id, &body) {
                    Ok((out, _)) if db.stream_delay.is_zero() => {
                        raw_response(200, "text/event-stream", sse_for(&out))
                    }
                    Ok((out, _)) => {
                        let live = db.live.entry(id.clone()).or_default().clone();
                        let now = db.streams_now.fetch_add(1, Ordering::SeqCst) + 1;
                        db.max_streams.fetch_max(now, Ordering::SeqCst);
                        let counter = db.streams_now.clone();
                        slow_sse(live, counter, sse_events(&out), db.stream_delay)
                    }
                    Err(r) => *r,
                },
                ("POST", ["messages", "async"]) => match turn(db, &id, &body) {
                    Ok((out, user)) => {
                        let run_id = new_id("run");
                        let run = json!({"id": run_id, "status": "completed", "agent_id": id,
                                         "created_at": now(), "completed_at": now(), "stop_reason": "end_turn"});
                        let mut msgs = vec![user];
                        msgs.extend(out);
                        db.runs.insert(run_id, (run.clone(), msgs));
                        let mut created = run;
                        created["status"] = json!("created");
                        created["completed_at"] = Value::Null;
                        json_response(200, created)
                    }
                    Err(r) => *r,
                },
                ("POST", ["messages", "cancel"]) => {
                    let live = db.live.get(&id).cloned();
                    match live.filter(|l| l.streams.load(Ordering::SeqCst) > 0) {
                        Some(l) => {
                            l.cancel.store(true, Ordering::SeqCst);
                            json_response(200, json!({"run-fake": "cancelled"}))
                        }
                        None => json_response(
                            409,
                            json!({"detail": format!("No active runs to cancel for agent {id}")}),
                        ),
                    }
                }
                ("GET", ["archival-memory"]) => {
                    let mut out = db.passages.get(&id).cloned().unwrap_or_default();
                    if let Some(s) = q_get(q, "search") {
                        let s = s.to_lowercase();
                        out.retain(|p| {
                            p["text"].as_str().unwrap_or("").to_lowercase().contains(&s)
                        });
                    }
                    // Like 0.16.8 (pinned in the contract tests): `after`/`before` are positions
                    // in time whatever the order; oldest first unless `ascending=false`.
                    let pos = |out: &[Value], key: &str| {
                        q_get(q, key).and_then(|pid| out.iter().position(|p| p["id"] == pid))
                    };
                    let (after, before) = (pos(&out, "after"), pos(&out, "before"));
                    if let Some(i) = before {
                        out.truncate(i);
                    }
                    if let Some(i) = after {
                        out = out.split_off((i + 1).min(out.len()));
                    }
                    if q_get(q, "ascending") == Some("false") {
                        out.reverse();
                    }
                    let limit = q_get(q, "limit")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(100);
                    out.truncate(limit);
                    json_response(200, Value::Array(out))
                }
                ("POST", ["archival-memory"]) => {
                    if let Some(r) = missing_field(&body, &["text"]) {
                        return r;
                    }
                    let p = json!({"id": new_id("passage"), "text": body["text"],
                                   "tags": body.get("tags").cloned().unwrap_or(Value::Null),
                                   "created_at": now(),
                                   // Letta quirk (NOTES: Archival memory): full embedding vectors.
                                   "embedding": vec![0.25_f32; 4096],
                                   "embedding_config": {"embedding_dim": 4096}});
                    db.passages.entry(id.clone()).or_default().push(p.clone());
                    json_response(200, json!([p]))
                }
                ("GET", ["archival-memory", "search"]) => {
                    let query = q_get(q, "query").unwrap_or("");
                    let results: Vec<Value> = db
                        .passages
                        .get(&id)
                        .into_iter()
                        .flatten()
                        .filter(|p| {
                            let words: Vec<&str> = query.split_whitespace().collect();
                            words.is_empty() || words.iter().any(|w| p["text"].as_str().unwrap_or("").contains(w))
                        })
                        .map(|p| json!({"id": p["id"], "timestamp": p["created_at"], "content": p["text"],
                                        "tags": p["tags"].as_array().cloned().unwrap_or_default()}))
                        .collect();
                    json_response(200, json!({"count": results.len(), "results": results}))
                }
                ("DELETE", ["archival-memory", passage_id]) => {
                    let list = db.passages.entry(id.clone()).or_default();
                    let before = list.len();
                    list.retain(|p| p["id"] != *passage_id);
                    if list.len() == before {
                        return not_found("passages", passage_id);
                    }
                    json_response(200, Value::Null)
                }
                _ => json_response(405, json!({"detail": "Method Not Allowed"})),
            }
        }
        _ => json_response(405, json!({"detail": "Method Not Allowed"})),
    }
}

fn usage() -> Value {
    json!({"message_type": "usage_statistics", "completion_tokens": 3, "prompt_tokens": 100,
           "total_tokens": 103, "step_count": 1, "run_ids": null})
}

/// One agent turn: store the user message(s), answer "echo: <text>". Returns (answer messages,
/// last user message).
fn turn(db: &mut Db, agent_id: &str, body: &Value) -> Result<(Vec<Value>, Value), Box<Response>> {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(Box::new(validation(
            &["body", "messages"],
            "missing",
            "Field required",
            "{...}",
        )));
    };
    let personas = persona_labels(db, agent_id);
    for m in messages {
        db.sends.push(SendRecord {
            agent_id: agent_id.to_owned(),
            sender_id: m["sender_id"].as_str().map(str::to_owned),
            text: m["content"].as_str().unwrap_or_default().to_owned(),
            personas: personas.clone(),
        });
    }
    let history = db.messages.entry(agent_id.to_owned()).or_default();
    let mut user = Value::Null;
    let mut text = String::new();
    for m in messages {
        let content = match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text = content.clone();
        user = json!({"id": new_id("message"), "date": now(), "message_type": "user_message",
                      "content": content, "sender_id": m.get("sender_id").cloned().unwrap_or(Value::Null),
                      "otid": null, "run_id": null});
        history.push(user.clone());
    }
    let answer = json!({"id": new_id("message"), "date": now(), "message_type": "assistant_message",
                        "content": format!("echo: {text}"), "sender_id": null});
    history.push(answer.clone());
    // `[remember:TEXT]` in a message: the agent calls `core_memory_append`, and TEXT lands at
    // the end of the attached persona block (as a memory tool would write it).
    let mut out = Vec::new();
    if let Some(memo) = text
        .split("[remember:")
        .nth(1)
        .and_then(|r| r.split(']').next())
    {
        let call = json!({"id": new_id("message"), "date": now(), "message_type": "tool_call_message",
                          "tool_call": {"name": "core_memory_append", "tool_call_id": new_id("call"),
                                        "arguments": json!({"content": memo}).to_string()}});
        history.push(call.clone());
        out.push(call);
        let personas: Vec<String> = db
            .agent_blocks
            .get(agent_id)
            .into_iter()
            .flatten()
            .filter(|b| is_persona_block(db, b))
            .cloned()
            .collect();
        for b in personas {
            if let Some(block) = db.blocks.get_mut(&b) {
                let value = block["value"].as_str().unwrap_or_default().to_owned();
                block["value"] = json!(format!("{value}\n{memo}"));
            }
        }
    }
    out.push(answer);
    Ok((out, user))
}

/// Whether block `id` is a `Persona_` block.
fn is_persona_block(db: &Db, id: &str) -> bool {
    db.blocks
        .get(id)
        .and_then(|b| b["label"].as_str())
        .is_some_and(|l| l.starts_with("Persona_"))
}

/// SSE for a turn, like `/messages/stream` with `stream_tokens`: a ping, the assistant message as
/// token chunks (same id, content deltas), stop_reason, usage, [DONE].
fn sse_for(messages: &[Value]) -> String {
    sse_events(messages).concat()
}

fn sse_events(messages: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "data: {}\n\n",
        json!({"message_type": "ping", "id": "ping", "date": now()})
    ));
    for m in messages {
        if m["message_type"] != "assistant_message" {
            out.push(format!("data: {m}\n\n"));
            continue;
        }
        let text = m["content"].as_str().unwrap_or("");
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        for w in words {
            let mut chunk = m.clone();
            chunk["content"] = json!(w);
            out.push(format!("data: {chunk}\n\n"));
        }
    }
    out.push(format!(
        "data: {}\n\n",
        json!({"message_type": "stop_reason", "stop_reason": "end_turn"})
    ));
    out.push(format!("data: {}\n\n", usage()));
    out.push("data: [DONE]\n\n".to_owned());
    out
}

/// Counts a running stream; stops counting when dropped (finished or the client went away).
struct LiveGuard(Arc<LiveAgent>, Arc<std::sync::atomic::AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
        self.1.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The events one at a time with a pause before each; a cancel ends the stream the way the real
/// server does (a `stop_reason` `cancelled`, no `[DONE]`).
fn slow_sse(
    live: Arc<LiveAgent>,
    all_streams: Arc<std::sync::atomic::AtomicUsize>,
    events: Vec<String>,
    delay: Duration,
) -> Response {
    live.cancel.store(false, Ordering::SeqCst);
    live.streams.fetch_add(1, Ordering::SeqCst);
    let guard = LiveGuard(live, all_streams);
    let state = (guard, events.into_iter(), false);
    let body = futures::stream::unfold(state, move |(guard, mut events, done)| async move {
        if done {
            return None;
        }
        tokio::time::sleep(delay).await;
        if guard.0.cancel.load(Ordering::SeqCst) {
            let stop = format!(
                "data: {}\n\n",
                json!({"message_type": "stop_reason", "stop_reason": "cancelled"})
            );
            return Some((
                Ok::<_, std::io::Error>(Bytes::from(stop)),
                (guard, events, true),
            ));
        }
        let next = events.next()?;
        Some((Ok(Bytes::from(next)), (guard, events, false)))
    });
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .expect("response")
}

/// An SSE body like the real server's answer to an LLM failure mid-stream (HTTP 200).
pub fn sse_llm_error() -> String {
    format!(
        "data: {}\n\nevent: error\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"message_type": "stop_reason", "stop_reason": "llm_api_error"}),
        json!({"message_type": "error_message", "run_id": "run-1", "error_type": "llm_error",
               "message": "The LLM request failed", "detail": SECRET_MARKER})
    )
}

fn runs(db: &mut Db, method: &str, rest: &[&str]) -> Response {
    match (method, rest) {
        ("GET", [id]) => match db.runs.get(*id) {
            Some((run, _)) => json_response(200, run.clone()),
            None => not_found("runs", id),
        },
        ("GET", [id, "messages"]) => match db.runs.get(*id) {
            Some((_, msgs)) => json_response(200, Value::Array(msgs.clone())),
            None => not_found("runs", id),
        },
        _ => json_response(405, json!({"detail": "Method Not Allowed"})),
    }
}
