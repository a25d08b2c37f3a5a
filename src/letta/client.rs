//! The one `send` core every Letta call goes through: URL joining (with the trailing-slash
//! rules), auth header, per-request timeout, GET-only retries, status checking and decoding.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{header, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::letta::agents::Agents;
use crate::letta::blocks::Blocks;
use crate::letta::error::LettaError;
use crate::letta::identities::Identities;
use crate::letta::messages::Messages;
use crate::letta::models::Models;
use crate::letta::passages::Passages;
use crate::letta::runs::Runs;
use crate::letta::types::Health;

/// Backoff before each retry of an idempotent GET whose connection failed.
const GET_RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(300)];

/// Where the Letta server is and how to talk to it.
#[derive(Clone, Debug)]
pub struct Connection {
    /// May carry a path prefix (`https://host/letta/`), with or without a trailing slash.
    pub base_url: Url,
    /// Sent as `Authorization: Bearer <password>` when set. A secret type: never printed
    /// (its `Debug` is redacted), read only where the header is written.
    pub password: Option<SecretString>,
    /// Whole-request timeout (connect + answer + body). For streams it is the idle timeout
    /// between two chunks instead, see [`crate::letta::messages::Messages::stream`].
    pub timeout: Duration,
}

impl Connection {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// Build a connection from a settings string. An empty string is [`LettaError::NotConfigured`];
    /// anything that is not an absolute http(s) URL is [`LettaError::InvalidBaseUrl`].
    pub fn parse(
        base_url: &str,
        password: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, LettaError> {
        let trimmed = base_url.trim();
        if trimmed.is_empty() {
            return Err(LettaError::NotConfigured);
        }
        let url = Url::parse(trimmed).map_err(|_| LettaError::InvalidBaseUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(LettaError::InvalidBaseUrl);
        }
        Ok(Connection {
            base_url: url,
            password: password.filter(|p| !p.expose_secret().is_empty()),
            timeout,
        })
    }
}

/// The ONE pooled HTTP client the app shares (pass clones of it to [`LettaClient::new`]).
///
/// - Our own User-Agent. Letta quirk (NOTES: Agents): a `letta-client/<v>` User-Agent (or an
///   `X-Stainless-Package-Version` header) makes the server return EMPTY `blocks`/`tools`/
///   `identity_ids` on agents, so never impersonate the official SDK.
/// - No redirects: the only redirect Letta sends is a 307 for a collection path without its
///   trailing slash, which is a bug in this client; following it would hide the bug (and the
///   307 `Location` is absolute, which breaks behind a path-prefix proxy).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("letta-admin/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        // Only fails if the TLS backend cannot initialise, which is a broken build, not a
        // runtime condition.
        .expect("building the reqwest client")
}

/// A path below the base URL, as unencoded segments (each one is percent-encoded on join, so an
/// id can never inject `/`, `?` or `#`).
///
/// Letta quirk (NOTES: Paths): collection roots need a trailing slash (`/v1/agents/`; without it
/// the server answers 307), while id paths and their sub-resources must NOT end in one (NOTES
/// says 404; the 0.16.8 peer answers 307 to the slash-less path). The two constructors encode
/// that rule; since redirects are not followed, a mistake shows up as `Status { 307 }`.
#[derive(Debug, Clone)]
pub(crate) struct ApiPath {
    segments: Vec<String>,
    trailing_slash: bool,
}

impl ApiPath {
    /// A collection root: `/v1/agents/`, `/v1/identities/`, `/v1/health/`.
    pub(crate) fn collection(segments: &[&str]) -> Self {
        ApiPath {
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            trailing_slash: true,
        }
    }

    /// An object or anything below it: `/v1/agents/{id}`, `/v1/agents/{id}/context`,
    /// `/v1/identities/count`.
    pub(crate) fn item(segments: &[&str]) -> Self {
        ApiPath {
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            trailing_slash: false,
        }
    }

