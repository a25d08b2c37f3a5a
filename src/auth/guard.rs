//! Who is asking: the session → user lookup, the role guard every server function starts with,
//! and the API middleware that enforces the `/api/<access>/…` policy before any argument is
//! decoded.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::OnceCell;
use tower_sessions::Session;

use super::{required_access, Access, CurrentUser, Role};
use crate::{
    db::{self, audit::Outcome},
    error::AppError,
    state::AppState,
};

const SESSION_KEY: &str = "auth";

/// What the server-side session holds for a signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionAuth {
    user_id: i64,
    /// The user's `session_epoch` at login; a password reset, role change or disable bumps
    /// it and so ends every older session.
    epoch: i64,
    login_at_ms: i64,
    /// When this session last extended its idle expiry (see [`needs_touch`]). Sessions from
    /// before the field existed read 0: touched on their next request.
    #[serde(default)]
    touched_at_ms: i64,
}

/// tower-sessions writes a session (and with it a new idle expiry, in the store and in the
/// cookie's max-age) only when it was modified. Without a touch, an active user's session
/// ended `session_idle` after sign-in, however busy they were. A touch at most every
/// `min(60 s, idle / 4)` keeps it alive without a database write on every request.
fn needs_touch(now_ms: i64, touched_at_ms: i64, idle: std::time::Duration) -> bool {
    let every = (idle / 4).min(std::time::Duration::from_secs(60));
    now_ms - touched_at_ms >= every.as_millis() as i64
}

fn internal<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> AppError {
    move |e| {
        tracing::error!(error = %e, "{what}");
        AppError::Internal
    }
}

/// The user behind this session, if it is still valid (known, enabled, same epoch, within the
/// absolute lifetime). An invalid session is ended on the spot.
pub async fn session_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(auth) = session
        .get::<SessionAuth>(SESSION_KEY)
        .await
        .map_err(internal("session read failed"))?
    else {
        return Ok(None);
    };
    let now = db::now_ms();
    let too_old = now - auth.login_at_ms > state.config.session_absolute.as_millis() as i64;
    let user = db::users::by_id(&state.db, auth.user_id).await?;
    match user {
        Some(u) if !too_old && !u.disabled && u.session_epoch == auth.epoch => {
            if needs_touch(now, auth.touched_at_ms, state.config.session_idle) {
                session
                    .insert(
                        SESSION_KEY,
                        SessionAuth {
                            touched_at_ms: now,
                            ..auth
                        },
                    )
                    .await
                    .map_err(internal("session touch failed"))?;
            }
            Ok(Some(CurrentUser {
                id: u.id,
                username: u.username.clone(),
                role: u.role(),
            }))
        }
        _ => {
            session
                .flush()
                .await
                .map_err(internal("session flush failed"))?;
            Ok(None)
        }
    }
}

/// The session's user, looked up at most once per request: the API middleware and the server
/// function behind it, or a server-rendered page's `whoami` and the guards of every server
/// function the page calls, all share one lookup. Lives in the request (extension or Leptos
/// context), so it can never outlive a sign-out.
#[derive(Clone, Default)]
pub struct RequestUser(Arc<OnceCell<Option<CurrentUser>>>);

impl RequestUser {
    /// A lookup the caller already made for this request.
    pub fn known(user: Option<CurrentUser>) -> RequestUser {
        RequestUser(Arc::new(OnceCell::new_with(Some(user))))
    }

    pub async fn get(
        &self,
        state: &AppState,
        session: &Session,
    ) -> Result<Option<CurrentUser>, AppError> {
        self.0
            .get_or_try_init(|| session_user(state, session))
            .await
            .cloned()
    }
}

/// The user behind the current request (see [`RequestUser`]).
pub async fn current_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<CurrentUser>, AppError> {
    match leptos::prelude::use_context::<RequestUser>() {
        Some(memo) => memo.get(state, session).await,
        None => session_user(state, session).await,
    }
}

/// Starts a fresh session for `user` (a new session id: no fixation).
pub async fn start_session(session: &Session, user: &db::users::UserRow) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(internal("session cycle failed"))?;
    session
        .insert(
            SESSION_KEY,
            SessionAuth {
                user_id: user.id,
                epoch: user.session_epoch,
                login_at_ms: db::now_ms(),
                touched_at_ms: db::now_ms(),
            },
        )
        .await
        .map_err(internal("session write failed"))
}

pub async fn end_session(session: &Session) -> Result<(), AppError> {
    session
        .flush()
        .await
        .map_err(internal("session flush failed"))
}

/// What a server function works with once its guard passed.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub user: CurrentUser,
}

impl Ctx {
    /// Records a state-changing action by this user in the audit log.
    pub async fn audit(
        &self,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) {
        audit(
            &self.state,
            Some(&self.user.username),
            action,
            target,
            outcome,
            detail,
        )
        .await;
    }
}

