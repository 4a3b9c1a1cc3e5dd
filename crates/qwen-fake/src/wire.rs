//! Byte-level wire formats of the fake: the Python-`json.dumps`-style JSON of SSE events,
//! the hand-formatted `response.created` line, and the compact JSON envelopes.
//!
//! The real service emits SSE JSON with `", "` / `": "` separators, raw UTF-8 and a fixed
//! key order per event kind (see this crate's `fixtures/README.md`). serde_json's compact
//! output differs and its `Value` maps sort keys, so events are plain `Serialize` structs
//! (field order = key order) written through a formatter that adds Python's separators.
//! serde_json escapes strings exactly like Python with `ensure_ascii=False` (`\"`, `\\`,
//! `\n`, `\r`, `\t`, `\b`, `\f`, other controls as lowercase `\u00xx`), so only separators
//! need help.

use std::io;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::new_id;

/// Adds Python's default separators to serde_json's compact output.
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// `value` as Python's `json.dumps(value, ensure_ascii=False)` would write it.
pub(crate) fn py_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    // Our event structs hold only strings, integers and lists, which cannot fail to
    // serialize; an empty object is still a safer fallback than a panic in a handler.
    if value.serialize(&mut ser).is_err() {
        return "{}".to_owned();
    }
    String::from_utf8(out).unwrap_or_else(|_| "{}".to_owned())
}

/// One SSE event: `data: <payload>\n\n`.
pub(crate) fn sse(payload: &str) -> Bytes {
    Bytes::from(format!("data: {payload}\n\n"))
}

/// The first event, hand-formatted like the real service: no space after
/// `"response_id":`, a string `response_index`, and a trailing space before `\n\n`.
pub(crate) fn created_line(chat_id: &str, parent_id: &str, response_id: &str) -> Bytes {
    Bytes::from(format!(
        "data: {{\"response.created\":{{\"chat_id\": \"{chat_id}\", \"parent_id\": \"{parent_id}\", \"response_id\":\"{response_id}\", \"response_index\": \"0\"}}}} \n\n"
    ))
}

/// A typing (or phase-finished) delta: key order `role, content, phase, [name], [extra], status`.
#[derive(Serialize)]
pub(crate) struct Delta<'a> {
    pub role: &'static str,
    pub content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra<'a>>,
    pub status: &'static str,
}

/// The answer's finish delta, whose key order differs: `content, role, status, phase`.
#[derive(Serialize)]
pub(crate) struct FinishDelta<'a> {
    pub content: &'static str,
    pub role: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum AnyDelta<'a> {
    Typing(Delta<'a>),
    Finish(FinishDelta<'a>),
}

#[derive(Serialize)]
pub(crate) struct Choice<'a> {
    pub delta: AnyDelta<'a>,
}

/// A `choices` event: top-level order `choices, response_id, usage, timestamp`.
#[derive(Serialize)]
pub(crate) struct Event<'a> {
    pub choices: [Choice<'a>; 1],
    pub response_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// Phase payloads carried in `delta.extra`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Extra<'a> {
    Summary {
        summary_title: Contents<'a>,
        summary_thought: Contents<'a>,
    },
    Search {
        web_search_info: &'a [SearchHit],
    },
}

#[derive(Serialize)]
pub(crate) struct Contents<'a> {
    pub content: &'a [String],
}

#[derive(Serialize, Clone)]
pub(crate) struct SearchHit {
    pub url: String,
    pub title: String,
    pub snippet: String,
    pub hostname: String,
    pub date: String,
}

/// Cumulative usage in the 2026 shape (`prompt_tokens_details`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub characters: u64,
    pub total_tokens: u64,
    pub input_tokens_details: TextTokens,
    pub output_tokens_details: OutputDetails,
    pub prompt_tokens_details: CachedTokens,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TextTokens {
    pub text_tokens: u64,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutputDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    pub text_tokens: u64,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CachedTokens {
    pub cached_tokens: u64,
}

impl Usage {
    pub(crate) fn new(input: u64, output: u64, reasoning: Option<u64>) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            characters: 0,
            total_tokens: input + output,
            input_tokens_details: TextTokens { text_tokens: input },
            output_tokens_details: OutputDetails {
                reasoning_tokens: reasoning,
                text_tokens: output,
            },
            prompt_tokens_details: CachedTokens { cached_tokens: 0 },
        }
    }
}

/// `{"response.info": {"action": "keep_alive", ...}}`, sent during long generations.
#[derive(Serialize)]
pub(crate) struct KeepAlive<'a> {
    #[serde(rename = "response.info")]
    pub info: KeepAliveBody<'a>,
}

#[derive(Serialize)]
pub(crate) struct KeepAliveBody<'a> {
    pub action: &'static str,
    pub chat_id: &'a str,
    pub response_id: &'a str,
    pub timestamp: u64,
}

/// An error inside a 200 SSE stream: `{"error": {"code", "details"}, "response_id"}`.
#[derive(Serialize)]
pub(crate) struct InlineError<'a> {
    pub error: ErrorBody<'a>,
    pub response_id: &'a str,
}

#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub code: &'a str,
    pub details: &'a str,
}

/// The `{"success", "request_id", "data"}` envelope of every JSON endpoint.
#[derive(Serialize)]
pub(crate) struct Envelope<T> {
    pub success: bool,
    pub request_id: String,
    pub data: T,
}

#[derive(Serialize)]
pub(crate) struct ErrorData<'a> {
    pub code: &'a str,
    pub details: &'a str,
}

/// HTTP 200 with a compact JSON `success: true` envelope around `data`.
pub(crate) fn ok_envelope<T: Serialize>(data: T) -> Response {
    json_response(
        StatusCode::OK,
        &Envelope {
            success: true,
            request_id: new_id(),
            data,
        },
    )
}

/// HTTP 200 with `success: false` — how the real service reports most request errors.
pub(crate) fn error_envelope(code: &str, details: &str) -> Response {
    json_response(
        StatusCode::OK,
        &Envelope {
            success: false,
            request_id: new_id(),
            data: ErrorData { code, details },
        },
    )
}

/// Compact JSON (the real JSON endpoints are not Python-formatted).
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    raw_response(status, "application/json", text)
}

pub(crate) fn raw_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    let mut response = (status, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Plain-text 401, as the real service answers an anonymous or expired request.
pub(crate) fn unauthorized() -> Response {
    raw_response(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        "unauthorized",
    )
}
