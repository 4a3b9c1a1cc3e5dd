//! Browser clients (design.md §13): the CORS headers that let a page on an origin listed in
//! `CORS_ORIGINS` call `serve` (Open WebUI's direct connections, TypingMind, NextChat, the
//! official SDKs with `dangerouslyAllowBrowser`).
//!
//! One middleware, the outermost layer of the router, so every route gets the same answer,
//! the 404/405 fallbacks included, and so a preflight is answered before anything else looks
//! at it: a browser never sends the API key with a preflight, so the key check would refuse
//! it. A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
//! allowed origin gets a 204 naming that origin, the methods, the request headers it asked
//! for and how long to cache the answer; it reaches no handler, so it can neither spend the
//! upstream nor read the store. Every other response to an allowed origin (errors, 401s and
//! streams too, so a page can read why it failed) names the origin, says `Vary: Origin` and
//! exposes `Retry-After` and `x-request-id`; the real request still needs its key.
//!
//! A request from any other origin, or without one, passes untouched: no CORS header at all,
//! so the browser keeps the response from the page. With `CORS_ORIGINS` empty the layer
//! does nothing (an `OPTIONS` is the router's 405, as before).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The methods `serve`'s routes answer.
const ALLOW_METHODS: &str = "GET, HEAD, POST, DELETE, OPTIONS";
/// What a page may read of a response besides the CORS-safelisted headers.
const EXPOSE_HEADERS: &str = "retry-after, x-request-id";
/// How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 2 h).
const MAX_AGE: &str = "7200";
/// What a preflight answer varies by.
const PREFLIGHT_VARY: &str =
    "origin, access-control-request-method, access-control-request-headers";
/// At most this many request headers are echoed from one preflight.
const MAX_REQUEST_HEADERS: usize = 64;

/// The middleware: preflights from allowed origins answered here, every response to an
/// allowed origin given its CORS headers, everything else untouched.
pub async fn cors(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let origins = &state.settings.cors;
    if origins.is_empty() {
        return next.run(req).await;
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.to_str().is_ok_and(|o| origins.allows(o)))
        .cloned()
    else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(origin, req.headers());
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    response
}

/// The 204 answering a preflight from `origin`.
fn preflight(origin: HeaderValue, request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    if let Some(asked) = requested_headers(request) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    headers.insert(header::VARY, HeaderValue::from_static(PREFLIGHT_VARY));
    response
}

/// The headers a preflight asks for (`Access-Control-Request-Headers`), each checked to be a
/// header name (an HTTP token), lower case, comma-separated; `None` when it asks for none
/// that is one. Whatever the page will send with its key is allowed: the key is what
/// protects the API, not the header names.
fn requested_headers(request: &HeaderMap) -> Option<HeaderValue> {
    let names: Vec<String> = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .map(|name| name.as_str().to_owned())
        .take(MAX_REQUEST_HEADERS)
        .collect();
    if names.is_empty() {
        return None;
    }
    HeaderValue::from_str(&names.join(", ")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(values: &[&str]) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        requested_headers(&h).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn requested_headers_are_echoed_when_they_are_header_names() {
        assert_eq!(
            asked(&["Authorization, content-type,x-api-key", "anthropic-version"]).as_deref(),
            Some("authorization, content-type, x-api-key, anthropic-version")
        );
        assert_eq!(
            asked(&["x-stainless-os, x-stainless-retry-count"]).as_deref(),
            Some("x-stainless-os, x-stainless-retry-count")
        );
        // Not tokens: dropped, so the browser refuses to send them.
        assert_eq!(asked(&["bad header, x(y), ok", "é"]).as_deref(), Some("ok"));
        assert_eq!(asked(&[" , "]), None);
        assert_eq!(asked(&[]), None);
    }
}