    /// An empty, `.` or `..` segment (an empty id, typically) would silently address another
    /// route (`/v1/agents/` + "" is the agent LIST), so refuse it before sending anything.
    fn check(&self) -> Result<(), LettaError> {
        if self
            .segments
            .iter()
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(LettaError::Validation {
                message: "an id in the request is empty or invalid".to_owned(),
                body: format!("refused to send request to {self}"),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ApiPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.segments {
            write!(f, "/{s}")?;
        }
        if self.trailing_slash {
            f.write_str("/")?;
        }
        Ok(())
    }
}

/// Join `path` onto `base` (which may have a path prefix, with or without a trailing slash) and
/// set the query pairs.
pub(crate) fn join_url(
    base: &Url,
    path: &ApiPath,
    query: &[(String, String)],
) -> Result<Url, LettaError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|_| LettaError::InvalidBaseUrl)?;
        // `https://host/letta/` has a trailing empty segment; drop it so we do not get `//`.
        segs.pop_if_empty();
        segs.extend(path.segments.iter());
        if path.trailing_slash {
            segs.push("");
        }
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

/// Turn a `Serialize` filter struct into query pairs. `None` fields are skipped, sequences become
/// repeated keys (`tags=a&tags=b`, which is how FastAPI reads list parameters), scalars are
/// written as text. (reqwest 0.13's `.query()` is behind a feature and serde_urlencoded cannot
/// write sequences, hence our own.)
pub(crate) fn query_pairs<Q: Serialize + ?Sized>(
    query: &Q,
) -> Result<Vec<(String, String)>, LettaError> {
    let value = serde_json::to_value(query).map_err(|source| LettaError::Decode {
        source,
        body: String::new(),
    })?;
    let mut out = Vec::new();
    let Value::Object(map) = value else {
        return Ok(out);
    };
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        }
    }
    for (key, v) in map {
        match &v {
            Value::Array(items) => {
                out.extend(items.iter().filter_map(scalar).map(|s| (key.clone(), s)))
            }
            other => out.extend(scalar(other).map(|s| (key.clone(), s))),
        }
    }
    Ok(out)
}

/// A cheap, cloneable handle to one Letta server. All clones share the pooled `reqwest::Client`.
#[derive(Clone)]
pub struct LettaClient {
    http: reqwest::Client,
    conn: Arc<Connection>,
}

