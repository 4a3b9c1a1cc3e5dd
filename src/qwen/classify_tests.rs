//! The failure shapes of PROTOCOL.md §2.3 and §11, from the recorded fixtures, and the
//! scrubbing of quoted details.

use super::*;
use crate::qwen::ErrorKind;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/crates/qwen-fake/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn rate_limited_json_body_waits_num_hours() {
    let body = fixture("error-ratelimited.json");
    let err = classify_response(200, Some("application/json"), None, &body);
    assert_eq!(
        err,
        QwenError::RateLimited {
            detail: "RateLimited: You have reached the usage limit for this feature".into(),
            retry_after: Some(Duration::from_secs(2 * 3600)),
        }
    );
    assert!(!err.is_retryable());
}

#[test]
fn retry_after_header_is_used_when_the_body_says_nothing() {
    let err = classify_response(429, None, parse_retry_after(" 30 "), b"slow down");
    assert_eq!(
        err,
        QwenError::RateLimited {
            detail: "HTTP 429: slow down".into(),
            retry_after: Some(Duration::from_secs(30)),
        }
    );
}

#[test]
fn bad_request_internal_is_retryable() {
    let body = fixture("error-bad-request.json");
    let err = classify_response(200, Some("application/json"), None, &body);
    assert!(matches!(
        &err,
        QwenError::Upstream { code: Some(c), retryable: true, .. } if c == "Bad_Request"
    ));
    let plain = classify_code(Some("Bad_Request"), Some("missing field model"), None);
    assert!(!plain.is_retryable());
}

#[test]
fn waf_json_and_html_are_blocked() {
    let json = fixture("waf-fail-sys-user-validate.json");
    let err = classify_response(200, Some("application/json"), None, &json);
    assert_eq!(err.kind(), ErrorKind::Blocked);

    let html = fixture("waf-captcha.html");
    for status in [200, 403] {
        let err = classify_response(status, Some("text/html; charset=utf-8"), None, &html);
        assert_eq!(err.kind(), ErrorKind::Blocked, "status {status}");
    }
    // Sniffed even when mislabelled.
    let err = classify_response(200, Some("text/event-stream"), None, &html);
    assert_eq!(err.kind(), ErrorKind::Blocked);

    let request_info = br#"{"requestInfo":{"id":"x"},"data":null}"#;
    assert_eq!(
        classify_response(200, None, None, request_info).kind(),
        ErrorKind::Blocked
    );
}

#[test]
fn plain_401_and_403_are_auth() {
    for status in [401, 403] {
        let err = classify_response(status, Some("text/plain"), None, b"unauthorized");
        assert_eq!(err.kind(), ErrorKind::Auth, "status {status}");
    }
}

#[test]
fn statuses_5xx_are_retryable_upstream_errors() {
    let err = classify_response(503, Some("text/plain"), None, b"Service Unavailable");
    assert!(matches!(
        err,
        QwenError::Upstream {
            status: Some(503),
            retryable: true,
            ..
        }
    ));
    let gateway = classify_response(502, Some("text/html"), None, b"<html>Bad Gateway</html>");
    assert!(gateway.is_retryable());
}

#[test]
fn codes_map_to_classes() {
    let cases = [
        ("unauthorized", ErrorKind::Auth),
        ("Unauthorized", ErrorKind::Auth),
        ("Invalid token", ErrorKind::Auth),
        ("Forbidden", ErrorKind::Auth),
        ("401", ErrorKind::Auth),
        ("Too_Many_Requests", ErrorKind::RateLimited),
        ("quotaLimited", ErrorKind::RateLimited),
        ("Not_Found", ErrorKind::NotFound),
        ("ContextLengthExceeded", ErrorKind::Upstream),
    ];
    for (code, kind) in cases {
        assert_eq!(classify_code(Some(code), None, None).kind(), kind, "{code}");
    }
    for code in ["Internal_Server_Error", "Server_Busy", "502"] {
        assert!(
            classify_code(Some(code), None, None).is_retryable(),
            "{code}"
        );
    }
    assert!(!classify_code(Some("ContextLengthExceeded"), None, None).is_retryable());
}

#[test]
fn in_stream_error_events_and_plain_events() {
    let event: Value = serde_json::json!({
        "error": {"code": 401, "details": "token expired"}, "response_id": "r"
    });
    assert_eq!(
        classify_json(&event).map(|e| e.kind()),
        Some(ErrorKind::Auth)
    );
    let delta: Value = serde_json::json!({
        "choices": [{"delta": {"content": "requestInfo FAIL_SYS_USER_VALIDATE", "phase": "answer"}}]
    });
    assert_eq!(classify_json(&delta), None);
    for placeholder in [
        serde_json::json!({"error": null}),
        serde_json::json!({"error": {}}),
        serde_json::json!({"error": {"code": "", "details": " "}}),
    ] {
        assert_eq!(classify_json(&placeholder), None, "{placeholder}");
    }
}

#[test]
fn details_are_short_and_scrubbed() {
    let long = "x".repeat(1000);
    assert!(short_detail(&long).chars().count() <= DETAIL_MAX_CHARS + 1);
    let leaked = short_detail("bad token \"eyJhbGciOiJIUzI1NiJ9.e30.sig\"\nplease\tretry");
    assert_eq!(leaked, "bad token \"<redacted>\" please retry");
    let echoed = short_detail("you sent cookie=a=b; token=eyJhbGci.e30.sig; x=1 keyJust eyJx");
    assert_eq!(
        echoed,
        "you sent cookie=a=b; token=<redacted>; x=1 keyJust <redacted>"
    );
    assert_eq!(hours_to_duration(&serde_json::json!(-1)), None);
    assert_eq!(
        hours_to_duration(&serde_json::json!(1e300)),
        Some(MAX_RETRY_AFTER)
    );
}
