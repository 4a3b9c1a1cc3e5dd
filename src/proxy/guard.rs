//! Who may drive a keyless `serve`: without API keys, any web page the user opens could
//! otherwise spend their Qwen account through it or read and delete the archive. Two checks
//! stop that, before a request reaches a handler (and so the upstream or the store):
//!
//! - **DNS rebinding**: a page on `evil.example.com` whose name then resolves to 127.0.0.1
//!   reaches `serve` with `Host: evil.example.com`. Only loopback names (`localhost`,
//!   `127.0.0.1`, `[::1]`, any port), the bind address (any IP literal when bound to
//!   `0.0.0.0`/`::`: a rebinding page can only send a name) and the names in
//!   `ALLOWED_HOSTS` are answered. A request without `Host` (HTTP/1.0 health checks) comes
//!   from no browser and passes.
//! - **Cross-site requests (CSRF)**: browsers send `Origin` with every cross-site POST,
//!   whatever its content type, so a `text/plain` form post that needs no preflight is
//!   still recognisable. A request whose `Origin` is neither `serve`'s own (same host and
//!   port as its `Host`: the web console) nor allowed by `CORS_ORIGINS` is refused. Requests
//!   without `Origin` (curl, SDKs, scripts) are not browsers' and pass.
//!
//! Both refusals are 403 in the error shape of the API the request speaks. With API keys set
//! neither check runs: a page cannot know the key, which stops both attacks.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState, ErrorShape};
use crate::config::{Config, HostList, OriginList, split_host_port};

/// The hosts and origins a keyless `serve` accepts.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// `ALLOWED_HOSTS`.
    hosts: HostList,
    /// `CORS_ORIGINS`.
    origins: OriginList,
    /// `HOST`, the address `serve` binds, when it is an IP address.
    bind: Option<IpAddr>,
}

impl Access {
    pub fn from_config(config: &Config) -> Access {
        Access {
            hosts: config.allowed_hosts.clone(),
            origins: config.cors_origins.clone(),
            bind: config.host.parse().ok(),
        }
    }

    /// Whether a `Host` of `host` (lower case, no brackets) on `port` names this server.
    fn host_allowed(&self, host: &str, port: Option<u16>) -> bool {
        if host == "localhost" {
            return true;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            let ip = ip.to_canonical();
            if ip.is_loopback() || self.bind == Some(ip) {
                return true;
            }
            if self.bind.is_some_and(|b| b.is_unspecified()) {
                return true;
            }
        }
        self.hosts.allows(host, port)
    }

    /// `Ok` when the request may be served; the 403 otherwise.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = match headers.get(header::HOST) {
            None => None,
            Some(value) => {
                let parsed = value.to_str().ok().and_then(split_host_port);
                match parsed {
                    Some((name, port)) if self.host_allowed(&name, port) => Some((name, port)),
                    _ => return Err(host_refused(&String::from_utf8_lossy(value.as_bytes()))),
                }
            }
        };
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin_text = String::from_utf8_lossy(origin.as_bytes());
        if self.origins.allows(&origin_text) || same_origin(&origin_text, host.as_ref()) {
            return Ok(());
        }
        Err(origin_refused(&origin_text))
    }
}

/// Whether `origin` is `serve`'s own: the same host and port as the request's `Host` (a
/// `Host` without a port means the origin scheme's default port).
fn same_origin(origin: &str, host: Option<&(String, Option<u16>)>) -> bool {
    let (Some((host, port)), Ok(url)) = (host, reqwest::Url::parse(origin)) else {
        return false;
    };
    let Some(origin_port) = url.port_or_known_default() else {
        return false;
    };
    let Some(origin_host) = url.host_str() else {
        return false;
    };
    let origin_host = origin_host.trim_start_matches('[').trim_end_matches(']');
    let default_port = match url.scheme() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    same_host(origin_host, host) && port.unwrap_or(default_port) == origin_port
}

