//! The data endpoints of design.md §3.3: read-only views of the store, plus deleting a
//! session.
//!
//! Handlers only translate HTTP to store calls: the query string becomes a [`ListQuery`]
//! (invalid values are an OpenAI-shaped 400, never axum's plain-text rejection), lists come
//! back in OpenAI's `{"object": "list", "data": …}` envelope with `has_more` found by asking
//! the store for one row more than the page, an unknown id is a 404, and a store failure is
//! logged here and shown to the client only as a generic 500.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::ApiError;
use crate::store::{self, ListQuery, Store};

/// The routes, with the store as their state.
pub fn router(store: Store) -> Router {
    // axum prefers static segments, so `/v1/responses/stats` is never taken for an id.
    Router::new()
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/sessions/{id}/stats", get(session_stats))
        .route("/v1/sessions/{id}/requests", get(session_requests))
        .route("/v1/requests", get(list_requests))
        .route("/v1/requests/{id}", get(get_request))
        .route("/v1/requests/{id}/response", get(request_response))
        .route("/v1/responses", get(list_responses))
        .route("/v1/responses/stats", get(response_stats))
        .route("/v1/responses/{id}", get(get_response))
        .with_state(store)
}

/// The query string as a [`ListQuery`] with its limit clamped, or a 400.
struct Filter(ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for Filter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<ListQuery>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(Filter(q.clamped())),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                // axum reports the failing field first (`limit: invalid digit …`).
                let param = detail.split_once(": ").map(|(field, _)| field).filter(|f| {
                    ["limit", "offset", "session_id", "model", "since", "until"].contains(f)
                });
                Err(ApiError::bad_request(
                    format!("Invalid query parameters: {detail}"),
                    param,
                ))
            }
        }
    }
}

/// OpenAI's list envelope.
#[derive(Serialize)]
struct Page<T> {
    object: &'static str,
    data: Vec<T>,
    limit: u32,
    offset: u32,
    has_more: bool,
}

/// The query asking for one row more than the page, so `has_more` needs no count.
fn probe(q: &ListQuery) -> ListQuery {
    ListQuery {
        limit: q.limit.saturating_add(1),
        ..q.clone()
    }
}

fn page<T>(q: &ListQuery, mut rows: Vec<T>) -> Json<Page<T>> {
    let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Json(Page {
        object: "list",
        data: rows,
        limit: q.limit,
        offset: q.offset,
        has_more,
    })
}

/// Logs a store failure and hides its details from the client.
fn internal(err: store::Error) -> ApiError {
    tracing::error!(error = %err, "data endpoint: store query failed");
    ApiError::internal("The request could not be served because of a database error.")
}

/// A found row as JSON, or a 404 naming what was missing.
fn found<T: Serialize>(row: Option<T>, what: &str, id: &str) -> Result<Json<T>, ApiError> {
    row.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("No {what} found with id '{id}'")))
}

type Reply<T> = Result<Json<T>, ApiError>;

