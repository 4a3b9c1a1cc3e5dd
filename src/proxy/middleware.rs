//! Cross-cutting request handling: request ids, metrics and API-key checks.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::{ApiError, AppState, ErrorShape};

/// The request id of a request (ours, or the client's when it sent a sane one).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Which API key a request used ("key-1" for the first of API_KEYS); never the key itself.
#[derive(Debug, Clone)]
pub struct KeyId(pub String);

const REQUEST_ID: &str = "x-request-id";

/// Where Anthropic's clients put the API key.
const X_API_KEY: &str = "x-api-key";

/// Gives every request an id (echoed as `x-request-id`) and records
/// `http_requests_total` / `http_request_duration_seconds` by route template.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// When API_KEYS is set, every route it wraps needs `Authorization: Bearer <key>` or, as
/// Anthropic's clients send it, `x-api-key: <key>`. Keys are compared in constant time. A
/// refusal takes the error shape of the API the request speaks.
pub async fn require_api_key(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let keys = &state.settings.api_keys;
    if keys.is_empty() {
        return next.run(req).await;
    }
    let shape = ErrorShape::of(req.uri().path(), req.headers());
    let headers = req.headers();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get(X_API_KEY).and_then(|v| v.to_str().ok()))
        .map(str::trim);
    let Some(presented) = presented else {
        return ApiError::unauthorized(
            "Missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`.",
        )
        .shaped(shape);
    };
    // Check every key so the time taken does not tell which one matched.
    let mut matched = None;
    for key in keys {
        if bool::from(key.secret.expose().as_bytes().ct_eq(presented.as_bytes())) {
            matched = Some(key);
        }
    }
    match matched {
        Some(key) => {
            req.extensions_mut().insert(KeyId(key.name.clone()));
            next.run(req).await
        }
        None => ApiError::unauthorized("Incorrect API key provided.").shaped(shape),
    }
}
