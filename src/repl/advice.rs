//! One line per upstream failure, saying what happened and what to do about it.
//!
//! [`QwenError`]'s own messages describe the failure for logs and API clients; a person at a
//! terminal also needs the fix (which variable to refresh, what to open in a browser, how
//! long to wait), so the chat words them here, once, for the REPL and one-shot alike.

use std::time::Duration;

use crate::qwen::QwenError;

/// The advice for `err`, one line, without the `qwenctl: error:` prefix.
pub fn explain(err: &QwenError) -> String {
    match err {
        QwenError::Auth { .. } => "Qwen rejected the credentials: refresh QWEN_COOKIES (and \
             QWEN_TOKEN) from the browser, then check with `qwenctl validate-config --online`"
            .to_owned(),
        QwenError::Login { account, .. } => format!(
            "Qwen refused account `{account}`: check its email and password, then run \
             `qwenctl accounts login {account}`"
        ),
        QwenError::RateLimited { retry_after, .. } => match retry_after {
            Some(wait) => format!(
                "Qwen's rate limit was reached: wait {} and try again",
                human(*wait)
            ),
            None => "Qwen's rate limit was reached: wait a minute or two and try again".to_owned(),
        },
        QwenError::Blocked { .. } => BLOCKED.to_owned(),
        QwenError::EmptyStream => format!(
            "Qwen returned an empty answer, usually a silent bot-protection block: try again; \
             if it persists, {}",
            BROWSER_FIX
        ),
        QwenError::Timeout(limit) => format!(
            "Qwen did not answer within {}: try again later, or raise QWEN_FIRST_BYTE_TIMEOUT \
             / QWEN_IDLE_TIMEOUT (ms)",
            human(*limit)
        ),
        QwenError::Network(detail) => {
            format!("cannot reach Qwen ({detail}): check the network connection and QWEN_BASE_URL")
        }
        QwenError::Truncated => {
            "the connection to Qwen broke before the answer was finished: try again".to_owned()
        }
        QwenError::NotFound { detail } => format!(
            "Qwen no longer knows this conversation ({detail}): start a new one (`/new`, or \
             without --resume)"
        ),
        QwenError::Upstream { detail, .. } => {
            format!("Qwen failed ({detail}): try again in a moment")
        }
        QwenError::Protocol(detail) => format!(
            "unexpected response from Qwen ({detail}): the web API may have changed; check \
             QWEN_BX_V and QWEN_WEB_VERSION against the browser, or update qwenctl"
        ),
    }
}

const BROWSER_FIX: &str = "open https://chat.qwen.ai in a browser, solve the check, and copy \
                           fresh cookies into QWEN_COOKIES";

const BLOCKED: &str = "Qwen's bot protection blocked the request: open https://chat.qwen.ai \
                       in a browser, solve the check, and copy fresh cookies into QWEN_COOKIES";

/// `90s` → `1m 30s`, rounded to whole seconds (at least `1s`).
fn human(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_gets_one_line_with_a_fix() {
        let errors = [
            QwenError::Auth {
                detail: "401".into(),
            },
            QwenError::RateLimited {
                detail: "x".into(),
                retry_after: Some(Duration::from_secs(90)),
            },
            QwenError::RateLimited {
                detail: "x".into(),
                retry_after: None,
            },
            QwenError::Blocked {
                detail: "waf".into(),
            },
            QwenError::EmptyStream,
            QwenError::Timeout(Duration::from_millis(3000)),
            QwenError::Network("connection refused".into()),
            QwenError::Truncated,
            QwenError::NotFound {
                detail: "chat".into(),
            },
            QwenError::Upstream {
                status: Some(500),
                code: None,
                detail: "boom".into(),
                retryable: true,
            },
            QwenError::Protocol("bad json".into()),
        ];
        for err in &errors {
            let line = explain(err);
            assert!(!line.contains('\n'), "{line}");
            assert!(line.contains(':'), "no fix in {line}");
        }
        assert!(explain(&errors[0]).contains("QWEN_COOKIES"));
        assert!(explain(&errors[0]).contains("validate-config --online"));
        assert!(explain(&errors[1]).contains("1m 30s"));
        assert!(explain(&errors[3]).contains("chat.qwen.ai"));
        assert!(explain(&errors[5]).contains("3s"));
    }
}
