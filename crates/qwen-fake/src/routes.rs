//! The fake's router: request recording and the small JSON endpoints (models, chats). The
//! completion endpoint lives in `completions.rs`, sign-in and the bearer check in `auth.rs`.
//!
//! Recording wraps everything, including rejected and unknown requests, because tests
//! assert on what a client actually sent. The bearer check is a route layer, so unknown
//! paths still answer 404 rather than 401, and the model lists, sign-in and the anti-bot
//! token stay open as on the real service (you sign in to get a token; the model lists work
//! anonymously). The chat routes answer only the account that created a chat.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::accounts::Caller;
use super::auth::{self, current_user, limit_refusal, require_bearer, signin};
use super::completions::completions;
use super::faults::{endless_json, server_error};
use super::stream::{Step, sse_response, streamed_response, wait_for_shutdown};
use super::wire::{error_envelope, ok_envelope, raw_response};
use super::{COMPLETIONS_PATH, Chat, ModelsFault, RecordedRequest, Shared, new_id, now_secs};

const MODELS_JSON: &str = include_str!("../fixtures/models.json");
const MODELS_V2_JSON: &str = include_str!("../fixtures/models-v2.json");

/// Largest request body the fake reads (folded histories can be big, but not this big).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Prefix of the chat routes; also the chat list's own path.
const CHATS_PREFIX: &str = "/api/v2/chats/";

/// The fake's routes, for the request counters (one per route, so no client can grow the
/// table) and for building the router from the same paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Models,
    ModelsV2,
    Signin,
    Recorded,
    Counters,
    NewChat,
    ListChats,
    /// `/api/v2/chats/{id}`: every chat's detail and delete share it.
    Chat,
    Completions,
    CurrentUser,
    /// The anti-bot token (`bx-umidtoken`), a third-party endpoint upstream.
    Umid,
    AccountLimit,
    AccountRevoke,
    /// Anything else (answered 404).
    Other,
}

impl Route {
    /// Number of routes, `Other` included (the size of the counter table).
    pub(crate) const COUNT: usize = Route::Other as usize + 1;

    /// Every route, in counter-table order.
    pub(crate) const ALL: [Route; Route::COUNT] = [
        Route::Models,
        Route::ModelsV2,
        Route::Signin,
        Route::Recorded,
        Route::Counters,
        Route::NewChat,
        Route::ListChats,
        Route::Chat,
        Route::Completions,
        Route::CurrentUser,
        Route::Umid,
        Route::AccountLimit,
        Route::AccountRevoke,
        Route::Other,
    ];

    /// The route `path` (without query) reaches, as the router matches it: static paths
    /// first, then `/api/v2/chats/{id}` for one more non-empty segment.
    pub(crate) fn of(path: &str) -> Route {
        const STATIC: [Route; 12] = [
            Route::Models,
            Route::ModelsV2,
            Route::Signin,
            Route::Recorded,
            Route::Counters,
            Route::NewChat,
            Route::ListChats,
            Route::Completions,
            Route::CurrentUser,
            Route::Umid,
            Route::AccountLimit,
            Route::AccountRevoke,
        ];
        if let Some(route) = STATIC.into_iter().find(|r| r.path() == path) {
            return route;
        }
        match path.strip_prefix(CHATS_PREFIX) {
            Some(id) if !id.is_empty() && !id.contains('/') => Route::Chat,
            _ => Route::Other,
        }
    }

    /// The path as the router declares it (`Other` has none and answers 404).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Route::Models => "/api/models",
            Route::ModelsV2 => "/api/v2/models/",
            Route::Signin => "/api/v1/auths/signin",
            Route::Recorded => "/__fake/requests",
            Route::Counters => "/__fake/counters",
            Route::NewChat => "/api/v2/chats/new",
            Route::ListChats => CHATS_PREFIX,
            Route::Chat => "/api/v2/chats/{id}",
            Route::Completions => COMPLETIONS_PATH,
            Route::CurrentUser => "/api/v1/auths/",
            Route::Umid => "/w/wu.json",
            Route::AccountLimit => "/__fake/accounts/limit",
            Route::AccountRevoke => "/__fake/accounts/revoke",
            Route::Other => "",
        }
    }
}

pub(crate) fn build(shared: Arc<Shared>) -> Router {
    let guarded = Router::new()
        .route(Route::NewChat.path(), post(new_chat))
        .route(Route::ListChats.path(), get(list_chats))
        .route(Route::Chat.path(), get(chat_detail).delete(delete_chat))
        .route(Route::Completions.path(), post(completions))
        .route(Route::CurrentUser.path(), get(current_user))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            require_bearer,
        ));
    Router::new()
        .route(Route::Models.path(), get(models))
        .route(Route::ModelsV2.path(), get(models_v2))
        .route(Route::Signin.path(), post(signin))
        .route(Route::Recorded.path(), get(recorded))
        .route(Route::Counters.path(), get(counters))
        .route(Route::Umid.path(), get(auth::umid))
        .route(Route::AccountLimit.path(), post(auth::set_limit))
        .route(Route::AccountRevoke.path(), post(auth::revoke))
        .merge(guarded)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Test hook for out-of-process tests (the SDK compatibility suite): what the fake received,
/// without headers, oldest first. Not part of the real service.
async fn recorded(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    let requests: Vec<Value> = shared
        .requests()
        .into_iter()
        .filter(|r| Route::of(&r.path) != Route::Recorded)
        .map(|r| serde_json::json!({"method": r.method, "path": r.path, "query": r.query, "body": r.body}))
        .collect();
    axum::Json(Value::Array(requests))
}

