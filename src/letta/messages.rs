//! Messages (`/v1/agents/{id}/messages...`): send, stream (SSE), async send, history, cancel.
//!
//! Letta quirks (NOTES: More verified behaviour): messages are immutable on 0.16.8 (`PATCH
//! .../messages/{id}` answers 405), and `POST /v1/agents/messages/search` needs Turbopuffer
//! (400 on a self-hosted server). This client offers neither.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::letta::client::{ApiPath, LettaClient};
use crate::letta::error::LettaError;
use crate::letta::types::{
    CancelOutcome, LettaErrorMessage, LettaMessage, LettaResponse, MessageCreate, MessageFilter,
    Run, StreamEvent,
};

/// The events of one streamed turn. Ends after [`StreamEvent::Done`], after a transport error or
/// idle timeout (yielded as the last item), or when the server closes the stream; a stream that
/// ends without `Done` was cut short. An undecodable frame is yielded as
/// [`LettaError::Decode`] and the stream goes on.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LettaError>> + Send>>;

#[derive(Serialize)]
struct SendBody<'b> {
    messages: &'b [MessageCreate],
}

#[derive(Serialize)]
struct StreamBody<'b> {
    messages: &'b [MessageCreate],
    /// One `assistant_message` chunk per token (same id, `content` is the delta).
    stream_tokens: bool,
    /// Keep-alive pings, so proxies do not cut a slow turn.
    include_pings: bool,
}

pub struct Messages<'a> {
    client: &'a LettaClient,
}

impl<'a> Messages<'a> {
    pub(crate) fn new(client: &'a LettaClient) -> Self {
        Messages { client }
    }

    /// `POST /v1/agents/{id}/messages`: one turn, waiting for the whole answer. The user message
    /// is not echoed back. An LLM failure is a 500, [`LettaError::Server`].
    pub async fn send(
        &self,
        agent_id: &str,
        messages: &[MessageCreate],
    ) -> Result<LettaResponse, LettaError> {
        self.client
            .post(
                ApiPath::item(&["v1", "agents", agent_id, "messages"]),
                &SendBody { messages },
            )
            .await
    }

    /// `POST /v1/agents/{id}/messages/async`: start a turn in the background; poll the returned
    /// run with `runs().get(id)` and read its messages with `runs().messages(id)`.
    pub async fn send_async(
        &self,
        agent_id: &str,
        messages: &[MessageCreate],
    ) -> Result<Run, LettaError> {
        self.client
            .post(
                ApiPath::item(&["v1", "agents", agent_id, "messages", "async"]),
                &SendBody { messages },
            )
            .await
    }

    /// `POST /v1/agents/{id}/messages/stream` with `stream_tokens: true`: the turn as SSE events.
    ///
    /// Letta quirk (NOTES: Messages): `POST .../messages` with `"streaming": true` is a 422
    /// unless the request looks like the official SDK, so the dedicated `/stream` route is used.
    /// An LLM failure mid-stream still answers 200; it arrives as `StopReason(llm_api_error)`
    /// then [`StreamEvent::Error`], not as an `Err`.
    ///
    /// The connection timeout bounds the wait for the response head and each gap between two
    /// chunks (idle timeout), not the whole turn.
    pub async fn stream(
        &self,
        agent_id: &str,
        messages: &[MessageCreate],
    ) -> Result<EventStream, LettaError> {
        let resp = self
            .client
            .open_stream(
                ApiPath::item(&["v1", "agents", agent_id, "messages", "stream"]),
                &StreamBody {
                    messages,
                    stream_tokens: true,
                    include_pings: true,
                },
            )
            .await?;
        Ok(event_stream(resp.bytes_stream(), self.client.timeout()))
    }

    /// `GET /v1/agents/{id}/messages`: history. Default `order=desc` gives the newest `limit`
    /// messages, in chronological order inside the page.
    pub async fn list(
        &self,
        agent_id: &str,
        filter: &MessageFilter,
    ) -> Result<Vec<LettaMessage>, LettaError> {
        self.client
            .get(
                ApiPath::item(&["v1", "agents", agent_id, "messages"]),
                filter,
            )
            .await
    }

    /// `POST /v1/agents/{id}/messages/cancel` `{}`: cancel the agent's active runs.
    ///
    /// Letta quirk (NOTES: More verified behaviour): with nothing active the server answers 409
    /// "No active runs to cancel"; that is [`CancelOutcome::NothingToCancel`], not an error.
    pub async fn cancel(&self, agent_id: &str) -> Result<CancelOutcome, LettaError> {
        let path = ApiPath::item(&["v1", "agents", agent_id, "messages", "cancel"]);
        let body = serde_json::json!({});
        match self.client.post::<Value, _>(path, &body).await {
            Ok(v) => Ok(CancelOutcome::Cancelled(v)),
            Err(LettaError::Conflict { body }) => {
                tracing::debug!(agent_id, body, "Letta cancel: nothing to cancel");
                Ok(CancelOutcome::NothingToCancel)
            }
            Err(e) => Err(e),
        }
    }
}

