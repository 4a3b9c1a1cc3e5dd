//! Fault injection: which upstream failure a completion request asks the fake to act out,
//! and what each failure looks like on the wire.
//!
//! A request selects faults with `[[fake:NAME]]` markers in its user message (which survive
//! any proxy, because the proxy forwards the text) or with an `x-fake-fault: NAME` header
//! (for direct client tests). Several names may be given, comma-separated or as several
//! markers; `slow=MS` and `keepalive` modify a stream and combine with anything, while of the
//! other faults the first one named wins. Unknown names are rejected with `Bad_Request` so a
//! typo in a test fails loudly instead of silently answering normally. The shapes mirror the
//! recorded fixtures (this crate's `fixtures/`), several of which are served verbatim.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::new_id;
use super::stream::{Step, StreamCtx};
use super::wire::{Envelope, ErrorData, json_response, raw_response, unauthorized};

/// Request header that selects faults (same names as the markers).
pub(crate) const FAULT_HEADER: &str = "x-fake-fault";

const MARKER_OPEN: &str = "[[fake:";
const MARKER_CLOSE: &str = "]]";

/// Every fault name the fake understands (`slow=MS` takes a number of milliseconds).
pub const FAULT_NAMES: &[&str] = &[
    "ratelimit",
    "ratelimit-stream",
    "http429",
    "waf",
    "waf-json",
    "auth",
    "auth-stream",
    "500",
    "bad-request",
    "stream-error",
    "empty",
    "done-only",
    "disconnect",
    "truncate",
    "hang",
    "hang-after-first",
    "flaky",
    "keepalive",
    "slow=MS",
    "auth-echo",
    "endless-answer",
    "endless-lines",
    "endless-json",
    "drip",
];

const RATELIMITED_JSON: &str = include_str!("../fixtures/error-ratelimited.json");
const RATELIMITED_SSE: &str = include_str!("../fixtures/stream-error-ratelimit.sse");
const BAD_REQUEST_JSON: &str = include_str!("../fixtures/error-bad-request.json");
const WAF_HTML: &str = include_str!("../fixtures/waf-captcha.html");
const WAF_JSON: &str = include_str!("../fixtures/waf-fail-sys-user-validate.json");

/// Seconds announced in `Retry-After` by the `http429` fault.
pub(crate) const RETRY_AFTER_SECS: u64 = 7;

/// Pause before a `disconnect` abort so the bytes before it reach the client.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// Size of each piece of the `endless-*` faults' bodies.
const ENDLESS_PIECE: usize = 64 * 1024;

/// Pause between the bytes of the `drip` fault.
pub(crate) const DRIP_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    RateLimit,
    RateLimitStream,
    Http429,
    Waf,
    WafJson,
    Auth,
    AuthStream,
    ServerError,
    BadRequest,
    StreamError,
    Empty,
    DoneOnly,
    Disconnect,
    Truncate,
    Hang,
    HangAfterFirst,
    Flaky,
    /// HTTP 401 whose body repeats the request's `Cookie` and bearer token.
    AuthEcho,
    /// A well-formed answer that never ends: 64 KiB content deltas, forever.
    EndlessAnswer,
    /// `data:` lines forever, never a blank line, so no event ever completes.
    EndlessLines,
    /// HTTP 200 `application/json` whose document never ends.
    EndlessJson,
    /// `response.created`, then one byte every [`DRIP_INTERVAL`] that never completes an event.
    Drip,
}

/// The faults one request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    pub fault: Option<Fault>,
    /// Per-request chunk delay (`slow=MS`), overriding the fake's option.
    pub slow: Option<Duration>,
    /// Interleave `response.info` keep-alive events with the answer.
    pub keepalive: bool,
}

/// Reads the faults named by the header and by markers in the message content.
pub(crate) fn plan(header: Option<&str>, content: Option<&str>) -> Result<FaultPlan, String> {
    let mut names: Vec<&str> = header.map(|h| h.split(',').collect()).unwrap_or_default();
    if let Some(content) = content {
        collect_markers(content, &mut names);
    }
    let mut plan = FaultPlan::default();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        apply(name, &mut plan)?;
    }
    Ok(plan)
}

fn collect_markers<'a>(content: &'a str, names: &mut Vec<&'a str>) {
    let mut rest = content;
    while let Some(start) = rest.find(MARKER_OPEN) {
        let inner = &rest[start + MARKER_OPEN.len()..];
        let Some(end) = inner.find(MARKER_CLOSE) else {
            break;
        };
        names.extend(inner[..end].split(','));
        rest = &inner[end + MARKER_CLOSE.len()..];
    }
}

