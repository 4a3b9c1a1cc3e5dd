//! The data endpoints of design.md §3.3: read-only views of the store, plus deleting a
//! session.
//!
//! Handlers only translate HTTP to store calls: the query string becomes a [`ListQuery`]
//! (invalid values are an OpenAI-shaped 400, never axum's plain-text rejection), lists come
//! back in OpenAI's `{"object": "list", "data": …}` envelope with `has_more` found by asking
//! the store for one row more than the page, an unknown id is a 404, and a store failure is
//! logged here and shown to the client only as a generic 500.
//!
//! Tenancy: a request's [`Scope`] decides what it sees. A key that is not an admin key sees
//! only the sessions it owns (those its first request opened) and the requests and responses
//! recorded under its name: lists and statistics are narrowed to it, and another key's id is
//! a 404 like an unknown one, so ids do not even leak whether they exist. Admin keys, and
//! every caller of a `serve` without keys, see everything (and may filter by `api_key_id`).

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ApiError;
use super::middleware::Scope;
use crate::store::{self, ListQuery, Store};

/// The routes, with the store as their state.
pub fn router(store: Store) -> Router {
    // axum prefers static segments, so `/v1/responses/stats` is never taken for an id.
    Router::new()
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/sessions/{id}/stats", get(session_stats))
        .route("/v1/sessions/{id}/requests", get(session_requests))
        .route("/v1/sessions/{id}/export", get(export_session))
        .route("/v1/requests", get(list_requests))
        .route("/v1/requests/{id}", get(get_request))
        .route("/v1/requests/{id}/response", get(request_response))
        .route("/v1/responses", get(list_responses))
        .route("/v1/responses/stats", get(response_stats))
        // `GET /v1/responses/{id}` is routed by `responses::retrieve`, which answers this
        // API's record for ids that are not the Responses API's (`resp_…`).
        .with_state(store)
}

/// Every query parameter the data endpoints read, for naming the bad one in a 400.
const PARAMS: &[&str] = &[
    "limit",
    "offset",
    "session_id",
    "model",
    "api_key_id",
    "since",
    "until",
    "q",
    "group_by",
];

/// The query string as `T`, or an OpenAI-shaped 400 naming the parameter.
async fn query<T, S>(parts: &mut Parts, state: &S) -> Result<T, ApiError>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    match Query::<T>::from_request_parts(parts, state).await {
        Ok(Query(q)) => Ok(q),
        Err(rejection) => {
            let text = rejection.body_text();
            let detail = text
                .strip_prefix("Failed to deserialize query string: ")
                .unwrap_or(&text);
            // axum reports the failing field first (`limit: invalid digit …`).
            let param = detail
                .split_once(": ")
                .map(|(field, _)| field)
                .and_then(|f| PARAMS.iter().copied().find(|p| *p == f));
            Err(ApiError::bad_request(
                format!("Invalid query parameters: {detail}"),
                param,
            ))
        }
    }
}

/// The query string as a [`ListQuery`] with its limit clamped, or a 400.
struct Filter(ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for Filter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        query::<ListQuery, S>(parts, state)
            .await
            .map(|q| Filter(q.clamped()))
    }
}

/// `?q=`: the words a session list is searched for (blank: no search).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Search {
    q: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Search {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        query(parts, state).await
    }
}

/// `?group_by=` of the statistics.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Grouping {
    group_by: Option<store::GroupBy>,
}

impl<S: Send + Sync> FromRequestParts<S> for Grouping {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        query(parts, state).await
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

/// The session `id` when it exists and the caller may see it.
async fn own_session(
    store: &Store,
    scope: &Scope,
    id: &str,
) -> Result<Option<store::SessionSummary>, ApiError> {
    let session = store.get_session(id).await.map_err(internal)?;
    Ok(session.filter(|s| scope.sees(s.api_key_id.as_deref())))
}

/// The request `id` when it exists and the caller may see it.
async fn own_request(
    store: &Store,
    scope: &Scope,
    id: &str,
) -> Result<Option<store::RequestDetail>, ApiError> {
    let request = store.get_request(id).await.map_err(internal)?;
    Ok(request.filter(|r| scope.sees(r.summary.api_key_id.as_deref())))
}

fn no_session(id: &str) -> ApiError {
    ApiError::not_found(format!("No session found with id '{id}'"))
}

/// The sessions, or with `q` those whose messages or answers hold its words, each with a
/// `snippet` of where (segments of plain text, matched words flagged).
async fn list_sessions(
    State(store): State<Store>,
    scope: Scope,
    Filter(q): Filter,
    search: Search,
) -> Result<Response, ApiError> {
    let q = scope.narrow(q);
    match search.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            let rows = store
                .search_sessions(text, &probe(&q))
                .await
                .map_err(internal)?;
            Ok(page(&q, rows).into_response())
        }
        None => {
            let rows = store.list_sessions(&probe(&q)).await.map_err(internal)?;
            Ok(page(&q, rows).into_response())
        }
    }
}

