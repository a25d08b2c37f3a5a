//! `LettaError`: every way a call to the Letta server can fail.
//!
//! Two audiences (STYLE "Errors"): the `Display` text is short and safe to log at info level or
//! to map into an `AppError`; it NEVER contains the server's body, because Letta's 404/409 bodies
//! carry raw SQL and internal actor reprs (NOTES: Errors). The raw body is kept in a field for
//! server-side logs only, reachable through [`LettaError::log_detail`].

use serde_json::Value;

/// The longest validation message we keep (the server's messages are short; this bounds a
/// pathological body).
const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum LettaError {
    /// No Letta base URL has been configured.
    #[error("the Letta server address is not configured")]
    NotConfigured,

    /// The configured base URL cannot be used (not http/https, or not a URL at all).
    #[error("the Letta server address is not a valid http(s) URL")]
    InvalidBaseUrl,

    /// Could not connect, or the connection broke before a full answer arrived.
    #[error("could not reach the Letta server")]
    Transport {
        #[source]
        source: reqwest::Error,
    },

    /// No (complete) answer within the configured timeout.
    #[error("the Letta server did not answer in time")]
    Timeout,

    /// The TLS handshake failed (bad certificate, wrong port, plain HTTP on an https URL...).
    #[error("TLS handshake with the Letta server failed")]
    Tls {
        #[source]
        source: reqwest::Error,
    },

    /// 401: the password is missing or wrong.
    #[error("the Letta server rejected the password")]
    Unauthorized { body: String },

    /// 404: no such object (or, on a detach, "already detached").
    #[error("not found on the Letta server")]
    NotFound { body: String },

    /// 409: unique or foreign-key violation, or "nothing to cancel".
    #[error("the Letta server reported a conflict")]
    Conflict { body: String },

    /// 422: the server rejected the input. `message` names the rejected fields and the kind of
    /// each problem (e.g. `name: required`), built from the error list's `loc` and `type` only:
    /// none of the server's own text (its `msg`, a plain-string `detail`) is in it, so it is
    /// safe to show and to log.
    #[error("the Letta server rejected the input: {message}")]
    Validation { message: String, body: String },

    /// Any 5xx, including the 500 `{"error":{"type":"llm_error",..}}` of a failed LLM call.
    #[error("the Letta server failed (HTTP {status})")]
    Server { status: u16, body: String },

    /// Any other non-success status (400, 403, 405, a 307 from a bad trailing slash...).
    #[error("the Letta server answered HTTP {status}")]
    Status { status: u16, body: String },

    /// A success status whose body is not the JSON we expect.
    #[error("unexpected answer from the Letta server")]
    Decode {
        #[source]
        source: serde_json::Error,
        body: String,
    },
}

