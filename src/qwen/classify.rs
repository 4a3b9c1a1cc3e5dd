//! Turning upstream failure shapes into [`QwenError`]s.
//!
//! chat.qwen.ai fails in many costumes: HTTP statuses, `{"success": false}` envelopes (as a
//! whole body or as one SSE `data:` line), `{"error": {...}}` events inside a 200 stream, the
//! Alibaba WAF as an HTML captcha page or as a `FAIL_SYS_USER_VALIDATE` JSON. This module is
//! the single place that maps all of them onto the error classes the rest of the program acts
//! on (see PROTOCOL.md §2.3 and §11, design.md §3.1). Details quoted from upstream bodies are
//! shortened and scrubbed of anything token-like, because they end up in logs and responses.

use std::time::Duration;

use serde_json::Value;

use super::QwenError;
use super::redact::REDACTED;

/// Longest upstream text we quote in an error: enough to recognise the problem, short enough
/// to keep a hostile or huge body out of logs.
const DETAIL_MAX_CHARS: usize = 200;

/// Markers of the Alibaba WAF / captcha pages (PROTOCOL.md §11).
const WAF_MARKERS: &[&str] = &[
    "aliyun_waf_aa",
    "aliyunCaptcha",
    "Access Verification",
    "安全验证",
    "punish",
    "x5sec",
    "awsc",
];

/// Upper bound on a wait we accept from the upstream: absurd `num`/`Retry-After` values must
/// not turn into week-long sleeps or overflow duration arithmetic downstream.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Classifies a whole response that is already known to be a failure or not what was asked
/// for: a non-2xx status, an HTML page, or JSON where an event stream was due.
///
/// `retry_after` is the parsed HTTP `Retry-After` header; it is used when the body itself
/// does not say how long to wait.
pub fn classify_response(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> QwenError {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let is_html = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"))
        || trimmed.starts_with('<');
    if is_html {
        return classify_html(status, trimmed);
    }
    if let Ok(json) = serde_json::from_str::<Value>(trimmed)
        && let Some(err) = classify_json(&json)
    {
        return with_http_context(err, status, retry_after);
    }
    let snippet = short_detail(trimmed);
    let detail = if snippet.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {snippet}")
    };
    match status {
        401 | 403 => QwenError::Auth { detail },
        429 => QwenError::RateLimited {
            detail,
            retry_after,
        },
        404 => QwenError::NotFound { detail },
        200..=299 => QwenError::Protocol(detail),
        _ => QwenError::Upstream {
            status: Some(status),
            code: None,
            detail,
            // 408/425 are "try again" by definition; 5xx are the upstream's own hiccups.
            retryable: matches!(status, 408 | 425 | 500..=599),
        },
    }
}

/// Classifies a failed sign-in: a 400, 401 or 403 (the upstream answers a wrong email or
/// password with a 400 and a `detail`) is a refusal ([`QwenError::Auth`], which the account
/// pool turns into [`QwenError::Login`] naming the account); anything else (a WAF page, a
/// rate limit, a 5xx) is classified like any other reply.
pub(crate) fn classify_signin(head: &super::transport::Head, body: &[u8]) -> QwenError {
    let text = String::from_utf8_lossy(body);
    let html = head.has_type("text/html") || text.trim_start().starts_with('<');
    if matches!(head.status, 400 | 401 | 403) && !html {
        let detail = serde_json::from_str::<Value>(text.trim())
            .ok()
            .and_then(|v| {
                ["/detail", "/message", "/data/details", "/data/code"]
                    .iter()
                    .find_map(|p| v.pointer(p).and_then(Value::as_str).map(short_detail))
            })
            .unwrap_or_else(|| format!("HTTP {}", head.status));
        return QwenError::Auth { detail };
    }
    head.classify(body)
}

/// Classifies one JSON value (a whole body or one SSE event): `Some` when it is a failure
/// shape, `None` for anything else (including ordinary stream events).
pub fn classify_json(value: &Value) -> Option<QwenError> {
    if let Some(marker) = waf_json_marker(value) {
        return Some(QwenError::Blocked {
            detail: format!("anti-bot check ({marker})"),
        });
    }
    match value.get("error") {
        Some(Value::Object(err)) => {
            let code = code_text(err.get("code"));
            let details = err
                .get("details")
                .or_else(|| err.get("message"))
                .and_then(Value::as_str)
                .filter(|d| !d.trim().is_empty());
            // An empty placeholder (`{}` or blank fields) is not a failure report.
            if code.is_some() || details.is_some() {
                return Some(classify_code(code.as_deref(), details, None));
            }
        }
        Some(Value::String(code)) if !code.is_empty() => {
            return Some(classify_code(Some(code), None, None));
        }
        _ => {}
    }
    if value.get("success").and_then(Value::as_bool) == Some(false) {
        let data = value.get("data");
        let field = |name: &str| data.and_then(|d| d.get(name));
        let code = code_text(field("code"));
        let details = field("details")
            .or_else(|| field("message"))
            .or_else(|| value.get("message"))
            .and_then(Value::as_str);
        return Some(classify_code(code.as_deref(), details, field("num")));
    }
    None
}

