//! What an operator watches: request ids on every response and log line, request and Letta
//! call metrics, and `/metrics` in the Prometheus text format (off unless a bearer token is
//! configured).
//!
//! The metrics recorder is process-wide (the `metrics` facade has one global recorder); every
//! dashboard in a process (tests run several) counts into it.

use std::sync::OnceLock;
use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::state::AppState;

/// Seconds: from a quick page to a slow chat turn.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's metrics recorder, installed on first use.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only what reaches this one");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "letta_admin_http_requests_total",
        "HTTP requests answered, by route and status"
    );
    describe_histogram!(
        "letta_admin_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (a streamed answer: until its head), by route and status"
    );
    describe_counter!(
        "letta_admin_chat_turns_total",
        "Chat turns ended, by outcome (complete, stopped, cancelled, timed_out, failed)"
    );
    describe_histogram!(
        "letta_admin_agent_lock_wait_seconds",
        Unit::Seconds,
        "How long a chat turn waited for its agent"
    );
    describe_gauge!(
        "letta_admin_chat_journal_rows",
        "Persona blocks attached by chat turns right now (rows in the chat journal)"
    );
    describe_counter!(
        "letta_admin_letta_requests_total",
        "Requests to the Letta server, by operation and outcome"
    );
    describe_histogram!(
        "letta_admin_letta_request_duration_seconds",
        Unit::Seconds,
        "Time of a request to the Letta server, by operation and outcome"
    );
    describe_counter!(
        "letta_admin_login_failures_total",
        "Failed sign-ins (wrong username or password, disabled account)"
    );
}

/// The request id a trusted proxy sent, if it is a sane token.
fn forwarded_id(req: &Request) -> Option<String> {
    let v = req.headers().get("x-request-id")?.to_str().ok()?;
    let ok = (1..=128).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    ok.then(|| v.to_string())
}

fn new_id() -> String {
    let mut buf = [0u8; 8];
    let _ = getrandom::fill(&mut buf);
    hex::encode(buf)
}

/// The route a request matched, as a bounded label: the route pattern for pages, the endpoint
/// for a known server function, and a catch-all for everything else (unknown paths must not
/// mint new series).
fn route_label(req: &Request) -> String {
    let path = req.uri().path();
    if path.starts_with(crate::auth::API_PREFIX) {
        return if crate::auth::required_access(path).is_some() {
            path.to_string()
        } else {
            "/api/unknown".into()
        };
    }
    match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None => "unmatched".into(),
    }
}

/// Middleware: gives the request its id (a trusted proxy's `X-Request-Id`, else a new one),
/// runs it inside a span that carries the id (so every log line of the request has it),
/// answers with `x-request-id`, and counts it.
pub async fn request_context(req: Request, next: Next) -> Response {
    let trusted = req
        .extensions()
        .get::<crate::proxy::Client>()
        .is_some_and(|c| c.trusted_peer);
    let id = trusted
        .then(|| forwarded_id(&req))
        .flatten()
        .unwrap_or_else(new_id);
    let route = route_label(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = Instant::now();
    let mut res = next.run(req).instrument(span).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("letta_admin_http_requests_total", "route" => route.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("letta_admin_http_request_duration_seconds", "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// `GET /metrics`: 404 unless `LETTA_ADMIN_METRICS_TOKEN` is set; then only with
/// `Authorization: Bearer <token>` (401 otherwise).
pub async fn metrics_endpoint(State(state): State<AppState>, req: Request) -> Response {
    let Some(token) = state
        .config
        .metrics_token
        .as_ref()
        .map(secrecy::ExposeSecret::expose_secret)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| crate::crypto::constant_time_eq(g.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required",
        )
            .into_response();
    }
    match crate::db::chat::attachments(&state.db).await {
        Ok(rows) => metrics::gauge!("letta_admin_chat_journal_rows").set(rows.len() as f64),
        Err(e) => tracing::error!(error = %e, "metrics: journal read"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics().render(),
    )
        .into_response()
}

/// A Letta request's operation as a bounded label: the method and the path with every id
/// (`agent-…`, `block-…`, run and message ids: anything holding a digit and a dash) as `{id}`.
pub fn letta_operation(method: &str, path: &str) -> String {
    let template: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.contains('-') && s.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", template.join("/"))
}

/// Counts one Letta request.
pub fn letta_request(operation: &str, outcome: &'static str, seconds: f64) {
    metrics::counter!("letta_admin_letta_requests_total", "operation" => operation.to_string(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("letta_admin_letta_request_duration_seconds", "operation" => operation.to_string(), "outcome" => outcome)
        .record(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letta_operations_have_no_ids() {
        assert_eq!(
            letta_operation(
                "PATCH",
                "/v1/agents/agent-6f1c1b8e-0d2c-4b7e-9a51-1f8e2a3c4d5e/core-memory/blocks/attach/block-1a2b3c4d-0000-4000-8000-000000000000"
            ),
            "PATCH /v1/agents/{id}/core-memory/blocks/attach/{id}"
        );
        assert_eq!(letta_operation("GET", "/v1/health/"), "GET /v1/health/");
        assert_eq!(
            letta_operation("GET", "/v1/identities/count"),
            "GET /v1/identities/count"
        );
    }
}
