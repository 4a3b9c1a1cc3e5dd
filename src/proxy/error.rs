//! HTTP errors are values: every failure a handler can meet becomes an [`ApiError`], and an
//! `ApiError` renders the OpenAI error shape `{"error": {"message", "type", "param", "code"}}`
//! with a fitting status, or, for the Anthropic Messages API ([`ErrorShape::Anthropic`]),
//! Anthropic's `{"type": "error", "error": {"type", "message"}}` with the same status, so each
//! client's own retry logic sees the error it knows. Handlers never build error responses by
//! hand.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::sse::Failure;
use crate::openai::InvalidRequest;
use crate::qwen::QwenError;
use crate::session::{Refusal, StartError};

/// An OpenAI-shaped error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// OpenAI `type`, e.g. `invalid_request_error`.
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<&'static str>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request_error`, naming the offending parameter when known.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        e.param = param.map(str::to_owned);
        e
    }

    /// 404 for an unknown resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message);
        e.code = Some("not_found");
        e
    }

    /// 404 `model_not_found` for a model name the upstream does not offer.
    pub fn unknown_model(model: &str) -> Self {
        let mut e = Self::not_found(format!(
            "The model `{model}` does not exist; see GET /v1/models"
        ));
        e.param = Some("model".into());
        e.code = Some("model_not_found");
        e
    }

    /// 401 for a missing or wrong API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message);
        e.code = Some("invalid_api_key");
        e
    }

    /// 403 for a caller this server does not answer (a foreign `Host` or `Origin`, a key
    /// without the right), with `code` saying why.
    pub fn forbidden(message: impl Into<String>, code: &'static str) -> Self {
        let mut e = Self::new(StatusCode::FORBIDDEN, "invalid_request_error", message);
        e.code = Some(code);
        e
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        let mut e = Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("request body is larger than the limit of {limit} bytes"),
        );
        e.code = Some("payload_too_large");
        e
    }

    /// 500 for our own failures (the store, a bug). The message is generic on purpose.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }

    /// 503 while the server is shutting down.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message)
    }

    /// The JSON body, also used for in-stream SSE error events.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl From<&QwenError> for ApiError {
    /// The failure table of design.md §3.1, in one place.
    fn from(err: &QwenError) -> Self {
        let message = err.to_string();
        match err {
            QwenError::Auth { .. } | QwenError::Login { .. } => {
                let mut e = Self::new(StatusCode::BAD_GATEWAY, "upstream_error", message);
                e.code = Some("upstream_auth_failed");
                e
            }
            QwenError::RateLimited { retry_after, .. } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message);
                e.code = Some("rate_limited");
                e.retry_after = retry_after.map(|d| d.as_secs().max(1));
                e
            }
            QwenError::Blocked { .. } => {
                let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "upstream_error", message);
                e.code = Some("upstream_blocked");
                e
            }
            QwenError::Timeout(_) => {
                let mut e = Self::new(StatusCode::GATEWAY_TIMEOUT, "upstream_error", message);
                e.code = Some("upstream_timeout");
                e
            }
            QwenError::NotFound { .. }
            | QwenError::Upstream { .. }
            | QwenError::EmptyStream
            | QwenError::Truncated
            | QwenError::Network(_)
            | QwenError::Protocol(_) => {
                let mut e = Self::new(StatusCode::BAD_GATEWAY, "upstream_error", message);
                e.code = Some("upstream_error");
                e
            }
        }
    }
}

impl From<QwenError> for ApiError {
    fn from(err: QwenError) -> Self {
        ApiError::from(&err)
    }
}

impl From<InvalidRequest> for ApiError {
    fn from(invalid: InvalidRequest) -> Self {
        ApiError::bad_request(invalid.message, invalid.param.as_deref())
    }
}

impl From<&StartError> for ApiError {
    fn from(err: &StartError) -> Self {
        match err {
            StartError::Upstream(e) => ApiError::from(e),
            StartError::Refused(Refusal::UnknownModel(model)) => ApiError::unknown_model(model),
        }
    }
}

impl From<Failure<'_>> for ApiError {
    fn from(failure: Failure<'_>) -> Self {
        match failure {
            Failure::Upstream(err) => ApiError::from(err),
            Failure::ShuttingDown => ApiError::unavailable(
                "the server is shutting down and this stream ran past the grace period",
            ),
        }
    }
}

/// Which API's error shape a response takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    OpenAi,
    Anthropic,
}

impl ErrorShape {
    /// Anthropic's for the Messages API, and for any request that says it speaks Anthropic's
    /// API (`anthropic-version`); OpenAI's otherwise.
    pub fn of(path: &str, headers: &HeaderMap) -> ErrorShape {
        if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
            ErrorShape::Anthropic
        } else {
            ErrorShape::OpenAi
        }
    }
}

impl ApiError {
    /// The error as a response in `shape`.
    pub fn shaped(self, shape: ErrorShape) -> Response {
        match shape {
            ErrorShape::OpenAi => self.into_response(),
            ErrorShape::Anthropic => {
                let body = self.anthropic_body();
                self.respond(body)
            }
        }
    }

    /// Anthropic's error body: the type follows the status (`rate_limit_error` for 429,
    /// `overloaded_error` for 503, `api_error` for 502/504, …).
    pub fn anthropic_body(&self) -> serde_json::Value {
        crate::anthropic::error_body(
            crate::anthropic::error_type(self.status.as_u16()),
            &self.message,
        )
    }

    fn respond(self, body: serde_json::Value) -> Response {
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        self.respond(body)
    }
}