fn apply(name: &str, plan: &mut FaultPlan) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    if let Some(ms) = lower.strip_prefix("slow=") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| format!("bad fake fault `{name}`: slow=MS needs milliseconds"))?;
        plan.slow = Some(Duration::from_millis(ms));
        return Ok(());
    }
    let fault = match lower.as_str() {
        "keepalive" => {
            plan.keepalive = true;
            return Ok(());
        }
        "ratelimit" => Fault::RateLimit,
        "ratelimit-stream" => Fault::RateLimitStream,
        "http429" => Fault::Http429,
        "waf" => Fault::Waf,
        "waf-json" => Fault::WafJson,
        "auth" => Fault::Auth,
        "auth-stream" => Fault::AuthStream,
        "500" => Fault::ServerError,
        "bad-request" => Fault::BadRequest,
        "stream-error" => Fault::StreamError,
        "empty" => Fault::Empty,
        "done-only" => Fault::DoneOnly,
        "disconnect" => Fault::Disconnect,
        "truncate" => Fault::Truncate,
        "hang" => Fault::Hang,
        "hang-after-first" => Fault::HangAfterFirst,
        "flaky" => Fault::Flaky,
        "auth-echo" => Fault::AuthEcho,
        "endless-answer" => Fault::EndlessAnswer,
        "endless-lines" => Fault::EndlessLines,
        "endless-json" => Fault::EndlessJson,
        "drip" => Fault::Drip,
        _ => return Err(format!("unknown fake fault `{name}`")),
    };
    plan.fault.get_or_insert(fault);
    Ok(())
}

/// Message contents the `flaky` fault has already failed once, so the retry succeeds.
/// Remembered as hashes, and only the most recent [`FLAKY_MEMORY`] of them, so that neither
/// big messages nor many of them can grow the fake.
#[derive(Default)]
pub(crate) struct FlakyMemory {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
}

/// How many `flaky` contents are remembered (a retry comes right after its failure).
pub(crate) const FLAKY_MEMORY: usize = 1024;

impl FlakyMemory {
    /// True the first time `content` is seen (or once it has been forgotten).
    pub(crate) fn first_sight(&mut self, content: &str) -> bool {
        let mut hasher = DefaultHasher::new();
        content.hash(&mut hasher);
        let key = hasher.finish();
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > FLAKY_MEMORY
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }
}

/// The whole response of a fault that is not a stream, or `None` for streamed faults.
pub(crate) fn immediate(fault: Fault) -> Option<Response> {
    let json = "application/json";
    Some(match fault {
        Fault::RateLimit => raw_response(StatusCode::OK, json, RATELIMITED_JSON),
        Fault::Http429 => too_many_requests(RETRY_AFTER_SECS),
        Fault::Waf => raw_response(StatusCode::OK, "text/html; charset=utf-8", WAF_HTML),
        Fault::WafJson => raw_response(StatusCode::OK, json, WAF_JSON),
        Fault::Auth => unauthorized(),
        Fault::ServerError => server_error(),
        Fault::BadRequest => raw_response(StatusCode::OK, json, BAD_REQUEST_JSON),
        _ => return None,
    })
}

/// HTTP 429 `Too_Many_Requests` with `Retry-After` (the `http429` fault, and a rate-limited
/// account).
pub(crate) fn too_many_requests(retry_after_secs: u64) -> Response {
    let body = Envelope {
        success: false,
        request_id: new_id(),
        data: ErrorData {
            code: "Too_Many_Requests",
            details: "Too many requests, please slow down",
        },
    };
    let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The `RateLimited` envelope of an exhausted quota (fixtures/error-ratelimited.json) with
/// `num` = `hours` to wait, for a rate-limited account.
pub(crate) fn quota_exhausted(hours: u32) -> Response {
    #[derive(serde::Serialize)]
    struct QuotaData {
        code: &'static str,
        details: &'static str,
        num: u32,
    }
    let body = Envelope {
        success: false,
        request_id: new_id(),
        data: QuotaData {
            code: "RateLimited",
            details: "You have reached the usage limit for this feature",
            num: hours,
        },
    };
    json_response(StatusCode::OK, &body)
}

/// The start of a JSON document that never ends (`endless-json`).
pub(crate) fn endless_json() -> Vec<Step> {
    let piece = Bytes::from("x".repeat(ENDLESS_PIECE));
    vec![
        Step::Data(Bytes::from_static(b"{\"success\": true, \"data\": \"")),
        Step::Repeat(piece, Duration::ZERO),
    ]
}

/// HTTP 401 whose text repeats the credentials the request carried, as a careless gateway
/// might (`auth-echo`): clients must keep them out of every message, log and record.
pub(crate) fn auth_echo(cookie: &str, authorization: &str) -> Response {
    let token = authorization
        .split_once(' ')
        .map_or(authorization, |(_, token)| token.trim());
    raw_response(
        StatusCode::UNAUTHORIZED,
        "text/plain; charset=utf-8",
        format!("unauthorized: you sent cookie={cookie}; token={token}"),
    )
}

/// Plain HTTP 500, as a failing upstream gateway answers.
pub(crate) fn server_error() -> Response {
    raw_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        "Internal Server Error",
    )
}