impl fmt::Debug for LettaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LettaClient")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl LettaClient {
    pub fn new(http: reqwest::Client, conn: Connection) -> Self {
        LettaClient {
            http,
            conn: Arc::new(conn),
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn identities(&self) -> Identities<'_> {
        Identities::new(self)
    }

    pub fn blocks(&self) -> Blocks<'_> {
        Blocks::new(self)
    }

    pub fn agents(&self) -> Agents<'_> {
        Agents::new(self)
    }

    pub fn messages(&self) -> Messages<'_> {
        Messages::new(self)
    }

    pub fn passages(&self) -> Passages<'_> {
        Passages::new(self)
    }

    pub fn runs(&self) -> Runs<'_> {
        Runs::new(self)
    }

    pub fn models(&self) -> Models<'_> {
        Models::new(self)
    }

    /// `GET /v1/health/` -> `{version, status}`.
    ///
    /// Letta quirk (NOTES: Auth): health is open without auth, so a good answer here does not
    /// prove the password; use [`LettaClient::check_auth`] for that.
    pub async fn health(&self) -> Result<Health, LettaError> {
        self.get(ApiPath::collection(&["v1", "health"]), &()).await
    }

    /// Prove the password with a cheap authenticated call (`GET /v1/identities/count`).
    /// A wrong or missing password gives [`LettaError::Unauthorized`].
    pub async fn check_auth(&self) -> Result<(), LettaError> {
        let _count: u64 = self
            .get(ApiPath::item(&["v1", "identities", "count"]), &())
            .await?;
        Ok(())
    }

    // ---- the send core -------------------------------------------------------------------

    pub(crate) async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: ApiPath,
        query: &Q,
    ) -> Result<T, LettaError> {
        let pairs = query_pairs(query)?;
        self.send(Method::GET, path, &pairs, None).await
    }

    pub(crate) async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: ApiPath,
        body: &B,
    ) -> Result<T, LettaError> {
        self.send(Method::POST, path, &[], Some(to_body(body)?))
            .await
    }

    pub(crate) async fn put<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: ApiPath,
        body: &B,
    ) -> Result<T, LettaError> {
        self.send(Method::PUT, path, &[], Some(to_body(body)?))
            .await
    }

    /// PATCH with an optional JSON body (the attach/detach routes take none).
    pub(crate) async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: ApiPath,
        body: Option<&B>,
    ) -> Result<T, LettaError> {
        let body = body.map(to_body).transpose()?;
        self.send(Method::PATCH, path, &[], body).await
    }

    /// DELETE, ignoring whatever the server answers on success.
    pub(crate) async fn delete(&self, path: ApiPath) -> Result<(), LettaError> {
        self.send_unit::<()>(Method::DELETE, path, None).await
    }

    /// Any method whose success answer we do not need (routes whose 200 schema is `{}`):
    /// the status is checked, the body ignored (it may be `null`, `{}` or empty).
    pub(crate) async fn send_unit<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: ApiPath,
        body: Option<&B>,
    ) -> Result<(), LettaError> {
        let body = body.map(to_body).transpose()?;
        self.execute(method, &path, &[], body).await?;
        Ok(())
    }

    /// Send and decode the JSON answer into `T`.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: ApiPath,
        query: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<T, LettaError> {
        let bytes = self.execute(method, &path, query, body).await?;
        decode(&bytes)
    }

    /// Send, check the status, and read the whole body. Retries an idempotent GET whose
    /// connection failed (refused, reset, closed mid-body) twice with backoff; never retries
    /// anything else, and never retries a timeout (the server is slow, not gone: retrying would
    /// triple the user's wait) or an HTTP error status.
    async fn execute(
        &self,
        method: Method,
        path: &ApiPath,
        query: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<Bytes, LettaError> {
        path.check()?;
        let url = join_url(&self.conn.base_url, path, query)?;
        let retryable = method == Method::GET;
        let mut attempt = 0usize;
        loop {
            let started = Instant::now();
            let result = self
                .execute_once(method.clone(), url.clone(), body.clone())
                .await;
            match result {
                Err(LettaError::Transport { source })
                    if retryable && attempt < GET_RETRY_BACKOFF.len() =>
                {
                    tracing::warn!(
                        %method, %path, attempt, error = %source,
                        "Letta connection failed, retrying"
                    );
                    tokio::time::sleep(GET_RETRY_BACKOFF[attempt]).await;
                    attempt += 1;
                }
                other => {
                    crate::observability::letta_request(
                        &crate::observability::letta_operation(method.as_str(), &path.to_string()),
                        outcome_label(&other),
                        started.elapsed().as_secs_f64(),
                    );
                    match &other {
                        Ok(_) => tracing::debug!(
                            %method, %path, elapsed_ms = started.elapsed().as_millis() as u64,
                            "Letta call ok"
                        ),
                        // The raw body goes to server-side logs only, at debug level (it may
                        // hold SQL and user data); callers log `err` (body-free) as they see fit.
                        Err(err) => tracing::debug!(
                            %method, %path, error = %err, status = err.status(),
                            detail = err.log_detail(), "Letta call failed"
                        ),
                    }
                    return other;
                }
            }
        }
    }

    async fn execute_once(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<Bytes, LettaError> {
        let mut req = self
            .request(method, url)
            .timeout(self.conn.timeout)
            .header(header::ACCEPT, "application/json");
        if let Some(body) = body {
            req = req
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = req.send().await.map_err(LettaError::from_reqwest)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(error_from_response(resp).await);
        }
        resp.bytes().await.map_err(LettaError::from_reqwest)
    }

    /// The request builder with the auth header (when a password is set).
    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let req = self.http.request(method, url);
        match &self.conn.password {
            // Letta quirk (NOTES: Auth): the word `Bearer` is case-sensitive.
            Some(pw) => req.header(
                header::AUTHORIZATION,
                format!("Bearer {}", pw.expose_secret()),
            ),
            None => req,
        }
    }

    /// POST for a streaming answer (SSE). Unlike [`Self::execute`], the connection timeout is
    /// applied to getting the response head only (the body can legitimately take longer); the
    /// caller applies it again as an idle timeout between chunks.
    pub(crate) async fn open_stream<B: Serialize + ?Sized>(
        &self,
        path: ApiPath,
        body: &B,
    ) -> Result<reqwest::Response, LettaError> {
        path.check()?;
        let url = join_url(&self.conn.base_url, &path, &[])?;
        let req = self
            .request(Method::POST, url)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::CONTENT_TYPE, "application/json")
            .body(to_body(body)?);
        let resp = tokio::time::timeout(self.conn.timeout, req.send())
            .await
            .map_err(|_| LettaError::Timeout)?
            .map_err(LettaError::from_reqwest)?;
        if !resp.status().is_success() {
            return Err(error_from_response(resp).await);
        }
        tracing::debug!(%path, "Letta stream opened");
        Ok(resp)
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.conn.timeout
    }
}

