//! SSE bodies of the completion endpoint: a response is planned as a list of [`Step`]s
//! (bytes, pauses, an abort, a hang) and then played out as a streamed body.
//!
//! Planning first keeps the event builders pure and lets faults reuse them (a
//! `disconnect` is the normal plan cut after two chunks plus an abort). Playing out one step
//! per body frame means every event reaches the client as soon as it is "generated", so
//! pacing, time-to-first-token and idle timeouts behave as against the real service. Every
//! pause also watches the shutdown signal, so a stopping fake never waits on a slow stream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::watch;

use super::answer::{REASONING_PER_STEP, thinking_snapshots};
use super::now_secs;
use super::wire::{
    AnyDelta, Choice, Contents, Delta, ErrorBody, Event, Extra, FinishDelta, InlineError,
    KeepAlive, KeepAliveBody, SearchHit, Usage, created_line, py_json, sse,
};

/// One step of a planned response body.
pub(crate) enum Step {
    Data(Bytes),
    Delay(Duration),
    /// End the body with an error: hyper drops the connection without the final chunk.
    Abort,
    /// Send nothing more until the fake shuts down (or the client gives up).
    Hang,
    /// Send these bytes again and again, pausing this long before each, until the client
    /// gives up or the fake shuts down (the `endless-*` and `drip` faults).
    Repeat(Bytes, Duration),
}

/// Everything the event builders need to know about one completion.
pub(crate) struct StreamCtx {
    pub chat_id: String,
    pub user_message_id: String,
    pub response_id: String,
    /// False when the request lacked `output_schema: "phase"`: the real service then omits
    /// `delta.phase`, and clients that depend on it lose the answer.
    pub with_phase: bool,
    pub delay: Duration,
    pub keepalive: bool,
    pub input_tokens: u64,
}

impl StreamCtx {
    fn phase<'a>(&self, phase: &'a str) -> Option<&'a str> {
        self.with_phase.then_some(phase)
    }

    pub(crate) fn created(&self) -> Step {
        Step::Data(created_line(
            &self.chat_id,
            &self.user_message_id,
            &self.response_id,
        ))
    }

    pub(crate) fn keepalive_event(&self) -> Step {
        Step::Data(sse(&py_json(&KeepAlive {
            info: KeepAliveBody {
                action: "keep_alive",
                chat_id: &self.chat_id,
                response_id: &self.response_id,
                timestamp: now_secs(),
            },
        })))
    }

    pub(crate) fn inline_error(&self, code: &str, details: &str) -> Step {
        Step::Data(sse(&py_json(&InlineError {
            error: ErrorBody { code, details },
            response_id: &self.response_id,
        })))
    }

    fn event(&self, delta: AnyDelta<'_>, usage: Option<Usage>, timestamp: Option<u64>) -> Step {
        Step::Data(sse(&py_json(&Event {
            choices: [Choice { delta }],
            response_id: &self.response_id,
            usage,
            timestamp,
        })))
    }

    fn typing<'a>(&self, content: &'a str, phase: &'a str, status: &'static str) -> Delta<'a> {
        Delta {
            role: "assistant",
            content,
            phase: self.phase(phase),
            name: None,
            extra: None,
            status,
        }
    }

    fn pause(&self, steps: &mut Vec<Step>) {
        if !self.delay.is_zero() {
            steps.push(Step::Delay(self.delay));
        }
    }

    /// Answer content deltas; `reasoning` is the thinking already spent (cumulative usage).
    pub(crate) fn answer_chunks(&self, chunks: &[String], reasoning: Option<u64>) -> Vec<Step> {
        let base = reasoning.unwrap_or(0);
        let mut steps = Vec::with_capacity(chunks.len() * 2);
        for (i, chunk) in chunks.iter().enumerate() {
            self.pause(&mut steps);
            if self.keepalive {
                steps.push(self.keepalive_event());
            }
            let usage = Usage::new(self.input_tokens, base + i as u64 + 1, reasoning);
            let delta = AnyDelta::Typing(self.typing(chunk, "answer", "typing"));
            steps.push(self.event(delta, Some(usage), Some(now_secs())));
        }
        steps
    }

    /// The trailing empty typing delta the real service sends, then the finish event.
    pub(crate) fn answer_finish(&self, chunks: usize, reasoning: Option<u64>) -> Vec<Step> {
        let output = reasoning.unwrap_or(0) + chunks as u64;
        let usage = Usage::new(self.input_tokens, output, reasoning);
        let empty = AnyDelta::Typing(self.typing("", "answer", "typing"));
        let finish = AnyDelta::Finish(FinishDelta {
            content: "",
            role: "assistant",
            status: "finished",
            phase: self.phase("answer"),
        });
        vec![
            self.event(empty, Some(usage), Some(now_secs())),
            self.event(finish, None, None),
        ]
    }

    /// `thinking_summary` snapshots then its finished event; returns the reasoning spent.
    pub(crate) fn thinking(&self, content: &str, thought: Option<&str>) -> (Vec<Step>, u64) {
        let snapshots = thinking_snapshots(content, thought);
        let mut steps = Vec::new();
        let mut reasoning = 0;
        for (titles, thoughts) in &snapshots {
            self.pause(&mut steps);
            reasoning += REASONING_PER_STEP;
            let mut delta = self.typing("", "thinking_summary", "typing");
            delta.extra = Some(Extra::Summary {
                summary_title: Contents { content: titles },
                summary_thought: Contents { content: thoughts },
            });
            let usage = Usage::new(self.input_tokens, reasoning, Some(reasoning));
            steps.push(self.event(AnyDelta::Typing(delta), Some(usage), Some(now_secs())));
        }
        let done = self.typing("", "thinking_summary", "finished");
        steps.push(self.event(AnyDelta::Typing(done), None, None));
        (steps, reasoning)
    }

    /// Two `web_search` deltas with a cumulative result list, the second one finished.
    pub(crate) fn search(&self) -> Vec<Step> {
        let hits = search_hits();
        let mut steps = Vec::new();
        for (shown, status) in [(1, "typing"), (2, "finished")] {
            let mut delta = self.typing("", "web_search", status);
            delta.name = Some("web_search");
            delta.extra = Some(Extra::Search {
                web_search_info: &hits[..shown],
            });
            steps.push(self.event(AnyDelta::Typing(delta), None, Some(now_secs())));
        }
        steps
    }
}

