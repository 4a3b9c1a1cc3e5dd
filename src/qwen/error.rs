//! Upstream failures, classified once.
//!
//! Every way chat.qwen.ai can fail ends up as one [`QwenError`] variant, decided here and
//! nowhere else: the proxy maps variants to HTTP statuses, the CLI to one line of advice, the
//! store to a status string, the retry loop to "try again or not". Messages never contain
//! secrets: upstream bodies are quoted only as short, sanitised details.

use std::time::Duration;

/// A classified upstream failure.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum QwenError {
    /// 401/403, `unauthorized` and friends: the cookie or token is no longer accepted.
    #[error(
        "Qwen rejected the credentials ({detail}): refresh QWEN_COOKIES (and QWEN_TOKEN) from the browser"
    )]
    Auth { detail: String },
    /// An account logged in by email and password (design.md §12) was refused: its sign-in
    /// (wrong email or password, a locked account), or the token a fresh sign-in had just
    /// given. Names the account, never its password.
    #[error(
        "Qwen refused account `{account}` ({detail}): check its email and password, then run `qwenctl accounts login {account}`"
    )]
    Login { account: String, detail: String },
    /// `RateLimited` / `Too_Many_Requests` / HTTP 429. `retry_after` when the upstream said.
    #[error("Qwen rate limit reached: {detail}")]
    RateLimited {
        detail: String,
        retry_after: Option<Duration>,
    },
    /// The Alibaba WAF / captcha page (HTML or `FAIL_SYS_USER_VALIDATE`).
    #[error("Qwen's bot protection blocked the request ({detail})")]
    Blocked { detail: String },
    /// The upstream does not know the chat or the parent message (`Not_Found`).
    #[error("Qwen does not know this chat or parent message ({detail})")]
    NotFound { detail: String },
    /// 5xx, `Bad_Request` internal errors, other `{"success": false}` bodies and in-stream
    /// error events. `retryable` says whether a new attempt may help.
    #[error("Qwen failed: {detail}")]
    Upstream {
        status: Option<u16>,
        code: Option<String>,
        detail: String,
        retryable: bool,
    },
    /// A stream that carried no answer at all (the "silent block").
    #[error("Qwen returned an empty answer (often a silent bot-protection block)")]
    EmptyStream,
    /// The stream closed before the answer phase finished.
    #[error("the Qwen stream ended before the answer was finished")]
    Truncated,
    /// No response (or no next chunk) within the configured timeout.
    #[error("Qwen did not answer within {}s", .0.as_secs_f64())]
    Timeout(Duration),
    /// Connection refused/reset, DNS, TLS and other transport failures.
    #[error("network error talking to Qwen: {0}")]
    Network(String),
    /// A response we cannot make sense of (bad JSON where JSON was due, wrong content type).
    #[error("unexpected response from Qwen: {0}")]
    Protocol(String),
}

/// The class of a [`QwenError`], for metrics labels, the store and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Auth,
    RateLimited,
    Blocked,
    NotFound,
    Upstream,
    Empty,
    Truncated,
    Timeout,
    Network,
    Protocol,
}

impl ErrorKind {
    /// Stable lower-case name (used as a metrics label and a store status).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Blocked => "blocked",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Empty => "empty",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Protocol => "protocol",
        }
    }
}

impl QwenError {
    /// An upstream `what` (an answer, a reply, one event) larger than `MAX_ANSWER_BYTES`
    /// allows: the upstream's failure, not worth a retry.
    pub fn too_large(what: &str, limit: usize) -> QwenError {
        QwenError::Upstream {
            status: None,
            code: Some("too_large".into()),
            detail: format!(
                "the {what} grew past MAX_ANSWER_BYTES ({limit} bytes); the rest was dropped"
            ),
            retryable: false,
        }
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            QwenError::Auth { .. } | QwenError::Login { .. } => ErrorKind::Auth,
            QwenError::RateLimited { .. } => ErrorKind::RateLimited,
            QwenError::Blocked { .. } => ErrorKind::Blocked,
            QwenError::NotFound { .. } => ErrorKind::NotFound,
            QwenError::Upstream { .. } => ErrorKind::Upstream,
            QwenError::EmptyStream => ErrorKind::Empty,
            QwenError::Truncated => ErrorKind::Truncated,
            QwenError::Timeout(_) => ErrorKind::Timeout,
            QwenError::Network(_) => ErrorKind::Network,
            QwenError::Protocol(_) => ErrorKind::Protocol,
        }
    }

    /// Whether a fresh attempt (before any byte reached our caller) may succeed.
    /// Rate limits are deliberately not retried: retrying them is how storms start.
    pub fn is_retryable(&self) -> bool {
        match self {
            QwenError::Upstream { retryable, .. } => *retryable,
            QwenError::Network(_) | QwenError::Timeout(_) => true,
            _ => false,
        }
    }
}
