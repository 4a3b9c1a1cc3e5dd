//! The HTTP side of who is calling: the bearer check in front of every guarded route,
//! sign-in, the current user, the anti-bot token endpoint, and the test hooks that
//! rate-limit an account or revoke its tokens. The accounts themselves (passwords, tokens,
//! limits) are `accounts.rs`'s.
//!
//! Without accounts the fake stays as open as it always was: any sign-in succeeds and any
//! non-empty bearer (or the one configured) passes. With accounts, the bearer must be a
//! token this fake issued, unexpired, and a `token` cookie, when sent, must be the same
//! token: the web app sends both, and a client that renews one but not the other is wrong.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::Shared;
use super::accounts::{AccountLimit, Caller, User, WRONG_CREDENTIALS, umid_token};
use super::faults::{quota_exhausted, too_many_requests};
use super::wire::{json_response, raw_response, unauthorized};

const SIGNIN_JSON: &str = include_str!("../fixtures/signin.json");

/// Lets a request through to a guarded route when its credentials pass, with the account
/// it authenticated as in its extensions ([`Caller`]); 401 `unauthorized` otherwise.
pub(crate) async fn require_bearer(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = {
        let headers = request.headers();
        let Some(token) = bearer(headers) else {
            return unauthorized();
        };
        if shared.accounts.enabled() {
            if !cookie_agrees(headers, token) {
                return unauthorized();
            }
            match shared.accounts.verify(token) {
                Some(index) => Caller(Some(index)),
                None => return unauthorized(),
            }
        } else {
            match shared.options().accepted_token {
                Some(expected) if token != expected => return unauthorized(),
                _ => Caller(None),
            }
        }
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The non-empty token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// False when a `token` cookie is sent and differs from the bearer `token`. A quoted
/// cookie value (RFC 6265 allows `token="…"`) counts as its content.
fn cookie_agrees(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(header::COOKIE).iter().all(|value| {
        String::from_utf8_lossy(value.as_bytes())
            .split(';')
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name.trim() == "token").then_some(value.trim())
            })
            .all(|value| {
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                value == token
            })
    })
}

/// `POST /api/v1/auths/signin`. Without accounts: any email and password succeed, and the
/// answer carries the configured token when there is one, so a client that signs in can
/// then pass the fake's own check. With accounts: Open WebUI's sign-in.
pub(crate) async fn signin(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |key: &str| body.get(key).and_then(Value::as_str);
    if !shared.accounts.enabled() {
        let has = |key: &str| field(key).is_some_and(|v| !v.is_empty());
        if !has("email") || !has("password") {
            return super::wire::error_envelope("Bad_Request", "email and password are required");
        }
        return match shared.options().accepted_token {
            Some(token) => raw_response(
                StatusCode::OK,
                "application/json",
                json!({"token": token}).to_string(),
            ),
            None => raw_response(StatusCode::OK, "application/json", SIGNIN_JSON),
        };
    }
    let (Some(email), Some(password)) = (field("email"), field("password")) else {
        return detail(
            StatusCode::BAD_REQUEST,
            "email and password (the SHA-256 hex of the password) are required",
        );
    };
    let Some((index, issued)) = shared.accounts.sign_in(email, password) else {
        return detail(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS);
    };
    let Some(user) = shared.accounts.user(index) else {
        return detail(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS);
    };
    let mut answer = user_json(&user);
    answer["token"] = json!(issued.token);
    answer["token_type"] = json!("Bearer");
    answer["expires_at"] = json!(issued.expires_at);
    let mut response = json_response(StatusCode::OK, &answer);
    // The token is base64url and dots, always a valid header value.
    if let Ok(cookie) = HeaderValue::from_str(&format!("token={}; Path=/", issued.token)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /api/v1/auths/`: the signed-in user (a fixed one without accounts).
pub(crate) async fn current_user(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let user = caller
        .0
        .and_then(|index| shared.accounts.user(index))
        .unwrap_or(User {
            id: "00000000-0000-4000-8000-000000000001",
            email: "fake-user@example.com",
            name: "Fake User",
        });
    json_response(StatusCode::OK, &user_json(&user))
}

fn user_json(user: &User<'_>) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "user",
        "profile_image_url": "/static/favicon.png",
    })
}

/// The refusal of a rate-limited caller's `chats/new` or completion, if it is limited.
pub(crate) fn limit_refusal(shared: &Shared, caller: Caller) -> Option<Response> {
    Some(match shared.accounts.limit(caller)? {
        AccountLimit::Http429 { retry_after_secs } => too_many_requests(retry_after_secs),
        AccountLimit::Quota { hours } => quota_exhausted(hours),
    })
}

/// `GET /w/wu.json`, the anti-bot token endpoint (PROTOCOL.md §2.2): a fresh `bx-umidtoken`
/// in a JavaScript call and in `ETag`.
pub(crate) async fn umid() -> Response {
    let token = umid_token();
    let mut response = raw_response(
        StatusCode::OK,
        "application/javascript; charset=utf-8",
        format!("umx.wu('{token}')"),
    );
    // Base64 and a letter prefix: always a valid header value.
    if let Ok(etag) = HeaderValue::from_str(&token) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Test hook `POST /__fake/accounts/limit`: `{"email", "retry_after_secs"}` (HTTP 429),
/// `{"email", "hours"}` (quota) or `{"email", "clear": true}`. Not part of the real service.
pub(crate) async fn set_limit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(email) = body.get("email").and_then(Value::as_str) else {
        return detail(StatusCode::BAD_REQUEST, "email is required");
    };
    let limit = match (
        body.get("retry_after_secs"),
        body.get("hours"),
        body.get("clear"),
    ) {
        (Some(secs), None, None) => secs
            .as_u64()
            .map(|retry_after_secs| Some(AccountLimit::Http429 { retry_after_secs })),
        (None, Some(hours), None) => hours
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .map(|hours| Some(AccountLimit::Quota { hours })),
        (None, None, Some(Value::Bool(true))) => Some(None),
        _ => None,
    };
    let Some(limit) = limit else {
        return detail(
            StatusCode::BAD_REQUEST,
            "give exactly one of retry_after_secs (whole seconds), hours (whole hours) or clear: true",
        );
    };
    let Some(index) = shared.accounts.find(email) else {
        return detail(StatusCode::NOT_FOUND, "no account has this email");
    };
    shared.accounts.set_limit(index, limit);
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// Test hook `POST /__fake/accounts/revoke` with `{"email"}`: the account's tokens issued so
/// far stop working (see `FakeUpstream::revoke_tokens`). Not part of the real service.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(email) = body.get("email").and_then(Value::as_str) else {
        return detail(StatusCode::BAD_REQUEST, "email is required");
    };
    let Some(index) = shared.accounts.find(email) else {
        return detail(StatusCode::NOT_FOUND, "no account has this email");
    };
    shared.accounts.revoke(index);
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// FastAPI's error body, `{"detail": "..."}`.
fn detail(status: StatusCode, text: &str) -> Response {
    json_response(status, &json!({ "detail": text }))
}