/// The streamed body plan of a streamed fault, or `None` when the fault is not streamed.
/// `chunks` is the answer the request would have received, for faults that start it.
pub(crate) fn stream_plan(fault: Fault, ctx: &StreamCtx, chunks: &[String]) -> Option<Vec<Step>> {
    let first_two = &chunks[..chunks.len().min(2)];
    Some(match fault {
        Fault::RateLimitStream => vec![Step::Data(Bytes::from_static(RATELIMITED_SSE.as_bytes()))],
        Fault::AuthStream => vec![
            ctx.created(),
            ctx.inline_error("unauthorized", "Invalid token or token expired"),
        ],
        Fault::StreamError => vec![
            ctx.created(),
            ctx.inline_error("Too_Many_Requests", "Too many requests, please slow down"),
        ],
        Fault::Empty => vec![ctx.created()],
        Fault::DoneOnly => vec![Step::Data(Bytes::from_static(b"data: [DONE]\n\n"))],
        Fault::Disconnect => {
            let mut steps = vec![ctx.created()];
            steps.extend(ctx.answer_chunks(first_two, None));
            // Give hyper time to flush what was "generated": aborting while the frames are
            // still buffered would drop them and fail the request before its headers.
            steps.push(Step::Delay(FLUSH_PAUSE));
            steps.push(Step::Abort);
            steps
        }
        Fault::Truncate => {
            let mut steps = vec![ctx.created()];
            steps.extend(ctx.answer_chunks(first_two, None));
            steps
        }
        Fault::HangAfterFirst => vec![ctx.created(), Step::Hang],
        Fault::EndlessAnswer => {
            let mut steps = vec![ctx.created()];
            let piece = "x".repeat(ENDLESS_PIECE);
            let event = ctx.answer_chunks(&[piece], None).pop()?;
            let Step::Data(bytes) = event else {
                return None;
            };
            steps.push(Step::Repeat(bytes, Duration::ZERO));
            steps
        }
        Fault::EndlessLines => {
            let line = format!("data: {}\n", "x".repeat(ENDLESS_PIECE));
            vec![
                ctx.created(),
                Step::Repeat(Bytes::from(line), Duration::ZERO),
            ]
        }
        Fault::Drip => vec![
            ctx.created(),
            Step::Data(Bytes::from_static(b"data: {")),
            Step::Repeat(Bytes::from_static(b" "), DRIP_INTERVAL),
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn fake_fault_plan_reads_header_and_markers() {
        let plan = plan(
            Some("keepalive"),
            Some("hi [[fake:slow=25]] [[fake:empty,waf]]"),
        )
        .unwrap();
        assert_eq!(plan.fault, Some(Fault::Empty));
        assert_eq!(plan.slow, Some(Duration::from_millis(25)));
        assert!(plan.keepalive);
        assert_eq!(
            super::plan(None, Some("no markers [[fake:")),
            Ok(FaultPlan::default())
        );
        assert!(super::plan(Some("nope"), None).is_err());
        assert!(super::plan(None, Some("[[fake:slow=x]]")).is_err());
    }

    #[test]
    fn fake_flaky_memory_is_bounded() {
        let mut memory = FlakyMemory::default();
        assert!(memory.first_sight("a"));
        assert!(!memory.first_sight("a"));
        for i in 0..FLAKY_MEMORY {
            assert!(memory.first_sight(&i.to_string()));
        }
        assert_eq!(memory.seen.len(), FLAKY_MEMORY);
        assert!(memory.first_sight("a"), "the oldest was forgotten");
    }
}