/// Audit writes never fail the action they describe; a failure is logged loudly instead.
pub async fn audit(
    state: &AppState,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    outcome: Outcome,
    detail: Option<&str>,
) {
    if let Err(e) = db::audit::record(&state.db, actor, action, target, outcome, detail).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}

pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(internal("no session layer"))
}

/// The guard on the first line of every protected server function.
pub async fn require_role(role: Role) -> Result<Ctx, AppError> {
    let state = app_state()?;
    let session = session().await?;
    match current_user(&state, &session).await? {
        None => Err(AppError::Unauthorized),
        Some(user) if user.role < role => Err(AppError::Forbidden),
        Some(user) => Ok(Ctx { state, user }),
    }
}

fn error_response(err: &AppError, path: &str) -> Response {
    let body = serde_json::to_string(err).unwrap_or_else(|_| "\"Internal\"".into());
    let mut res = Response::builder()
        .status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .header(leptos::server_fn::error::SERVER_FN_ERROR_HEADER, path)
        .body(Body::from(body))
        .expect("static response parts are valid");
    retry_after(res.headers_mut(), err);
    res
}

/// `Retry-After` for an error that says when to come back (429, 503).
fn retry_after(headers: &mut axum::http::HeaderMap, err: &AppError) {
    if let Some(secs) = err.retry_after_secs() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

/// The largest request body the API reads (a CSV import of a few thousand persons fits).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// A body over [`MAX_BODY_BYTES`] is answered 413 with a message before any server function
/// reads it: by its `Content-Length`, or, for a body without one, while it is read (the
/// server-function layer would answer its own read error with a 500).
async fn limit_body(req: Request, path: &str) -> Result<Request, Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n <= MAX_BODY_BYTES as u64) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut over = declared.is_some();
    while !over {
        match futures::StreamExt::next(&mut stream).await {
            Some(Ok(chunk)) if bytes.len() + chunk.len() <= MAX_BODY_BYTES => {
                bytes.extend_from_slice(&chunk)
            }
            Some(Ok(_)) => over = true,
            Some(Err(_)) => {
                return Err(error_response(
                    &AppError::Request("The request body could not be read.".into()),
                    path,
                ))
            }
            None => return Ok(Request::from_parts(parts, Body::from(bytes))),
        }
    }
    // Read (and drop) a bounded amount of the rest, so the client, still sending, receives the
    // answer instead of a reset connection.
    let drain = async {
        let mut left: usize = 8 << 20;
        while let Some(Ok(chunk)) = futures::StreamExt::next(&mut stream).await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    Err(error_response(
        &AppError::TooLarge {
            max_kib: (MAX_BODY_BYTES / 1024) as u32,
        },
        path,
    ))
}

/// Middleware for `/api/…`: refuses a caller below the path's access level before the server
/// function decodes anything, and gives server-function errors their real HTTP status (the
/// server-function layer answers every error with 500).
pub async fn api_guard(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with(super::API_PREFIX) {
        return next.run(req).await;
    }
    let mut req = match limit_body(req, &path).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    // The server function's own guard reuses this lookup (see `server_fn_handler`).
    let memo = RequestUser::default();
    req.extensions_mut().insert(memo.clone());
    match required_access(&path) {
        None => return error_response(&AppError::NotFound("No such endpoint.".into()), &path),
        Some(Access::Public) => {}
        Some(Access::AtLeast(role)) => match memo.get(&state, &session).await {
            Err(e) => return error_response(&e, &path),
            Ok(None) => return error_response(&AppError::Unauthorized, &path),
            Ok(Some(user)) if user.role < role => {
                audit(
                    &state,
                    Some(&user.username),
                    "access.denied",
                    Some(&path),
                    Outcome::Denied,
                    None,
                )
                .await;
                return error_response(&AppError::Forbidden, &path);
            }
            Ok(Some(_)) => {}
        },
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    // Re-status the error from its own body (small: it is one serialized AppError).
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(parts.status);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        retry_after(&mut parts.headers, &err);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::needs_touch;
    use std::time::Duration;

    #[test]
    fn a_session_is_touched_at_most_once_a_minute() {
        let hour = Duration::from_secs(3600);
        assert!(!needs_touch(1_000 + 59_999, 1_000, hour));
        assert!(needs_touch(1_000 + 60_000, 1_000, hour));
        // Never touched (a session from before the field existed).
        assert!(needs_touch(1_700_000_000_000, 0, hour));
    }

    #[test]
    fn a_short_idle_window_is_touched_within_a_quarter_of_it() {
        let idle = Duration::from_secs(8);
        assert!(!needs_touch(10_000 + 1_999, 10_000, idle));
        assert!(needs_touch(10_000 + 2_000, 10_000, idle));
    }
}