async fn get_session(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<store::SessionSummary> {
    found(own_session(&store, &scope, &id).await?, "session", &id)
}

async fn session_stats(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<store::SessionStats> {
    if own_session(&store, &scope, &id).await?.is_none() {
        return Err(no_session(&id));
    }
    found(
        store.session_stats(&id).await.map_err(internal)?,
        "session",
        &id,
    )
}

async fn delete_session(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<Value> {
    if own_session(&store, &scope, &id).await?.is_none()
        || !store.delete_session(&id).await.map_err(internal)?
    {
        return Err(no_session(&id));
    }
    Ok(Json(
        json!({"id": id, "object": "session.deleted", "deleted": true}),
    ))
}

async fn session_requests(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
    Filter(q): Filter,
) -> Reply<Page<store::RequestSummary>> {
    if own_session(&store, &scope, &id).await?.is_none() {
        return Err(no_session(&id));
    }
    let q = scope.narrow(ListQuery {
        session_id: Some(id),
        ..q
    });
    let rows = store.list_requests(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn list_requests(
    State(store): State<Store>,
    scope: Scope,
    Filter(q): Filter,
) -> Reply<Page<store::RequestSummary>> {
    let q = scope.narrow(q);
    let rows = store.list_requests(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

async fn get_request(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<store::RequestDetail> {
    found(own_request(&store, &scope, &id).await?, "request", &id)
}

async fn request_response(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<store::ResponseRow> {
    if own_request(&store, &scope, &id).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "No request found with id '{id}'"
        )));
    }
    match store.response_for_request(&id).await.map_err(internal)? {
        Some(row) => Ok(Json(row)),
        None => Err(ApiError::not_found(format!(
            "No response is recorded for request '{id}'"
        ))),
    }
}

async fn list_responses(
    State(store): State<Store>,
    scope: Scope,
    Filter(q): Filter,
) -> Reply<Page<store::ResponseRow>> {
    let q = scope.narrow(q);
    let rows = store.list_responses(&probe(&q)).await.map_err(internal)?;
    Ok(page(&q, rows))
}

/// Totals over the requests matching the filters, their errors by class and, with
/// `group_by=hour|day|model`, the same figures per group with timing percentiles.
async fn response_stats(
    State(store): State<Store>,
    scope: Scope,
    Filter(q): Filter,
    Grouping { group_by }: Grouping,
) -> Reply<Value> {
    let q = scope.narrow(q);
    let statistics = store.response_stats(&q).await.map_err(internal)?;
    let report = store.usage_report(&q, group_by).await.map_err(internal)?;
    let mut body = json!({
        "statistics": statistics,
        "errors_by_class": report.errors_by_kind(),
    });
    if group_by.is_some() {
        body["groups"] = json!(report.groups);
    }
    Ok(Json(body))
}

pub(super) async fn get_response(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
) -> Reply<store::ResponseRow> {
    let row = store.get_response(&id).await.map_err(internal)?;
    found(
        row.filter(|r| scope.sees(r.api_key_id.as_deref())),
        "response",
        &id,
    )
}

/// `format` of the export route.
#[derive(serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// `GET /v1/sessions/{id}/export?format=markdown|json`: the session as `qwenctl sessions
/// export ID` writes it (the same engine, so both always agree), as a download.
async fn export_session(
    State(store): State<Store>,
    scope: Scope,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use crate::export::{Format, Selection};
    use axum::http::header;
    use axum::response::IntoResponse;

    let format = match query {
        Ok(Query(q)) => q.format,
        Err(rejection) => {
            return Err(ApiError::bad_request(
                format!("Invalid query parameters: {}", rejection.body_text()),
                Some("format"),
            ));
        }
    };
    let (format, content_type, ext) = match format.as_deref().unwrap_or("json") {
        "json" => (Format::Json, "application/json", "json"),
        "markdown" | "md" => (Format::Markdown, "text/markdown; charset=utf-8", "md"),
        other => {
            return Err(ApiError::bad_request(
                format!("Unknown export format '{other}': use 'json' or 'markdown'."),
                Some("format"),
            ));
        }
    };
    if own_session(&store, &scope, &id).await?.is_none() {
        return Err(no_session(&id));
    }
    let mut body = Vec::new();
    let written = crate::export::write_sessions(
        &store,
        &Selection::Ids(vec![id.clone()]),
        format,
        &mut body,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .map_err(|err| {
        tracing::error!(error = %err, "data endpoint: export failed");
        ApiError::internal("The request could not be served because of a database error.")
    })?;
    if written == 0 {
        // Deleted between the check and the read.
        return Err(no_session(&id));
    }
    // Session ids are uuids; anything else is left out of the file name.
    let stem: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let disposition = format!("attachment; filename=\"session-{stem}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
