//! Operations routes: `/health`, `/metrics`, and the JSON 404/405 fallbacks.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::middleware::Scope;
use super::{ApiError, AppState, UpstreamHealth, metrics};

/// `GET /health`: always 200 while the process serves; `status` says how healthy.
pub async fn health(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let auth = match state.upstream_health() {
        UpstreamHealth::Unknown => "unknown",
        UpstreamHealth::Ok => "ok",
        UpstreamHealth::AuthFailed => "failed",
        UpstreamHealth::Failing => "degraded",
    };
    let store = state.engine.archive();
    // `degraded: <reason>` while writes fail (a full disk, a read-only file…): answers go
    // on, but nothing is recorded until a write succeeds again.
    let database = match store.ping().await {
        Ok(()) => match store.degraded() {
            None => "ok".to_owned(),
            Some(incident) => format!("degraded: {}", incident.reason),
        },
        // A PostgreSQL server that went away is an incident too (answers go on, unrecorded,
        // until it is back), not a failure of the process.
        Err(err) => match store.degraded() {
            Some(incident) => format!("degraded: {}", incident.reason),
            None => {
                tracing::warn!("health: database check failed: {err}");
                "failed".to_owned()
            }
        },
    };
    let accounts = state.engine.accounts().health();
    // With several accounts, one failing account is not the service failing.
    let all_failed = !accounts.is_empty() && accounts.iter().all(|a| a.status == "auth_failed");
    let auth = if all_failed { "failed" } else { auth };
    let status = if database == "ok" && auth != "failed" {
        "healthy"
    } else {
        "degraded"
    };
    let rss = metrics::resident_memory_bytes().unwrap_or(0);
    Json(json!({
        "status": status,
        "timestamp": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        "uptime": state.started.elapsed().as_secs(),
        "checks": {
            "authentication": auth,
            "accounts": accounts,
            "database": database,
            "persistence": state.settings.persistence,
        },
        "metrics": {
            "activeSessions": state.active_sessions().await,
            "memoryUsage": {"rss": rss},
        },
    }))
}

/// `GET /metrics`: Prometheus text; only for admin keys when ADMIN_API_KEYS is set.
pub async fn metrics(State(state): State<Arc<AppState>>, scope: Scope) -> Response {
    if state.settings.has_admin_keys() && !scope.is_all() {
        return ApiError::forbidden(
            "/metrics is for admin keys (ADMIN_API_KEYS) only.",
            "admin_key_required",
        )
        .into_response();
    }
    metrics::gauge_active_sessions(state.active_sessions().await);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(),
    )
        .into_response()
}

/// `GET /` and `GET /api/hello` (and their `HEAD`s): who answers here. Claude Code opens its
/// connection with `HEAD /api/hello` (`HEAD /` in older releases) and logs anything but a
/// success as an error.
pub async fn root() -> impl IntoResponse {
    Json(json!({"service": "qwenctl", "version": env!("CARGO_PKG_VERSION")}))
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("Unknown request URL: {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let mut e = ApiError::bad_request(
        format!("Method {method} is not allowed for {}", uri.path()),
        None,
    );
    e.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    e
}
