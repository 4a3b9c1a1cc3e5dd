//! Who may call `serve`: the API keys with the names the store records for them
//! ([`ApiKey`]), the `Host` names a keyless `serve` answers ([`HostList`], `ALLOWED_HOSTS`)
//! and the browser origins it accepts ([`OriginList`], `CORS_ORIGINS`).
//!
//! The lists are parsed once, here, into the form the server compares against, so a
//! malformed entry is a `validate-config` error naming it rather than a host that silently
//! never matches.

use std::net::IpAddr;

use super::Secret;

/// A key clients present to `serve`, with the name requests are recorded under (`key-1` for
/// the first entry of `API_KEYS`, `admin-1` for the first of `ADMIN_API_KEYS`). The name
/// follows the key's position in its list, blank entries included, so a key can be retired
/// by blanking it (`API_KEYS=,k2`) without renaming the ones after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub name: String,
    pub secret: Secret,
    /// Admin keys see and manage every key's exchanges; the others only their own.
    pub admin: bool,
}

/// `ALLOWED_HOSTS`: the `Host` names, besides the loopback ones, a keyless `serve` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostList {
    /// `*`: any host (no protection against DNS rebinding).
    pub any: bool,
    /// Lower-case names or IP literals (IPv6 without brackets), each with the one port it
    /// is allowed on, or any port.
    pub hosts: Vec<(String, Option<u16>)>,
}

impl HostList {
    /// Parses a comma-separated list of `host`, `host:port`, `[v6]` or `[v6]:port` (`*` for
    /// any). An entry that is a URL, has a path or an invalid port is an error naming it.
    pub fn parse(spec: &str) -> Result<HostList, String> {
        let mut list = HostList::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.any = true;
                continue;
            }
            let bad = || {
                format!(
                    "`{entry}` is not a host: write a name or address with an optional port \
                     (qwen.example.com, qwen.example.com:8443, [::1]:3000), without a scheme \
                     or a path"
                )
            };
            if entry.contains(['/', '@', '?', '#', ' ', '*']) {
                return Err(bad());
            }
            let (host, port) = split_host_port(entry).ok_or_else(bad)?;
            list.hosts.push((host, port));
        }
        Ok(list)
    }

    /// Whether `host` (lower-case, as [`split_host_port`] gives it) on `port` is listed.
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        self.any
            || self
                .hosts
                .iter()
                .any(|(h, p)| h == host && (p.is_none() || *p == port))
    }
}

/// Splits a `Host` header value (or an `ALLOWED_HOSTS` entry) into its lower-case host,
/// without brackets or a trailing dot, and its port. `None` when it is not of that form.
pub fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (v6, port)
    } else if authority.parse::<std::net::Ipv6Addr>().is_ok() {
        (authority, None)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && (host.parse::<IpAddr>().is_ok()
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    valid.then_some((host, port))
}

/// `CORS_ORIGINS`: the browser origins allowed to call `serve`, `*` for any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginList {
    pub any: bool,
    /// Serialised as browsers send them: `scheme://host[:port]`, lower case, no default
    /// port, no trailing slash.
    pub origins: Vec<String>,
}

impl OriginList {
    /// Parses `*` or a comma-separated list of `http(s)://host[:port]` origins.
    pub fn parse(spec: &str) -> Result<OriginList, String> {
        let mut list = OriginList::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.any = true;
                continue;
            }
            let origin = normalize_origin(entry).ok_or_else(|| {
                format!(
                    "`{entry}` is not an origin: write scheme, host and optional port, as the \
                     browser's address bar shows them (https://console.example.com, \
                     http://localhost:5173), or *"
                )
            })?;
            list.origins.push(origin);
        }
        Ok(list)
    }

    /// Whether the request's `Origin` header value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || normalize_origin(origin).is_some_and(|o| self.origins.contains(&o))
    }

    pub fn is_empty(&self) -> bool {
        !self.any && self.origins.is_empty()
    }
}

/// An http(s) origin as a browser serialises it; `None` for anything else (a path, a query,
/// credentials, another scheme, `null`).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let url = reqwest::Url::parse(origin.trim()).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    plain.then(|| url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_headers_split_into_host_and_port() {
        let s = |v: &str| split_host_port(v);
        assert_eq!(s("LocalHost:3000"), Some(("localhost".into(), Some(3000))));
        assert_eq!(s("127.0.0.1"), Some(("127.0.0.1".into(), None)));
        assert_eq!(s("[::1]:8080"), Some(("::1".into(), Some(8080))));
        assert_eq!(s("[::1]"), Some(("::1".into(), None)));
        assert_eq!(s("::1"), Some(("::1".into(), None)));
        assert_eq!(
            s("qwen.example.com."),
            Some(("qwen.example.com".into(), None))
        );
        for bad in [
            "",
            ":80",
            "host:99999",
            "host:x",
            "[::1",
            "[nope]:1",
            "a b",
            "évil.com",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_match_with_or_without_port() {
        let list = HostList::parse("qwen.example.com, Other.Example:8443,[::1]:9,").unwrap();
        assert!(list.allows("qwen.example.com", None));
        assert!(list.allows("qwen.example.com", Some(443)));
        assert!(list.allows("other.example", Some(8443)));
        assert!(!list.allows("other.example", Some(443)));
        assert!(list.allows("::1", Some(9)));
        assert!(!list.allows("evil.example.com", None));
        assert!(HostList::parse("*").unwrap().allows("anything", Some(1)));
        for bad in [
            "https://qwen.example.com",
            "qwen.example.com/v1",
            "host:port",
            "*.x",
        ] {
            assert!(HostList::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        let list =
            OriginList::parse("https://Console.Example.com:443/, http://localhost:5173").unwrap();
        assert_eq!(
            list.origins,
            ["https://console.example.com", "http://localhost:5173"]
        );
        assert!(list.allows("https://console.example.com"));
        assert!(list.allows("http://localhost:5173"));
        assert!(!list.allows("http://localhost:5174"));
        assert!(!list.allows("null"));
        assert!(OriginList::parse("*").unwrap().allows("null"));
        assert!(OriginList::default().is_empty());
        for bad in [
            "console.example.com",
            "https://x.com/path",
            "ftp://x.com",
            "null",
        ] {
            assert!(OriginList::parse(bad).is_err(), "{bad}");
        }
    }
}