/// Names compare case-insensitively, addresses as addresses (`::1` = `0:0::1`).
fn same_host(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a.to_canonical() == b.to_canonical(),
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// At most this much of a refused header is quoted back.
const QUOTED: usize = 100;

fn quoted(value: &str) -> String {
    value.chars().take(QUOTED).collect()
}

fn host_refused(host: &str) -> ApiError {
    ApiError::forbidden(
        format!(
            "Host `{}` is not allowed: without API_KEYS this server answers only loopback names \
             (localhost, 127.0.0.1, [::1]) and the names in ALLOWED_HOSTS; add the name you \
             reach it by to ALLOWED_HOSTS, or set API_KEYS.",
            quoted(host)
        ),
        "host_not_allowed",
    )
}

fn origin_refused(origin: &str) -> ApiError {
    ApiError::forbidden(
        format!(
            "Origin `{}` is not allowed: without API_KEYS only this server's own pages and the \
             origins in CORS_ORIGINS may call it from a browser.",
            quoted(origin)
        ),
        "origin_not_allowed",
    )
}

/// The middleware: both checks on a keyless `serve`, nothing with keys.
pub async fn check_caller(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if !state.settings.api_keys.is_empty() {
        return next.run(req).await;
    }
    if let Err(refusal) = state.settings.access.check(req.headers()) {
        tracing::warn!(
            method = %req.method(),
            path = req.uri().path(),
            "refused: {}",
            refusal.message
        );
        return refusal.shaped(ErrorShape::of(req.uri().path(), req.headers()));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn access(hosts: &str, origins: &str, bind: &str) -> Access {
        Access {
            hosts: HostList::parse(hosts).unwrap(),
            origins: OriginList::parse(origins).unwrap(),
            bind: bind.parse().ok(),
        }
    }

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(host) = host {
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    fn code(a: &Access, host: Option<&str>, origin: Option<&str>) -> Option<&'static str> {
        a.check(&headers(host, origin)).err().and_then(|e| e.code)
    }

    #[test]
    fn loopback_names_and_the_bind_address_pass() {
        let a = access("", "", "127.0.0.1");
        for host in [
            "localhost",
            "LOCALHOST:3000",
            "127.0.0.1:3000",
            "127.0.0.2",
            "[::1]:3000",
            "[::ffff:127.0.0.1]",
        ] {
            assert_eq!(code(&a, Some(host), None), None, "{host}");
        }
        assert_eq!(code(&a, None, None), None, "no Host: no browser");
        for host in [
            "evil.example.com",
            "evil.example.com:3000",
            "10.0.0.5",
            "localhost.evil.com",
            "a b",
        ] {
            assert_eq!(
                code(&a, Some(host), None),
                Some("host_not_allowed"),
                "{host}"
            );
        }
        let lan = access("", "", "192.168.1.5");
        assert_eq!(code(&lan, Some("192.168.1.5:3000"), None), None);
        assert_eq!(
            code(&lan, Some("192.168.1.6:3000"), None),
            Some("host_not_allowed")
        );
        let wildcard = access("", "", "0.0.0.0");
        assert_eq!(code(&wildcard, Some("172.17.0.2:3000"), None), None);
        assert_eq!(
            code(&wildcard, Some("evil.example.com"), None),
            Some("host_not_allowed")
        );
    }

    #[test]
    fn allowed_hosts_add_names() {
        let a = access("qwen.example.com,lan.box:8080", "", "127.0.0.1");
        assert_eq!(code(&a, Some("qwen.example.com"), None), None);
        assert_eq!(code(&a, Some("lan.box:8080"), None), None);
        assert_eq!(
            code(&a, Some("lan.box:8081"), None),
            Some("host_not_allowed")
        );
        assert_eq!(
            code(&access("*", "", "127.0.0.1"), Some("any.thing"), None),
            None
        );
    }

    #[test]
    fn only_own_and_listed_origins_pass() {
        let a = access("qwen.example.com", "https://app.example.com", "127.0.0.1");
        let cases = [
            (Some("localhost:3000"), "http://localhost:3000", None),
            (Some("127.0.0.1:3000"), "http://127.0.0.1:3000", None),
            (Some("[::1]:3000"), "http://[::1]:3000", None),
            (Some("qwen.example.com"), "https://qwen.example.com", None),
            (Some("localhost:80"), "http://localhost", None),
            (Some("localhost:3000"), "https://app.example.com", None),
            (
                Some("localhost:3000"),
                "http://localhost:3001",
                Some("origin_not_allowed"),
            ),
            (
                Some("localhost:3000"),
                "https://evil.example.com",
                Some("origin_not_allowed"),
            ),
            (Some("localhost:3000"), "null", Some("origin_not_allowed")),
            (
                Some("qwen.example.com"),
                "https://qwen.example.com:8443",
                Some("origin_not_allowed"),
            ),
            (None, "http://localhost:3000", Some("origin_not_allowed")),
        ];
        for (host, origin, want) in cases {
            assert_eq!(code(&a, host, Some(origin)), want, "{host:?} {origin}");
        }
        let any = access("", "*", "127.0.0.1");
        assert_eq!(code(&any, Some("localhost"), Some("null")), None);
    }
}