impl LettaError {
    /// The raw response body (or transport detail) for server-side logs. Never show this to a
    /// browser user: Letta bodies contain raw SQL.
    pub fn log_detail(&self) -> Option<&str> {
        match self {
            LettaError::Unauthorized { body }
            | LettaError::NotFound { body }
            | LettaError::Conflict { body }
            | LettaError::Validation { body, .. }
            | LettaError::Server { body, .. }
            | LettaError::Status { body, .. }
            | LettaError::Decode { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The HTTP status this error came from, if it came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            LettaError::Unauthorized { .. } => Some(401),
            LettaError::NotFound { .. } => Some(404),
            LettaError::Conflict { .. } => Some(409),
            LettaError::Validation { .. } => Some(422),
            LettaError::Server { status, .. } | LettaError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, LettaError::NotFound { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, LettaError::Conflict { .. })
    }

    /// The error the client returns for a non-success `status` with this raw `body` (public for
    /// tests and raw probes that want the same classification and 422 message parsing).
    pub fn from_status(status: u16, body: String) -> Self {
        match status {
            401 => LettaError::Unauthorized { body },
            404 => LettaError::NotFound { body },
            409 => LettaError::Conflict { body },
            422 => LettaError::Validation {
                message: validation_message(&body),
                body,
            },
            500..=599 => LettaError::Server { status, body },
            _ => LettaError::Status { status, body },
        }
    }

    /// Classify a reqwest failure (no usable response).
    pub(crate) fn from_reqwest(source: reqwest::Error) -> Self {
        if source.is_timeout() {
            LettaError::Timeout
        } else if source.is_connect() && looks_like_tls(&source) {
            LettaError::Tls { source }
        } else {
            LettaError::Transport { source }
        }
    }
}

/// reqwest does not expose "this was TLS" as a predicate and we do not depend on rustls directly,
/// so look at the error chain's text. Only consulted for connect errors.
fn looks_like_tls(err: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("tls")
            || text.contains("certificate")
            || text.contains("handshake")
            || text.contains("invalidcontenttype")
            || text.contains("corrupt message")
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// A summary of a 422 body that carries none of the server's text: the rejected fields and
/// the kind of each problem, e.g. `name: required; identity_type: not valid`.
///
/// Letta quirk (NOTES: Errors): the 422 `detail` is a STRING holding a Python repr of the
/// pydantic error list (`"[{'type': 'missing', 'loc': ('body', 'name'), 'msg': 'Field required',
/// ...}]"`), not JSON. We also accept FastAPI's usual JSON list. A plain-string `detail` (or
/// anything else) says only "invalid input": the message a browser sees is ours, never the
/// server's (a `msg` can quote the input, and a plain string can be anything).
pub(crate) fn validation_message(body: &str) -> String {
    const FALLBACK: &str = "invalid input";
    let detail = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => map.remove("detail").unwrap_or(Value::Null),
        _ => return FALLBACK.to_owned(),
    };
    let message = match detail {
        Value::Array(items) => summarize_error_list(&items),
        Value::String(s) => match python_repr::parse(&s) {
            Some(Value::Array(items)) => summarize_error_list(&items),
            Some(Value::Object(obj)) => summarize_error_list(&[Value::Object(obj)]),
            _ => String::new(),
        },
        _ => String::new(),
    };
    if message.is_empty() {
        return FALLBACK.to_owned();
    }
    truncate_chars(&message, MAX_MESSAGE_CHARS)
}

/// pydantic's error `type`, as a few words of ours.
fn problem_kind(kind: &str) -> &'static str {
    match kind {
        "missing" => "required",
        "extra_forbidden" => "not allowed",
        k if k.ends_with("too_long") => "too long",
        k if k.ends_with("too_short") => "too short",
        _ => "not valid",
    }
}

/// One `loc` part as a field name: identifiers and list indexes only.
fn loc_part(part: &Value) -> String {
    match part {
        Value::String(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            s.clone()
        }
        Value::Number(n) => n.to_string(),
        _ => "?".into(),
    }
}

/// `loc` without its leading `body`/`query`/`path`, joined with `.`, then `: kind`.
fn summarize_error_list(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let kind = problem_kind(item.get("type").and_then(Value::as_str)?);
            let loc: Vec<String> = item
                .get("loc")
                .and_then(Value::as_array)
                .map(|loc| {
                    loc.iter()
                        .enumerate()
                        .filter(|(i, part)| {
                            !(*i == 0
                                && matches!(
                                    part.as_str(),
                                    Some("body" | "query" | "path" | "header")
                                ))
                        })
                        .map(|(_, part)| loc_part(part))
                        .collect()
                })
                .unwrap_or_default();
            Some(if loc.is_empty() {
                kind.to_owned()
            } else {
                format!("{}: {}", loc.join("."), kind)
            })
        })
        .collect();
    parts.join("; ")
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_owned(),
    }
}

/// A small parser for the Python literal reprs Letta puts in 422 `detail` strings: lists,
/// tuples, dicts, strings (both quote styles, with escapes), numbers, `None`/`True`/`False`.
/// Anything else (e.g. `UUID('...')`, `<object at 0x..>`) becomes a string of its raw text, so a
/// strange `input` value does not prevent us from reading `loc` and `msg`.
mod python_repr {
    use serde_json::{Map, Number, Value};