/// Test hook for benchmarks: per route (by its declared path, `other` for the rest), how
/// many requests arrived and how many body bytes they carried, since the start. Exact
/// however many requests the log has dropped. Not part of the real service.
async fn counters(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    let log = shared.log();
    let routes: serde_json::Map<String, Value> = Route::ALL
        .into_iter()
        .map(|route| {
            let name = match route {
                Route::Other => "other",
                known => known.path(),
            };
            let counted = json!({
                "requests": log.count_route(route),
                "body_bytes": log.body_bytes_route(route),
            });
            (name.to_owned(), counted)
        })
        .collect();
    axum::Json(Value::Object(routes))
}

/// Records the request, then echoes `x-request-id` like the real service.
async fn record(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return raw_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            "body too large",
        );
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    // The body is parsed (or not, when it would not fit in the log) by the log itself.
    let request = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body: Value::Null,
    };
    shared.record(request, &bytes);
    let request_id = parts
        .headers
        .get("x-request-id")
        .cloned()
        .or_else(|| HeaderValue::from_str(&new_id()).ok());
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(id) = request_id {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

async fn models(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(fault) = shared.models_fault() {
        return models_failure(&shared, fault).await;
    }
    raw_response(StatusCode::OK, "application/json", MODELS_JSON)
}

async fn models_v2(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(fault) = shared.models_fault() {
        return models_failure(&shared, fault).await;
    }
    raw_response(StatusCode::OK, "application/json", MODELS_V2_JSON)
}

/// What a model list answers under [`ModelsFault`].
async fn models_failure(shared: &Shared, fault: ModelsFault) -> Response {
    match fault {
        ModelsFault::Hang => {
            let mut shutdown = shared.shutdown_signal();
            wait_for_shutdown(&mut shutdown).await;
            sse_response(vec![Step::Abort], shutdown)
        }
        ModelsFault::ServerError => server_error(),
        ModelsFault::Endless => {
            streamed_response(endless_json(), shared.shutdown_signal(), "application/json")
        }
    }
}

async fn new_chat(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refusal) = limit_refusal(&shared, caller) {
        return refusal;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let models = body
        .get("models")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let now = now_secs();
    let chat = Chat {
        id: new_id(),
        title: text("title").unwrap_or("New Chat").to_owned(),
        chat_type: text("chat_type").unwrap_or("t2t").to_owned(),
        models,
        created_at: now,
        updated_at: now,
        turns: Vec::new(),
        owner: caller.0,
    };
    let id = chat.id.clone();
    shared.chats().insert(chat);
    ok_envelope(json!({ "id": id }))
}

/// `GET /api/v2/chats/` in the shape of fixtures/chats-list.json, newest first: the
/// caller's own chats.
async fn list_chats(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
) -> Response {
    let chats = shared.chats();
    let mut list: Vec<&Chat> = chats.values().filter(|c| c.owner == caller.0).collect();
    list.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let items: Vec<Value> = list
        .iter()
        .map(|chat| {
            json!({
                "id": chat.id, "title": chat.title, "updated_at": chat.updated_at,
                "created_at": chat.created_at, "chat_type": chat.chat_type, "project_id": null,
                "pinned": false, "content": null, "highlight_indexes": null, "message_id": null,
            })
        })
        .collect();
    ok_envelope(items)
}

/// The stored message tree: user and assistant messages linked by `parentId`, assistant
/// messages with a `content_list` per phase, like the real chat detail.
async fn chat_detail(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let chats = shared.chats();
    let Some(chat) = chats.get_owned(&id, caller.0) else {
        return error_envelope("Not_Found", "chat not found");
    };
    let mut messages = Vec::new();
    for turn in &chat.turns {
        let children: Vec<&str> = chat
            .turns
            .iter()
            .filter(|t| t.parent_response_id.as_deref() == Some(turn.response_id.as_str()))
            .map(|t| t.user_message_id.as_str())
            .collect();
        messages.push(json!({
            "id": turn.user_message_id, "parentId": turn.parent_response_id,
            "childrenIds": [turn.response_id], "role": "user", "content": turn.user_text,
            "timestamp": turn.timestamp, "models": [turn.model],
        }));
        messages.push(json!({
            "id": turn.response_id, "parentId": turn.user_message_id, "childrenIds": children,
            "role": "assistant", "content": turn.answer, "model": turn.model,
            "timestamp": turn.timestamp,
            "content_list": [{"content": turn.answer, "phase": "answer", "status": "finished"}],
        }));
    }
    let current = chat.turns.last().map(|t| t.response_id.clone());
    ok_envelope(json!({
        "id": chat.id, "title": chat.title, "chat_type": chat.chat_type, "models": chat.models,
        "created_at": chat.created_at, "updated_at": chat.updated_at,
        "currentId": current, "chat": { "messages": messages },
    }))
}

async fn delete_chat(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match shared.chats().remove_owned(&id, caller.0) {
        Some(_) => ok_envelope(json!({ "status": true })),
        None => error_envelope("Not_Found", "chat not found"),
    }
}

/// FastAPI's 404 body (the web app's backend is an Open WebUI descendant).
async fn not_found() -> Response {
    raw_response(
        StatusCode::NOT_FOUND,
        "application/json",
        r#"{"detail":"Not Found"}"#,
    )
}