struct StreamState<S> {
    body: Pin<Box<S>>,
    parser: SseParser,
    pending: VecDeque<Result<StreamEvent, LettaError>>,
    finished: bool,
    idle: Duration,
}

/// Turn an SSE byte stream into events.
pub(crate) fn event_stream<S>(body: S, idle: Duration) -> EventStream
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
{
    let state = StreamState {
        body: Box::pin(body),
        parser: SseParser::default(),
        pending: VecDeque::new(),
        finished: false,
        idle,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                let terminal = match &item {
                    Ok(StreamEvent::Done) => true,
                    // One undecodable frame does not spoil the rest of the turn.
                    Err(LettaError::Decode { .. }) => false,
                    Err(_) => true,
                    Ok(_) => false,
                };
                if terminal {
                    // Nothing useful can follow [DONE] or a broken connection.
                    st.finished = true;
                    st.pending.clear();
                }
                return Some((item, st));
            }
            if st.finished {
                return None;
            }
            match tokio::time::timeout(st.idle, st.body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let frames = st.parser.feed(&chunk);
                    st.pending.extend(frames.iter().map(parse_frame));
                }
                Ok(Some(Err(e))) => st.pending.push_back(Err(LettaError::from_reqwest(e))),
                Ok(None) => {
                    let frames = st.parser.finish();
                    st.pending.extend(frames.iter().map(parse_frame));
                    st.finished = true;
                }
                Err(_) => st.pending.push_back(Err(LettaError::Timeout)),
            }
        }
    }))
}

/// One dispatched SSE event: the `event:` name (if any) and the `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseFrame {
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

/// Incremental SSE parser (the parts of the spec Letta uses): `event:` and `data:` fields,
/// `:` comments, a blank line dispatches, CRLF or LF line ends, chunks split anywhere (even
/// inside a UTF-8 character).
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(&String::from_utf8_lossy(&line), &mut out);
        }
        out
    }

    /// End of stream: a last event without its blank line is still dispatched.
    pub(crate) fn finish(&mut self) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(&rest);
            self.line(line.trim_end_matches('\r'), &mut out);
        }
        self.dispatch(&mut out);
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseFrame>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseFrame>) {
        let event = self.event.take();
        if self.data.is_empty() {
            return;
        }
        out.push(SseFrame {
            event,
            data: std::mem::take(&mut self.data).join("\n"),
        });
    }
}

/// Map one SSE frame to a [`StreamEvent`] by its `message_type`.
pub(crate) fn parse_frame(frame: &SseFrame) -> Result<StreamEvent, LettaError> {
    let data = frame.data.trim();
    if data == "[DONE]" {
        return Ok(StreamEvent::Done);
    }
    let decode_err = |source| LettaError::Decode {
        source,
        body: data.to_owned(),
    };
    let value: Value = serde_json::from_str(data).map_err(decode_err)?;
    let message_type = value.get("message_type").and_then(Value::as_str);
    Ok(match message_type {
        Some("ping") => StreamEvent::Ping,
        Some("stop_reason") => {
            StreamEvent::StopReason(serde_json::from_value(value).map_err(decode_err)?)
        }
        Some("usage_statistics") => {
            StreamEvent::Usage(serde_json::from_value(value).map_err(decode_err)?)
        }
        Some("error_message") => {
            StreamEvent::Error(serde_json::from_value(value).map_err(decode_err)?)
        }
        None if frame.event.as_deref() == Some("error") || value.get("error").is_some() => {
            StreamEvent::Error(error_without_type(&value))
        }
        _ => StreamEvent::Message(LettaMessage::from_value(value).map_err(decode_err)?),
    })
}

