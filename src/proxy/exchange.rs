//! What every wire format's answering endpoint shares, so each format's module holds only
//! its own parsing and rendering: reading the body against the limit, the shutdown deadline
//! of a request still waiting for its answer, starting the turn through the engine, and the
//! upstream's health and metrics on the way. Answers are started and drawn here; their
//! statuses and records stay with the engine's [`Answer`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::sync::mpsc;

use super::middleware::{ClientRequestId, KeyId, RequestId, Scope};
use super::sse::{self, Encoder, StreamContext};
use super::{ApiError, AppState, ErrorShape, UpstreamHealth};
use crate::qwen::{ErrorKind, Model, QwenError};
use crate::session::{Answer, Complete, RequestMeta, StartError, TurnRequest};

/// A request as it arrived, before its wire format parsed it.
pub(super) struct Incoming {
    pub request_id: String,
    /// The client's `x-request-id`, if it sent one.
    pub client_request_id: Option<String>,
    pub key: Option<String>,
    /// Whose stored exchanges it may build on (`previous_response_id`).
    pub scope: Scope,
    pub received: Instant,
    pub received_at_ms: i64,
    pub body: Bytes,
}

impl Incoming {
    /// Reads the body against the limit, so an oversized one is a 413.
    pub async fn read(
        state: &AppState,
        Extension(request_id): Extension<RequestId>,
        key: Option<Extension<KeyId>>,
        req: Request,
    ) -> Result<Incoming, ApiError> {
        let received = Instant::now();
        let scope = req.extensions().get::<Scope>().cloned().ok_or_else(|| {
            tracing::error!("an answering route outside the key check");
            ApiError::internal("The request could not be served.")
        })?;
        let client_request_id = req
            .extensions()
            .get::<ClientRequestId>()
            .map(|c| c.0.clone());
        let limit = state.settings.max_body;
        let body = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::payload_too_large(limit))?;
        Ok(Incoming {
            request_id: request_id.0,
            client_request_id,
            scope,
            key: key.map(|Extension(k)| k.0),
            received,
            received_at_ms: crate::time::unix_now_ms(),
            body,
        })
    }

    /// The engine's record of this request.
    pub fn meta(
        &self,
        endpoint: &'static str,
        response_id: &str,
        stream: bool,
        params: serde_json::Value,
    ) -> RequestMeta {
        RequestMeta {
            id: self.request_id.clone(),
            client_request_id: self.client_request_id.clone(),
            response_id: response_id.to_owned(),
            endpoint,
            stream,
            api_key_id: self.key.clone(),
            params: params.into(),
            received: self.received,
            received_at_ms: self.received_at_ms,
        }
    }

    /// Records a body its wire format refused (the engine keeps what can be read of it).
    pub async fn refuse(&self, state: &AppState, endpoint: &'static str, message: String) {
        let meta = self.meta(endpoint, "", false, serde_json::Value::Null);
        state.engine.reject(&meta, &self.body, message).await;
    }
}

/// An answering endpoint: reads the body, then lets the wire format's `answer` parse it and
/// answer. Past the shutdown grace period, a request still waiting for its answer gives up
/// (a stream has been handed to its own task by then and ends itself). Errors met here take
/// the wire format's `shape`.
pub(super) async fn handle<F, Fut>(
    state: Arc<AppState>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
    shape: ErrorShape,
    answer: F,
) -> Response
where
    F: FnOnce(Arc<AppState>, Incoming) -> Fut,
    Fut: Future<Output = Response>,
{
    let incoming = match Incoming::read(&state, request_id, key, req).await {
        Ok(incoming) => incoming,
        Err(err) => return err.shaped(shape),
    };
    let deadline = state.deadline.clone();
    tokio::select! {
        response = answer(state, incoming) => response,
        () = deadline.cancelled() => ApiError::unavailable(
            "the server is shutting down and this request ran past the grace period",
        )
        .shaped(shape),
    }
}

/// The upstream model list, with the outcome noted for `/health`.
pub(super) async fn models(state: &AppState) -> Result<Arc<Vec<Model>>, QwenError> {
    let result = state.engine.models().await;
    note_upstream(state, result.as_ref().err());
    result
}

/// Starts the turn, noting the upstream's outcome.
pub(super) async fn start(state: &AppState, turn: TurnRequest) -> Result<Answer, StartError> {
    match state.engine.start(turn).await {
        Ok(answer) => {
            note_upstream(state, None);
            Ok(answer)
        }
        Err(err) => {
            if let StartError::Upstream(e) = &err {
                note_upstream(state, Some(e));
            }
            Err(err)
        }
    }
}

/// Draws the whole answer for a JSON reply.
pub(super) async fn collect(state: &AppState, answer: Answer) -> Result<Complete, QwenError> {
    let result = answer.collect().await;
    match &result {
        Ok(complete) => observe_first_token(complete.first_token_ms),
        Err(err) => note_upstream(state, Some(err)),
    }
    result
}

/// Streams the answer on its own task as `encoder`'s server-sent events.
pub(super) fn stream<E: Encoder>(state: &Arc<AppState>, answer: Answer, encoder: E) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    metrics::gauge!("inflight_streams").increment(1.0);
    let ended = state.clone();
    let ctx = StreamContext {
        keepalive: state.settings.keepalive,
        deadline: state.deadline.clone(),
        on_end: Box::new(move |answer, err| {
            metrics::gauge!("inflight_streams").decrement(1.0);
            observe_first_token(answer.first_token_ms());
            if let Some(err) = err {
                note_upstream(&ended, Some(err));
            }
        }),
    };
    tokio::spawn(sse::write(answer, encoder, ctx, tx));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn observe_first_token(ms: Option<i64>) {
    if let Some(ms) = ms {
        metrics::histogram!("qwen_time_to_first_token_seconds").record(ms as f64 / 1000.0);
    }
}

/// Remembers how the last upstream call went, for `/health`. (Calls and failures are
/// counted by account where they happen, in `crate::accounts::Pool`.)
fn note_upstream(state: &AppState, err: Option<&QwenError>) {
    match err {
        None => state.set_upstream_health(UpstreamHealth::Ok),
        Some(e) => {
            // Operators see upstream trouble in the log, not only in /metrics.
            tracing::warn!(kind = e.kind().as_str(), "upstream call failed: {e}");
            if e.kind() == ErrorKind::Auth {
                state.set_upstream_health(UpstreamHealth::AuthFailed);
            } else if !matches!(e.kind(), ErrorKind::RateLimited | ErrorKind::NotFound) {
                state.set_upstream_health(UpstreamHealth::Failing);
            }
        }
    }
}