    pub(crate) fn parse(src: &str) -> Option<Value> {
        let mut p = Parser {
            s: src.as_bytes(),
            src,
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        src: &'a str,
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn value(&mut self) -> Option<Value> {
            self.ws();
            match self.peek()? {
                b'[' => self.seq(b']').map(Value::Array),
                b'(' => self.seq(b')').map(Value::Array),
                b'{' => self.dict(),
                b'\'' | b'"' => self.string().map(Value::String),
                _ => Some(self.bare()),
            }
        }

        fn seq(&mut self, close: u8) -> Option<Vec<Value>> {
            self.i += 1;
            let mut out = Vec::new();
            loop {
                self.ws();
                if self.peek()? == close {
                    self.i += 1;
                    return Some(out);
                }
                out.push(self.value()?);
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    c if c == close => {}
                    _ => return None,
                }
            }
        }

        fn dict(&mut self) -> Option<Value> {
            self.i += 1;
            let mut out = Map::new();
            loop {
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(Value::Object(out));
                }
                let key = match self.value()? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                let value = self.value()?;
                out.insert(key, value);
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {}
                    _ => return None,
                }
            }
        }

        fn string(&mut self) -> Option<String> {
            let quote = self.peek()?;
            self.i += 1;
            let mut out = String::new();
            loop {
                // Copy a run of plain characters (keeps multi-byte UTF-8 intact).
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != quote && self.s[self.i] != b'\\' {
                    self.i += 1;
                }
                out.push_str(self.src.get(start..self.i)?);
                match self.peek()? {
                    c if c == quote => {
                        self.i += 1;
                        return Some(out);
                    }
                    _ => {
                        // Backslash escape.
                        self.i += 1;
                        let esc = self.peek()?;
                        self.i += 1;
                        match esc {
                            b'n' => out.push('\n'),
                            b't' => out.push('\t'),
                            b'r' => out.push('\r'),
                            b'x' => out.push(self.hex(2)?),
                            b'u' => out.push(self.hex(4)?),
                            b'U' => out.push(self.hex(8)?),
                            other => out.push(other as char),
                        }
                    }
                }
            }
        }

        fn hex(&mut self, n: usize) -> Option<char> {
            let digits = self.src.get(self.i..self.i + n)?;
            self.i += n;
            char::from_u32(u32::from_str_radix(digits, 16).ok()?)
        }

        /// Numbers, None/True/False, or any other token up to the next `,` `]` `)` `}` at depth 0.
        fn bare(&mut self) -> Value {
            let start = self.i;
            let mut depth = 0usize;
            let mut quote: Option<u8> = None;
            while let Some(c) = self.peek() {
                if let Some(q) = quote {
                    if c == b'\\' {
                        self.i += 1;
                    } else if c == q {
                        quote = None;
                    }
                } else {
                    match c {
                        b'\'' | b'"' => quote = Some(c),
                        b'(' | b'[' | b'{' | b'<' => depth += 1,
                        b')' | b']' | b'}' | b'>' if depth > 0 => depth -= 1,
                        b',' | b')' | b']' | b'}' | b':' if depth == 0 => break,
                        _ => {}
                    }
                }
                self.i += 1;
            }
            let token = self.src.get(start..self.i).unwrap_or("").trim();
            match token {
                "None" => Value::Null,
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                _ => {
                    if let Ok(n) = token.parse::<i64>() {
                        Value::Number(n.into())
                    } else if let Some(n) = token.parse::<f64>().ok().and_then(Number::from_f64) {
                        Value::Number(n)
                    } else {
                        Value::String(token.to_owned())
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(detail: &str) -> String {
        serde_json::json!({ "detail": detail }).to_string()
    }

    #[test]
    fn python_repr_missing_field() {
        let b = body(
            "[{'type': 'missing', 'loc': ('body', 'name'), 'msg': 'Field required', \
             'input': {'identifier_key': 'k', 'identity_type': 'user'}}]",
        );
        assert_eq!(validation_message(&b), "name: required");
    }

    #[test]
    fn python_repr_several_errors_and_double_quoted_msg() {
        let b = body(
            "[{'type': 'missing', 'loc': ('body', 'name'), 'msg': 'Field required', 'input': {}}, \
             {'type': 'enum', 'loc': ('body', 'identity_type'), \
             'msg': \"Input should be 'org', 'user' or 'other'\", 'input': 'x', \
             'ctx': {'expected': \"'org', 'user' or 'other'\"}}]",
        );
        assert_eq!(
            validation_message(&b),
            "name: required; identity_type: not valid"
        );
    }

    #[test]
    fn python_repr_path_param_and_odd_input() {
        let b = body(
            "[{'type': 'string_pattern_mismatch', 'loc': ('path', 'agent_id'), \
             'msg': \"String should match pattern '^agent-[0-9a-f]{8}$'\", \
             'input': UUID('123e4567-e89b-42d3-8456-426614174000'), \
             'ctx': {'pattern': '^agent-[0-9a-f]{8}$'}, 'x': <object at 0x7f>, 'n': 1.5, 'ok': True}]",
        );
        assert_eq!(validation_message(&b), "agent_id: not valid");
    }

    #[test]
    fn python_repr_nested_loc_with_index_and_escapes() {
        let b = body(
            "[{'type': 'string_type', 'loc': ('body', 'messages', 0, 'content'), \
             'msg': 'Input should be a valid string \\'x\\' \\u00e9', 'input': None}]",
        );
        assert_eq!(validation_message(&b), "messages.0.content: not valid");
    }

    #[test]
    fn json_list_detail() {
        let b = r#"{"detail":[{"loc":["query","limit"],"msg":"Input should be a valid integer","type":"int_parsing"}]}"#;
        assert_eq!(validation_message(b), "limit: not valid");
    }

    #[test]
    fn plain_string_detail_and_garbage() {
        // A plain-string detail is the server's own text: never passed on.
        assert_eq!(
            validation_message(&body("Persona text: <secret> SELECT * FROM block")),
            "invalid input"
        );
        // Nor is a `msg`, or a field name that is not one.
        let b = body(
            "[{'type': 'value_error', 'loc': ('body', '<img src=x>'), 'msg': 'Value error, secret persona text'}]",
        );
        assert_eq!(validation_message(&b), "?: not valid");
        assert_eq!(validation_message("not json"), "invalid input");
        assert_eq!(validation_message(r#"{"other":1}"#), "invalid input");
        let long = "x".repeat(1000);
        assert!(validation_message(&body(&long)).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn display_never_contains_body() {
        let secret = "SELECT secret_sql FROM users".to_owned();
        for status in [400, 401, 404, 405, 409, 422, 500, 503] {
            let err = LettaError::from_status(status, secret.clone());
            assert!(!err.to_string().contains("secret_sql"), "{status}: {err}");
            assert_eq!(err.log_detail(), Some(secret.as_str()));
            assert_eq!(err.status(), Some(status));
        }
    }
}