/// An error event in an older/other shape, e.g. `{"error":{"type":..,"message":..,"detail":..}}`.
fn error_without_type(value: &Value) -> LettaErrorMessage {
    let inner = value
        .get("error")
        .filter(|e| e.is_object())
        .unwrap_or(value);
    let text = |k: &str| inner.get(k).and_then(Value::as_str).map(str::to_owned);
    LettaErrorMessage {
        run_id: text("run_id"),
        error_type: text("error_type")
            .or_else(|| text("type"))
            .unwrap_or_default(),
        message: text("message").unwrap_or_default(),
        detail: text("detail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letta::types::{StopReasonType, TextMessage};

    fn frames(chunks: &[&[u8]]) -> Vec<SseFrame> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.feed(c));
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn sse_parser_handles_split_chunks_crlf_comments_and_events() {
        let got = frames(&[
            b": keep-alive\r\n\r\nda",
            b"ta: {\"a\":1}\r\n\r\nevent: error\n",
            b"data: {\"message_type\":\"error_message\"}\n\ndata: [DONE]",
        ]);
        assert_eq!(
            got,
            vec![
                SseFrame {
                    event: None,
                    data: "{\"a\":1}".into()
                },
                SseFrame {
                    event: Some("error".into()),
                    data: "{\"message_type\":\"error_message\"}".into()
                },
                SseFrame {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
    }

    #[test]
    fn sse_parser_keeps_utf8_split_across_chunks() {
        let text = "data: héllo\n\n".as_bytes();
        let (a, b) = text.split_at(8); // inside the two-byte 'é'
        assert_eq!(frames(&[a, b])[0].data, "héllo");
    }

    #[test]
    fn sse_parser_joins_multiline_data() {
        assert_eq!(frames(&[b"data: a\ndata: b\n\n"])[0].data, "a\nb");
    }

    fn frame(data: &str) -> SseFrame {
        SseFrame {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn frames_map_to_events() {
        assert_eq!(
            parse_frame(&frame(r#"{"message_type":"ping","id":"x","date":"d"}"#)).unwrap(),
            StreamEvent::Ping
        );
        assert_eq!(parse_frame(&frame("[DONE]")).unwrap(), StreamEvent::Done);
        match parse_frame(&frame(
            r#"{"message_type":"stop_reason","stop_reason":"end_turn"}"#,
        ))
        .unwrap()
        {
            StreamEvent::StopReason(s) => assert_eq!(s.stop_reason, StopReasonType::EndTurn),
            other => panic!("{other:?}"),
        }
        match parse_frame(&frame(
            r#"{"message_type":"usage_statistics","completion_tokens":3,"prompt_tokens":5,"total_tokens":8,"step_count":1}"#,
        ))
        .unwrap()
        {
            StreamEvent::Usage(u) => assert_eq!(u.total_tokens, 8),
            other => panic!("{other:?}"),
        }
        match parse_frame(&frame(
            r#"{"message_type":"assistant_message","id":"message-1","date":"d","content":"Hel"}"#,
        ))
        .unwrap()
        {
            StreamEvent::Message(LettaMessage::AssistantMessage(TextMessage {
                id,
                content,
                ..
            })) => {
                assert_eq!(id, "message-1");
                assert_eq!(content.text(), "Hel");
            }
            other => panic!("{other:?}"),
        }
        match parse_frame(&frame(
            r#"{"message_type":"error_message","run_id":"run-1","error_type":"llm_error","message":"LLM failed","detail":"trace"}"#,
        ))
        .unwrap()
        {
            StreamEvent::Error(e) => {
                assert_eq!(e.error_type, "llm_error");
                assert_eq!(e.message, "LLM failed");
            }
            other => panic!("{other:?}"),
        }
        let untyped = SseFrame {
            event: Some("error".into()),
            data: r#"{"error":{"type":"internal_error","message":"boom"}}"#.into(),
        };
        match parse_frame(&untyped).unwrap() {
            StreamEvent::Error(e) => {
                assert_eq!(e.error_type, "internal_error");
                assert_eq!(e.message, "boom");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_frame(&frame("{not json")),
            Err(LettaError::Decode { .. })
        ));
    }

    #[tokio::test]
    async fn event_stream_stops_after_done() {
        let chunks: Vec<Result<Bytes, reqwest::Error>> = vec![
            Ok(Bytes::from_static(
                b"data: {\"message_type\":\"ping\"}\n\ndata: [DONE]\n\n",
            )),
            Ok(Bytes::from_static(b"data: {\"message_type\":\"ping\"}\n\n")),
        ];
        let events: Vec<_> = event_stream(futures::stream::iter(chunks), Duration::from_secs(1))
            .collect()
            .await;
        assert_eq!(events.len(), 2);
        assert!(matches!(events[1], Ok(StreamEvent::Done)));
    }

    #[tokio::test]
    async fn event_stream_idle_timeout() {
        let body = futures::stream::pending::<Result<Bytes, reqwest::Error>>();
        let events: Vec<_> = event_stream(body, Duration::from_millis(50))
            .collect()
            .await;
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], Err(LettaError::Timeout)));
    }
}