async fn list_sessions(
    State(store): State<Store>,
    Filter(q): Filter,
) -> Reply<Page<store::SessionSummary>> {
    let rows = store.list_sessions(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn get_session(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Reply<store::SessionSummary> {
    found(
        store.get_session(&id).await.map_err(internal)?,
        "session",
        &id,
    )
}

async fn session_stats(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Reply<store::SessionStats> {
    found(
        store.session_stats(&id).await.map_err(internal)?,
        "session",
        &id,
    )
}

async fn delete_session(State(store): State<Store>, Path(id): Path<String>) -> Reply<Value> {
    if !store.delete_session(&id).await.map_err(internal)? {
        return Err(ApiError::not_found(format!(
            "No session found with id '{id}'"
        )));
    }
    Ok(Json(
        json!({"id": id, "object": "session.deleted", "deleted": true}),
    ))
}

async fn session_requests(
    State(store): State<Store>,
    Path(id): Path<String>,
    Filter(q): Filter,
) -> Reply<Page<store::RequestSummary>> {
    if store.get_session(&id).await.map_err(internal)?.is_none() {
        return Err(ApiError::not_found(format!(
            "No session found with id '{id}'"
        )));
    }
    let q = ListQuery {
        session_id: Some(id),
        ..q
    };
    let rows = store.list_requests(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn list_requests(
    State(store): State<Store>,
    Filter(q): Filter,
) -> Reply<Page<store::RequestSummary>> {
    let rows = store.list_requests(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn get_request(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Reply<store::RequestDetail> {
    found(
        store.get_request(&id).await.map_err(internal)?,
        "request",
        &id,
    )
}

async fn request_response(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Reply<store::ResponseRow> {
    if let Some(row) = store.response_for_request(&id).await.map_err(internal)? {
        return Ok(Json(row));
    }
    let known = store.get_request(&id).await.map_err(internal)?.is_some();
    Err(ApiError::not_found(if known {
        format!("No response is recorded for request '{id}'")
    } else {
        format!("No request found with id '{id}'")
    }))
}

async fn list_responses(
    State(store): State<Store>,
    Filter(q): Filter,
) -> Reply<Page<store::ResponseRow>> {
    let rows = store.list_responses(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn response_stats(State(store): State<Store>, Filter(q): Filter) -> Reply<Value> {
    let statistics = store.response_stats(&q).await.map_err(internal)?;
    Ok(Json(json!({ "statistics": statistics })))
}

async fn get_response(
    State(store): State<Store>,
    Path(id): Path<String>,
) -> Reply<store::ResponseRow> {
    found(
        store.get_response(&id).await.map_err(internal)?,
        "response",
        &id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewRequest, NewResponse, NewSession, StoredMessage};

    /// Serves the data router on a free port over a store with one answered exchange and
    /// one pending request.
    async fn serve() -> (String, Store) {
        let store = Store::open_in_memory().expect("store");
        let session = NewSession {
            id: "s1".into(),
            chat_id: "c1".into(),
            model: "qwen3-max".into(),
            title: "hello".into(),
            source: "serve".into(),
            created_at: 1_000,
        };
        store.create_session(session).await.expect("session");
        for (i, id) in ["r1", "r2"].into_iter().enumerate() {
            let at = 2_000 + i64::try_from(i).unwrap_or(0) * 1_000;
            let request = NewRequest {
                id: id.into(),
                session_id: Some("s1".into()),
                endpoint: "chat.completions".into(),
                model: "qwen3-max".into(),
                stream: false,
                api_key_id: None,
                prior_request_id: (id == "r2").then(|| "r1".into()),
                message_count: if id == "r1" { 1 } else { 3 },
                new_messages: vec![StoredMessage {
                    role: "user".into(),
                    content: format!("question {id}"),
                }],
                params: json!({"model": "qwen3-max"}),
                upstream_request: None,
                chat_id: Some("c1".into()),
                parent_id: None,
                received_at: at,
            };
            store.record_request(request).await.expect("request");
        }
        let response = NewResponse {
            id: "p1".into(),
            request_id: "r1".into(),
            session_id: Some("s1".into()),
            status: "ok".into(),
            content: "answer".into(),
            prompt_tokens: 3,
            completion_tokens: 4,
            duration_ms: 120,
            first_token_ms: Some(40),
            created_at: 2_500,
            ..NewResponse::default()
        };
        store.record_response(response).await.expect("response");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = router(store.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, store)
    }

    async fn get(base: &str, path: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{base}{path}"))
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    #[tokio::test]
    async fn lists_and_single_objects() {
        let (base, _store) = serve().await;
        let (status, body) = get(&base, "/v1/sessions").await;
        assert_eq!(status, 200);
        assert_eq!(body["object"], "list");
        assert_eq!(
            (body["limit"].as_u64(), body["has_more"].as_bool()),
            (Some(20), Some(false))
        );
        assert_eq!(body["data"][0]["id"], "s1");
        assert_eq!(body["data"][0]["turns"], 2);
        assert_eq!(get(&base, "/v1/sessions/s1").await.1["total_tokens"], 7);
        assert_eq!(
            get(&base, "/v1/sessions/s1/stats").await.1["total_requests"],
            2
        );

        let (_, page) = get(&base, "/v1/requests?limit=1").await;
        assert_eq!(
            (page["data"][0]["id"].as_str(), page["has_more"].as_bool()),
            (Some("r2"), Some(true))
        );
        let (_, page) = get(&base, "/v1/sessions/s1/requests?limit=1&offset=1").await;
        assert_eq!(
            (page["data"][0]["id"].as_str(), page["has_more"].as_bool()),
            (Some("r1"), Some(false))
        );
        let (_, page) = get(&base, "/v1/requests?since=1970-01-01T00:00:02.500Z").await;
        assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
        let (_, detail) = get(&base, "/v1/requests/r2").await;
        let contents: Vec<_> = detail["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["content"].as_str())
            .collect();
        assert_eq!(
            contents,
            [Some("question r1"), Some("answer"), Some("question r2")]
        );
        assert_eq!(get(&base, "/v1/requests/r1/response").await.1["id"], "p1");
        assert_eq!(get(&base, "/v1/responses").await.1["data"][0]["id"], "p1");
        assert_eq!(get(&base, "/v1/responses/p1").await.1["content"], "answer");

        let (status, stats) = get(&base, "/v1/responses/stats").await;
        assert_eq!(status, 200, "a static segment must win over {{id}}");
        assert_eq!(stats["statistics"]["total_requests"], 2);
        assert_eq!(stats["statistics"]["total_tokens"], 7);
        assert_eq!(stats["statistics"]["avg_duration_ms"], 120.0);
    }

    #[tokio::test]
    async fn errors_are_openai_shaped() {
        let (base, _store) = serve().await;
        for path in [
            "/v1/sessions/nope",
            "/v1/requests/nope",
            "/v1/responses/nope",
            "/v1/requests/r2/response",
            "/v1/sessions/nope/requests",
            "/v1/sessions/nope/stats",
        ] {
            let (status, body) = get(&base, path).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (404, Some("not_found")),
                "{path}"
            );
        }
        for (query, param) in [
            ("limit=abc", "limit"),
            ("offset=-1", "offset"),
            ("since=yesterday", "since"),
        ] {
            let (status, body) = get(&base, &format!("/v1/requests?{query}")).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(body["error"]["type"], "invalid_request_error");
            assert_eq!(body["error"]["param"], param, "{query}: {body}");
        }
    }

    #[tokio::test]
    async fn delete_removes_the_session() {
        let (base, store) = serve().await;
        let client = reqwest::Client::new();
        let response = client
            .delete(format!("{base}/v1/sessions/s1"))
            .send()
            .await
            .expect("delete");
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body,
            json!({"id": "s1", "object": "session.deleted", "deleted": true})
        );
        assert!(store.get_request("r1").await.expect("read").is_none());
        let again = client
            .delete(format!("{base}/v1/sessions/s1"))
            .send()
            .await
            .expect("delete");
        assert_eq!(again.status().as_u16(), 404);
    }
}
