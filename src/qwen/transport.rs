//! The HTTP plumbing under the client: response heads, bounded body reads and reqwest
//! errors mapped to [`QwenError`]s.
//!
//! Kept apart from the endpoint logic in [`super::client`] so that the rules about what we
//! read from a response (never more than a bound, never a header value into an error) sit in
//! one short file.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderName, RETRY_AFTER};

use super::QwenError;
use super::classify::{classify_response, parse_retry_after, short_detail};

/// Status and headers of a response, kept after its body was taken.
pub(crate) struct Head {
    pub status: u16,
    content_type: Option<String>,
    retry_after: Option<Duration>,
}

impl Head {
    pub fn of(response: &reqwest::Response) -> Self {
        let header = |name: HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok());
        Head {
            status: response.status().as_u16(),
            content_type: header(CONTENT_TYPE).map(str::to_ascii_lowercase),
            retry_after: header(RETRY_AFTER).and_then(parse_retry_after),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..=299).contains(&self.status)
    }

    pub fn has_type(&self, fragment: &str) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|ct| ct.contains(fragment))
    }

    pub fn classify(&self, body: &[u8]) -> QwenError {
        classify_response(
            self.status,
            self.content_type.as_deref(),
            self.retry_after,
            body,
        )
    }
}

/// Reads up to `limit` bytes of a body; the rest is not needed to classify or parse it.
pub(crate) async fn read_body(
    response: reqwest::Response,
    limit: usize,
    connect_timeout: Duration,
) -> Result<Vec<u8>, QwenError> {
    let mut chunks = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| transport_error(e, connect_timeout))?;
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    Ok(body)
}

/// Reads a whole body of at most `limit` bytes; a larger one is refused as soon as it
/// passes the limit (and what was read is dropped).
pub(crate) async fn read_whole_body(
    response: reqwest::Response,
    limit: usize,
    connect_timeout: Duration,
) -> Result<Vec<u8>, QwenError> {
    let mut chunks = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| transport_error(e, connect_timeout))?;
        if body.len() + chunk.len() > limit {
            return Err(QwenError::too_large("reply", limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest failure as a [`QwenError`]. reqwest's messages name the URL and the cause chain,
/// never header values; the URL is dropped anyway to keep details short.
pub(crate) fn transport_error(err: reqwest::Error, connect_timeout: Duration) -> QwenError {
    if err.is_timeout() {
        return QwenError::Timeout(connect_timeout);
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    QwenError::Network(short_detail(&text))
}