/// Maps an upstream error code (from an envelope or an in-stream error event) to a class.
/// `num` is the `RateLimited` wait in hours, when given.
pub fn classify_code(code: Option<&str>, details: Option<&str>, num: Option<&Value>) -> QwenError {
    let code_lc = code.unwrap_or_default().trim().to_ascii_lowercase();
    let detail = match (code, details) {
        (Some(c), Some(d)) if !d.trim().is_empty() => short_detail(&format!("{c}: {d}")),
        (Some(c), _) => short_detail(c),
        (None, Some(d)) => short_detail(d),
        (None, None) => "unspecified upstream error".to_owned(),
    };
    match code_lc.as_str() {
        "unauthorized" | "invalid token" | "invalid_token" | "forbidden" | "401" | "403" => {
            QwenError::Auth { detail }
        }
        "ratelimited" | "too_many_requests" | "quotalimited" | "429" => QwenError::RateLimited {
            detail,
            retry_after: num.and_then(hours_to_duration),
        },
        "not_found" | "404" => QwenError::NotFound { detail },
        _ => {
            let retryable = match code_lc.as_str() {
                // Only the "internal error" flavour of Bad_Request is a transient upstream
                // hiccup; a real bad request fails the same way every time.
                "bad_request" => {
                    details.is_some_and(|d| d.to_ascii_lowercase().contains("internal"))
                }
                "internal_server_error" | "server_busy" => true,
                other => other.parse::<u16>().is_ok_and(|n| (500..=599).contains(&n)),
            };
            QwenError::Upstream {
                status: None,
                code: code.map(short_detail),
                detail,
                retryable,
            }
        }
    }
}

/// Parses an HTTP `Retry-After` value. Only the delta-seconds form is honoured; the date form
/// is rare for APIs and would need a date parser for little gain.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs = value.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Shortens upstream text for an error detail: one line, at most [`DETAIL_MAX_CHARS`]
/// characters, and anything that looks like a JWT replaced (also inside a word, as in
/// `token=eyJ…`), in case a body echoes credentials that are not configured here. The
/// configured ones are replaced by [`super::redact`] on the way out.
pub fn short_detail(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        push_without_jwts(&mut out, word);
    }
    match out.char_indices().nth(DETAIL_MAX_CHARS) {
        Some((cut, _)) => {
            out.truncate(cut);
            out.push('…');
            out
        }
        None => out,
    }
}

/// Appends `word` without control characters, each JWT-looking run (`eyJ` at the start of
/// the word or after a non-alphanumeric character, up to the end of its base64url-and-dots
/// alphabet) replaced.
fn push_without_jwts(out: &mut String, word: &str) {
    let jwt_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut rest = word;
    let mut after_alnum = false;
    while !rest.is_empty() {
        if !after_alnum && rest.starts_with("eyJ") {
            out.push_str(REDACTED);
            let end = rest.find(|c: char| !jwt_char(c)).unwrap_or(rest.len());
            rest = &rest[end..];
            after_alnum = true;
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        if !c.is_control() {
            out.push(c);
        }
        after_alnum = c.is_alphanumeric();
        rest = &rest[c.len_utf8()..];
    }
}

fn classify_html(status: u16, text: &str) -> QwenError {
    if let Some(marker) = WAF_MARKERS.iter().find(|m| text.contains(**m)) {
        return QwenError::Blocked {
            detail: format!("captcha page, HTTP {status}, marker `{marker}`"),
        };
    }
    // A marker-less HTML page with a 5xx status is a gateway error page (nginx, CDN), not a
    // block: treat it like any other 5xx so the retry loop gets a chance.
    if (500..=599).contains(&status) {
        return QwenError::Upstream {
            status: Some(status),
            code: None,
            detail: format!("HTTP {status} with an HTML error page"),
            retryable: true,
        };
    }
    QwenError::Blocked {
        detail: format!("HTML page instead of an API response, HTTP {status}"),
    }
}

/// Fills in what only the HTTP layer knows: the status of an `Upstream` error and the
/// `Retry-After` wait when the body gave none.
fn with_http_context(err: QwenError, status: u16, retry_after: Option<Duration>) -> QwenError {
    match err {
        QwenError::Upstream {
            status: None,
            code,
            detail,
            retryable,
        } => QwenError::Upstream {
            status: Some(status),
            code,
            detail,
            retryable: retryable || (500..=599).contains(&status),
        },
        QwenError::RateLimited {
            detail,
            retry_after: None,
        } => QwenError::RateLimited {
            detail,
            retry_after,
        },
        other => other,
    }
}

/// The WAF's JSON forms: `{"ret": ["FAIL_SYS_USER_VALIDATE", ...]}`, a `requestInfo`
/// object (DanyAPI) and the `rgv587_flag` punish reply.
fn waf_json_marker(value: &Value) -> Option<&'static str> {
    let ret_fails = match value.get("ret") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|s| s.contains("FAIL_SYS_USER_VALIDATE")),
        Some(Value::String(s)) => s.contains("FAIL_SYS_USER_VALIDATE"),
        _ => false,
    };
    if ret_fails {
        return Some("FAIL_SYS_USER_VALIDATE");
    }
    let in_data = |key: &str| value.get("data").is_some_and(|d| d.get(key).is_some());
    if value.get("requestInfo").is_some() || in_data("requestInfo") {
        return Some("requestInfo");
    }
    if value.get("rgv587_flag").is_some() {
        return Some("rgv587_flag");
    }
    None
}

fn code_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hours_to_duration(num: &Value) -> Option<Duration> {
    let hours = match num {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !hours.is_finite() || hours <= 0.0 {
        return None;
    }
    let max_hours = MAX_RETRY_AFTER.as_secs_f64() / 3600.0;
    Some(Duration::from_secs_f64(hours.min(max_hours) * 3600.0))
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