fn search_hits() -> [SearchHit; 2] {
    [
        SearchHit {
            url: "https://example.com/fake-result-1".to_owned(),
            title: "First fake search result".to_owned(),
            snippet: "A deterministic snippet from the fake upstream.".to_owned(),
            hostname: "example.com".to_owned(),
            date: " (2026-01-01)".to_owned(),
        },
        SearchHit {
            url: "https://example.org/fake-result-2".to_owned(),
            title: "Second fake search result".to_owned(),
            snippet: "Another deterministic snippet.".to_owned(),
            hostname: "example.org".to_owned(),
            date: String::new(),
        },
    ]
}

/// The complete plan of a successful answer: created, [search], [thinking], answer, finish.
/// `thought` is the answer's own last thought, if any (shown only when thinking).
pub(crate) fn full_answer(
    ctx: &StreamCtx,
    content: &str,
    chunks: &[String],
    thinking: bool,
    search: bool,
    thought: Option<&str>,
) -> Vec<Step> {
    let mut steps = vec![ctx.created()];
    if search {
        steps.extend(ctx.search());
    }
    let mut reasoning = None;
    if thinking {
        let (thinking_steps, spent) = ctx.thinking(content, thought);
        steps.extend(thinking_steps);
        reasoning = Some(spent);
    }
    steps.extend(ctx.answer_chunks(chunks, reasoning));
    steps.extend(ctx.answer_finish(chunks.len(), reasoning));
    steps
}

/// A 200 `text/event-stream` response that plays `plan` out, one frame per data step.
pub(crate) fn sse_response(plan: Vec<Step>, shutdown: watch::Receiver<bool>) -> Response {
    let mut response = streamed_response(plan, shutdown, "text/event-stream; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-actual-status-code", HeaderValue::from_static("200"));
    response
}

/// A 200 response of `content_type` that plays `plan` out, one frame per data step.
pub(crate) fn streamed_response(
    plan: Vec<Step>,
    shutdown: watch::Receiver<bool>,
    content_type: &'static str,
) -> Response {
    let mut response = Response::new(play(plan, shutdown));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Where playing a plan is: the steps left, the shutdown signal, whether the body has
/// ended, and the bytes being repeated, if any.
type Playing = (
    std::vec::IntoIter<Step>,
    watch::Receiver<bool>,
    bool,
    Option<(Bytes, Duration)>,
);

fn play(plan: Vec<Step>, shutdown: watch::Receiver<bool>) -> Body {
    let state: Playing = (plan.into_iter(), shutdown, false, None);
    let stream = futures_util::stream::unfold(
        state,
        |(mut steps, mut shutdown, ended, mut repeat)| async move {
            if ended {
                return None;
            }
            loop {
                if let Some((bytes, delay)) = &repeat {
                    let bytes = bytes.clone();
                    let go_on = if delay.is_zero() {
                        // Still give the runtime a turn, and notice a shutdown.
                        tokio::task::yield_now().await;
                        !*shutdown.borrow()
                    } else {
                        sleep_unless_shutdown(*delay, &mut shutdown).await
                    };
                    if !go_on {
                        return Some((Err(dropped()), (steps, shutdown, true, None)));
                    }
                    return Some((Ok(bytes), (steps, shutdown, false, repeat)));
                }
                match steps.next()? {
                    Step::Data(bytes) => {
                        return Some((Ok(bytes), (steps, shutdown, false, None)));
                    }
                    Step::Delay(delay) => {
                        if !sleep_unless_shutdown(delay, &mut shutdown).await {
                            return Some((Err(dropped()), (steps, shutdown, true, None)));
                        }
                    }
                    Step::Abort => return Some((Err(dropped()), (steps, shutdown, true, None))),
                    Step::Hang => {
                        wait_for_shutdown(&mut shutdown).await;
                        return Some((Err(dropped()), (steps, shutdown, true, None)));
                    }
                    Step::Repeat(bytes, delay) => repeat = Some((bytes, delay)),
                }
            }
        },
    );
    Body::from_stream(stream)
}

fn dropped() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "fake upstream dropped the stream",
    )
}

/// Sleeps `delay`; false when the fake started shutting down first.
pub(crate) async fn sleep_unless_shutdown(
    delay: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = shutdown.wait_for(|stopping| *stopping) => false,
    }
}

/// Resolves when the fake shuts down (immediately if its state is already gone).
pub(crate) async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}