fn to_body<B: Serialize + ?Sized>(body: &B) -> Result<Bytes, LettaError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|source| LettaError::Decode {
            source,
            body: String::new(),
        })
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, LettaError> {
    serde_json::from_slice(bytes).map_err(|source| LettaError::Decode {
        source,
        body: String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// Map a non-success response to its error, keeping the body for logs. If the body cannot be
/// read (connection dropped), the status still decides the variant.
async fn error_from_response(resp: reqwest::Response) -> LettaError {
    let status: StatusCode = resp.status();
    let body = resp.text().await.unwrap_or_default();
    LettaError::from_status(status.as_u16(), body)
}

/// A Letta call's outcome as a metrics label.
fn outcome_label<T>(r: &Result<T, LettaError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(LettaError::Timeout) => "timeout",
        Err(LettaError::Transport { .. } | LettaError::Tls { .. }) => "unreachable",
        Err(LettaError::NotConfigured | LettaError::InvalidBaseUrl) => "not_configured",
        Err(LettaError::Decode { .. }) => "undecodable",
        Err(e) => match e.status() {
            Some(s) if s >= 500 => "server_error",
            _ => "client_error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(base: &str, path: ApiPath, query: &[(&str, &str)]) -> String {
        let q: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        join_url(&Url::parse(base).unwrap(), &path, &q)
            .unwrap()
            .to_string()
    }

    #[test]
    fn collection_keeps_trailing_slash_item_never_has_one() {
        for base in ["http://h:8283", "http://h:8283/"] {
            assert_eq!(
                url(base, ApiPath::collection(&["v1", "agents"]), &[]),
                "http://h:8283/v1/agents/"
            );
            assert_eq!(
                url(base, ApiPath::item(&["v1", "agents", "agent-1"]), &[]),
                "http://h:8283/v1/agents/agent-1"
            );
        }
    }

    #[test]
    fn base_path_prefix_with_or_without_slash() {
        for base in ["https://h/letta", "https://h/letta/"] {
            assert_eq!(
                url(base, ApiPath::collection(&["v1", "identities"]), &[]),
                "https://h/letta/v1/identities/"
            );
            assert_eq!(
                url(base, ApiPath::item(&["v1", "identities", "count"]), &[]),
                "https://h/letta/v1/identities/count"
            );
        }
    }

    #[test]
    fn ids_are_encoded_and_base_query_dropped() {
        assert_eq!(
            url(
                "http://h/?x=1#f",
                ApiPath::item(&["v1", "blocks", "a/b?c#d"]),
                &[("name", "a b&c"), ("tags", "x")]
            ),
            "http://h/v1/blocks/a%2Fb%3Fc%23d?name=a+b%26c&tags=x"
        );
    }

    #[test]
    fn empty_id_is_refused() {
        let err = ApiPath::item(&["v1", "agents", ""]).check().unwrap_err();
        assert!(matches!(err, LettaError::Validation { .. }));
        assert!(ApiPath::item(&["v1", "agents", ".."]).check().is_err());
        assert!(ApiPath::collection(&["v1", "agents"]).check().is_ok());
    }

    #[test]
    fn query_pairs_skip_none_and_repeat_lists() {
        #[derive(Serialize)]
        struct F {
            name: Option<String>,
            limit: Option<u32>,
            tags: Vec<String>,
            ascending: Option<bool>,
            skipped: Option<String>,
        }
        let pairs = query_pairs(&F {
            name: Some("x".into()),
            limit: Some(5),
            tags: vec!["a".into(), "b".into()],
            ascending: Some(false),
            skipped: None,
        })
        .unwrap();
        let mut got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("ascending", "false"),
                ("limit", "5"),
                ("name", "x"),
                ("tags", "a"),
                ("tags", "b")
            ]
        );
        assert!(query_pairs(&()).unwrap().is_empty());
    }

    #[test]
    fn connection_debug_hides_password() {
        let conn = Connection::parse(
            "http://h:8283",
            Some("hunter2".into()),
            Duration::from_secs(1),
        )
        .unwrap();
        let dbg = format!("{conn:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("REDACTED"), "{dbg}");
        let conn = Connection::parse("http://h:8283", None, Duration::from_secs(1)).unwrap();
        assert!(format!("{conn:?}").contains("password: None"));
    }

    #[test]
    fn connection_parse_errors() {
        let t = Duration::from_secs(1);
        assert!(matches!(
            Connection::parse("  ", None, t),
            Err(LettaError::NotConfigured)
        ));
        assert!(matches!(
            Connection::parse("localhost:8283", None, t),
            Err(LettaError::InvalidBaseUrl)
        ));
        assert!(matches!(
            Connection::parse("ftp://h/", None, t),
            Err(LettaError::InvalidBaseUrl)
        ));
    }
}
