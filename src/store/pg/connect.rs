//! Reading `DATABASE_URL` and building the connection pool.
//!
//! The URL is libpq's (`postgres://user:password@host:port/dbname?sslmode=prefer`), parsed
//! by `tokio-postgres`; qwenctl adds defaults a service wants (a connect timeout, TCP
//! keep-alives, an application name) where the URL says nothing. `sslmode` is honoured as
//! `tokio-postgres` knows it: `disable` (plain), `prefer` (TLS when the server offers it, the
//! default) and `require` (TLS or no connection). TLS is rustls with the system's trust
//! store (`rustls-platform-verifier`), so a server certificate is always verified, the way
//! libpq's `verify-full` would. The password never leaves this module except inside the
//! driver: [`redacted`] is what logs, errors and `validate-config` show.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls_platform_verifier::ConfigVerifierExt;
use tokio_postgres::config::SslMode;

use crate::store::{Error, Result};

/// Connections each `serve` keeps at most: the writer's, the conversation lookups' and the
/// data API's. Two replicas stay far below PostgreSQL's default of 100.
const POOL_SIZE: usize = 16;
/// How long a TCP connection (and TLS handshake) may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a free connection from the pool.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle time after which TCP keep-alives probe a connection, so a server that vanished
/// without closing it (a network partition) is noticed.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Whether `url` selects the PostgreSQL store.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The driver's configuration for `url`, with qwenctl's defaults where the URL says nothing.
/// Errors name what is wrong without repeating the URL (it may hold a password).
pub(crate) fn config(url: &str) -> Result<tokio_postgres::Config> {
    if !is_postgres_url(url) {
        return Err(Error::Url(
            "it must start with postgres:// or postgresql://".to_owned(),
        ));
    }
    if let Some(mode) = query_param(url, "sslmode")
        && !matches!(mode.as_str(), "disable" | "prefer" | "require")
    {
        return Err(Error::Url(format!(
            "sslmode `{mode}` is not supported: use disable, prefer or require (require \
             verifies the server's certificate against the system's trust store)"
        )));
    }
    let mut config: tokio_postgres::Config = url
        .trim()
        .parse()
        .map_err(|e: tokio_postgres::Error| Error::Url(e.to_string()))?;
    if config.get_hosts().is_empty() {
        return Err(Error::Url("it names no host".to_owned()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("qwenctl");
    }
    config.keepalives(true).keepalives_idle(KEEPALIVE_IDLE);
    Ok(config)
}

/// The TLS connector `config` asks for: none with `sslmode=disable`.
pub(crate) fn tls_for(
    config: &tokio_postgres::Config,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>> {
    if config.get_ssl_mode() == SslMode::Disable {
        Ok(None)
    } else {
        tls().map(Some)
    }
}

/// The pool of connections to `config`'s database. Nothing is connected yet.
pub(crate) fn pool(
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
) -> Result<Pool> {
    let manager_config = ManagerConfig {
        // A connection the server closed (a restart) is found closed and replaced; a
        // query on each checkout would cost a round trip per read.
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls {
        None => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
        Some(tls) => Manager::from_config(config, tls, manager_config),
    };
    let connect = CONNECT_TIMEOUT + Duration::from_secs(1);
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(connect))
        .recycle_timeout(Some(connect))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Url(format!("cannot build the connection pool: {e}")))
}

/// rustls with the platform's verifier (the system's trust store).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let config = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| Error::Url(format!("cannot set up TLS: {e}")))?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The value of query parameter `name` in `url`, if given.
fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// `url` with its password replaced by `***` (in the user part and in a `password=`
/// parameter), for logs, errors and `validate-config`.
pub fn redacted(url: &str) -> String {
    let url = url.trim();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            // The authority ends at the first `/`; the user part at its last `@`.
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => match user.split_once(':') {
                    Some((name, _password)) => format!("{name}:***@{host}"),
                    None => format!("{user}@{host}"),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://qwen:s3cret@db:5432/qwenctl?sslmode=require"),
            "postgres://qwen:***@db:5432/qwenctl?sslmode=require"
        );
        assert_eq!(
            redacted("postgresql://qwen@db/q?password=s3cret&sslmode=disable"),
            "postgresql://qwen@db/q?password=***&sslmode=disable"
        );
        assert_eq!(redacted("postgres://db/q"), "postgres://db/q");
        assert_eq!(
            redacted("postgres://u:p@ss@db/q"),
            "postgres://u:***@db/q",
            "the last @ ends the user part"
        );
    }

    #[test]
    fn urls_are_checked_without_echoing_them() {
        assert!(is_postgres_url("postgres://db/q"));
        assert!(is_postgres_url("PostgreSQL://db/q"));
        assert!(!is_postgres_url("/var/lib/qwen.db"));
        let err = config("mysql://u:s3cret@db/q").unwrap_err().to_string();
        assert!(err.contains("postgres://"), "{err}");
        let err = config("postgres://u:s3cret@db/q?sslmode=verify-full")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("verify-full") && !err.contains("s3cret"),
            "{err}"
        );
        let err = config("postgres://u:s3cret@db/q?bogus=1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        let config = config("postgres://u:s3cret@db:6543/q?sslmode=require").unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(config.get_ports(), [6543]);
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
    }
}
