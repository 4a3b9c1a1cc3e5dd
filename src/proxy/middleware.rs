//! Cross-cutting request handling: request ids, metrics, API-key checks and what a key may
//! see ([`Scope`]).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::{ApiError, AppState, ErrorShape};
use crate::store::ListQuery;

/// The store's id of a request: always generated, never the client's.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The `x-request-id` a client sent (when it is sane): kept beside ours and echoed back.
#[derive(Debug, Clone)]
pub struct ClientRequestId(pub String);

/// Which API key a request used (`key-1` for the first of API_KEYS, `admin-1` for the first
/// of ADMIN_API_KEYS); never the key itself.
#[derive(Debug, Clone)]
pub struct KeyId(pub String);

/// Whose exchanges a request may see and manage: every one (no keys configured, or an admin
/// key) or only those recorded under its key's name. Every request past
/// [`require_api_key`] carries one; a handler that asks for it where none was set fails
/// closed (500) instead of showing everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Key(String),
}

impl Scope {
    /// Whether an exchange or session recorded under `owner` is visible.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Key(name) => owner == Some(name.as_str()),
        }
    }

    /// `q` narrowed to this scope: a key's own exchanges, whatever `q` asked for.
    pub fn narrow(&self, q: ListQuery) -> ListQuery {
        match self {
            Scope::All => q,
            Scope::Key(name) => ListQuery {
                api_key_id: Some(name.clone()),
                ..q
            },
        }
    }

    pub fn is_all(&self) -> bool {
        *self == Scope::All
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Scope>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "a route outside the key check asked whose data it may show"
            );
            ApiError::internal("The request could not be served.")
        })
    }
}

const REQUEST_ID: &str = "x-request-id";

/// Where Anthropic's clients put the API key.
const X_API_KEY: &str = "x-api-key";

/// Gives every request an id of ours (the store's) and keeps a sane `x-request-id` of the
/// client's beside it; echoes the client's id as `x-request-id`, or ours when it sent none.
/// Records `http_requests_total` / `http_request_duration_seconds` by route template.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let client_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let ours = uuid::Uuid::new_v4().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    req.extensions_mut().insert(RequestId(ours.clone()));
    if let Some(client_id) = &client_id {
        req.extensions_mut()
            .insert(ClientRequestId(client_id.clone()));
    }
    let mut response = next.run(req).await;
    let echoed = client_id.unwrap_or(ours);
    if let Ok(value) = HeaderValue::from_str(&echoed) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// When API_KEYS or ADMIN_API_KEYS is set, every route it wraps needs
/// `Authorization: Bearer <key>` or, as Anthropic's clients send it, `x-api-key: <key>`.
/// Keys are compared in constant time. The request then carries its key's name ([`KeyId`])
/// and [`Scope`]; without keys, its scope is everything. A refusal takes the error shape of
/// the API the request speaks.
pub async fn require_api_key(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let keys = &state.settings.api_keys;
    if keys.is_empty() {
        req.extensions_mut().insert(Scope::All);
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
            let scope = if key.admin {
                Scope::All
            } else {
                Scope::Key(key.name.clone())
            };
            req.extensions_mut().insert(KeyId(key.name.clone()));
            req.extensions_mut().insert(scope);
            next.run(req).await
        }
        None => ApiError::unauthorized("Incorrect API key provided.").shaped(shape),
    }
}
