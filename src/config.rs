//! Configuration: every variable qwenctl reads, its default, and the one function that
//! resolves them.
//!
//! Precedence is command-line flags > process environment > `.env` file > built-in defaults,
//! decided in [`resolve`] and nowhere else. `resolve` is pure (it is fed maps, not the real
//! environment) so the precedence rules are unit-tested. Problems are collected rather than
//! returned one at a time, because `validate-config` must list every problem at once; each
//! command then decides which problems stop it. Secrets live in [`Secret`], whose `Debug` and
//! `Display` never show the value.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::qwen::{jwt_expiry, token_from_cookies};

/// The names of every environment variable, in one place. `.env.example` is kept in step with
/// [`env::ALL`] by a test.
pub mod env {
    /// The browser's whole `Cookie` header for chat.qwen.ai (must contain `token=<JWT>`).
    pub const QWEN_COOKIES: &str = "QWEN_COOKIES";
    /// The `bx-umidtoken` header value.
    pub const QWEN_TOKEN: &str = "QWEN_TOKEN";
    /// Upstream base URL.
    pub const QWEN_BASE_URL: &str = "QWEN_BASE_URL";
    /// Override of the `bx-v` header.
    pub const QWEN_BX_V: &str = "QWEN_BX_V";
    /// Override of the web bundle `version` header.
    pub const QWEN_WEB_VERSION: &str = "QWEN_WEB_VERSION";
    /// Override of the `User-Agent` header.
    pub const QWEN_USER_AGENT: &str = "QWEN_USER_AGENT";
    /// ms allowed to connect to the upstream.
    pub const QWEN_CONNECT_TIMEOUT: &str = "QWEN_CONNECT_TIMEOUT";
    /// ms allowed until the first event of an answer.
    pub const QWEN_FIRST_BYTE_TIMEOUT: &str = "QWEN_FIRST_BYTE_TIMEOUT";
    /// ms allowed between two chunks of an answer.
    pub const QWEN_IDLE_TIMEOUT: &str = "QWEN_IDLE_TIMEOUT";
    /// Bind address of `serve`.
    pub const HOST: &str = "HOST";
    /// Port of `serve`.
    pub const PORT: &str = "PORT";
    /// Comma-separated API keys clients must present.
    pub const API_KEYS: &str = "API_KEYS";
    /// SQLite file.
    pub const DATABASE_PATH: &str = "DATABASE_PATH";
    /// Log exchanges to SQLite.
    pub const ENABLE_PERSISTENCE: &str = "ENABLE_PERSISTENCE";
    /// Serve the data endpoints.
    pub const ENABLE_CRUD_API: &str = "ENABLE_CRUD_API";
    /// ms of inactivity after which a conversation is no longer continued upstream.
    pub const SESSION_TIMEOUT: &str = "SESSION_TIMEOUT";
    /// Upstream attempts for retryable failures before the first byte.
    pub const RETRY_MAX_ATTEMPTS: &str = "RETRY_MAX_ATTEMPTS";
    /// ms the upstream model list is cached.
    pub const MODELS_CACHE_DURATION: &str = "MODELS_CACHE_DURATION";
    /// ms between SSE keep-alive comments while the upstream is silent.
    pub const SSE_KEEPALIVE_INTERVAL: &str = "SSE_KEEPALIVE_INTERVAL";
    /// Largest accepted request body, in bytes.
    pub const MAX_REQUEST_BODY: &str = "MAX_REQUEST_BODY";
    /// ms open streams get to finish on shutdown.
    pub const SHUTDOWN_TIMEOUT: &str = "SHUTDOWN_TIMEOUT";
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub const LOG_LEVEL: &str = "LOG_LEVEL";
    /// `text` or `json`.
    pub const LOG_FORMAT: &str = "LOG_FORMAT";

    /// Every variable, in the order `validate-config` and `.env.example` show them.
    pub const ALL: &[&str] = &[
        QWEN_COOKIES,
        QWEN_TOKEN,
        QWEN_BASE_URL,
        QWEN_BX_V,
        QWEN_WEB_VERSION,
        QWEN_USER_AGENT,
        QWEN_CONNECT_TIMEOUT,
        QWEN_FIRST_BYTE_TIMEOUT,
        QWEN_IDLE_TIMEOUT,
        HOST,
        PORT,
        API_KEYS,
        DATABASE_PATH,
        ENABLE_PERSISTENCE,
        ENABLE_CRUD_API,
        SESSION_TIMEOUT,
        RETRY_MAX_ATTEMPTS,
        MODELS_CACHE_DURATION,
        SSE_KEEPALIVE_INTERVAL,
        MAX_REQUEST_BODY,
        SHUTDOWN_TIMEOUT,
        LOG_LEVEL,
        LOG_FORMAT,
    ];

    /// Variables whose values are secrets and are always shown redacted.
    pub const SECRETS: &[&str] = &[QWEN_COOKIES, QWEN_TOKEN, API_KEYS];
}

/// Fingerprint defaults from PROTOCOL.md (observed 2026-09); they change every few weeks,
/// hence the overrides.
pub mod defaults {
    pub const BASE_URL: &str = "https://chat.qwen.ai";
    pub const BX_V: &str = "2.5.37";
    pub const WEB_VERSION: &str = "0.3.12";
    pub const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36";
    pub const HOST: &str = "127.0.0.1";
    pub const PORT: u16 = 3000;
    pub const SESSION_TIMEOUT_MS: u64 = 1_800_000;
    pub const RETRY_MAX_ATTEMPTS: u32 = 3;
    pub const MODELS_CACHE_MS: u64 = 3_600_000;
    pub const CONNECT_TIMEOUT_MS: u64 = 10_000;
    pub const FIRST_BYTE_TIMEOUT_MS: u64 = 60_000;
    pub const IDLE_TIMEOUT_MS: u64 = 120_000;
    pub const KEEPALIVE_MS: u64 = 15_000;
    pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;
    pub const SHUTDOWN_TIMEOUT_MS: u64 = 30_000;
}

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Flag,
    Env,
    #[serde(rename = ".env")]
    DotEnv,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "flag",
            Origin::Env => "env",
            Origin::DotEnv => ".env",
            Origin::Default => "default",
        })
    }
}

/// How bad a problem is: errors stop commands that need the value, warnings are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with the configuration, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub var: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The inputs of [`resolve`]: flag values keyed by the variable they override, the process
/// environment and the `.env` file.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub flags: HashMap<&'static str, String>,
    pub env: HashMap<String, String>,
    pub dotenv: HashMap<String, String>,
    /// The `.env` file that was read, if any.
    pub dotenv_path: Option<PathBuf>,
}

impl Sources {
    /// The real process environment plus the `.env` file (`path`, or `./.env` if present).
    /// A missing explicit file is an error; a missing default one is not.
    pub fn from_process(env_file: Option<&Path>) -> Result<Sources, String> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let (path, required) = match env_file {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(".env"), false),
        };
        let mut dotenv = HashMap::new();
        let mut dotenv_path = None;
        match dotenvy::from_path_iter(&path) {
            Ok(iter) => {
                let parsed: Result<Vec<(String, String)>, dotenvy::Error> = iter.collect();
                dotenv = match parsed {
                    Ok(pairs) => pairs.into_iter().collect(),
                    // dotenvy refuses unquoted values with spaces, which every pasted Cookie
                    // header has and which the Node proxy's dotenv accepted. Its error also
                    // quotes the line (the secret), so it is never shown.
                    Err(_) => {
                        let text = std::fs::read_to_string(&path).map_err(|e| {
                            format!("cannot read env file {}: {}", path.display(), e.kind())
                        })?;
                        parse_env_lenient(&text).map_err(|line| {
                            format!(
                                "cannot parse env file {} at line {line}: expected NAME=value",
                                path.display()
                            )
                        })?
                    }
                };
                dotenv_path = Some(path);
            }
            Err(e) if e.not_found() && !required => {}
            Err(e) => {
                return Err(format!(
                    "cannot read env file {}: {}",
                    path.display(),
                    match e {
                        dotenvy::Error::Io(io) => io.kind().to_string(),
                        _ => "unreadable".to_owned(),
                    }
                ));
            }
        }
        Ok(Sources {
            flags: HashMap::new(),
            env,
            dotenv,
            dotenv_path,
        })
    }

    /// The raw value of `var` and its origin, by precedence. Empty strings count as unset.
    pub fn lookup(&self, var: &str) -> Option<(&str, Origin)> {
        let nonempty = |v: &String| (!v.trim().is_empty()).then_some(());
        if let Some(v) = self.flags.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::Flag));
        }
        if let Some(v) = self.env.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::Env));
        }
        if let Some(v) = self.dotenv.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::DotEnv));
        }
        None
    }
}

/// Reads `.env` text the way the Node proxy's `dotenv` did: `NAME=value` per line, `#`
/// comments and blank lines skipped, an optional `export `, surrounding quotes removed, and
/// everything else after the first `=` kept as is (spaces and `;` included). Returns the
/// 1-based number of the first line that is not of that form.
pub fn parse_env_lenient(text: &str) -> Result<HashMap<String, String>, usize> {
    let mut vars = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line.split_once('=').ok_or(i + 1)?;
        let name = name.trim();
        let valid_name = name
            .chars()
            .enumerate()
            .all(|(j, c)| c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid_name {
            return Err(i + 1);
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)));
        vars.insert(name.to_owned(), unquoted.unwrap_or(value).to_owned());
    }
    Ok(vars)
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub qwen_cookies: Option<Secret>,
    pub qwen_token: Option<Secret>,
    pub base_url: String,
    pub bx_v: String,
    pub web_version: String,
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub host: String,
    pub port: u16,
    pub api_keys: Vec<Secret>,
    pub database_path: PathBuf,
    pub enable_persistence: bool,
    pub enable_crud_api: bool,
    /// `None` = conversations never expire.
    pub session_timeout: Option<Duration>,
    pub retry_max_attempts: u32,
    pub models_cache: Duration,
    pub keepalive_interval: Duration,
    pub max_request_body: usize,
    pub shutdown_timeout: Duration,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Every variable's effective value (secrets redacted) and origin, for `validate-config`.
    pub shown: Vec<Shown>,
    /// Everything wrong, errors and warnings.
    pub problems: Vec<Problem>,
    /// Expiry of the session JWT (unix seconds), when it decodes.
    pub token_expiry: Option<i64>,
    /// The `.env` file that was read, if any.
    pub env_file: Option<PathBuf>,
}

/// One line of `validate-config`'s listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shown {
    pub var: &'static str,
    pub value: Option<String>,
    pub origin: Origin,
}

impl Config {
    /// Problems of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    /// Errors that are not about the upstream credentials (those only matter to commands that
    /// talk to Qwen).
    pub fn general_errors(&self) -> Vec<&Problem> {
        self.errors()
            .filter(|p| p.var != env::QWEN_COOKIES && p.var != env::QWEN_TOKEN)
            .collect()
    }

    /// Errors about the upstream credentials.
    pub fn credential_errors(&self) -> Vec<&Problem> {
        self.errors()
            .filter(|p| p.var == env::QWEN_COOKIES || p.var == env::QWEN_TOKEN)
            .collect()
    }

    /// The upstream client configuration. Missing credentials become empty strings: callers
    /// check [`Config::credential_errors`] first.
    pub fn upstream(&self) -> crate::qwen::UpstreamConfig {
        crate::qwen::UpstreamConfig {
            base_url: self.base_url.clone(),
            cookies: self
                .qwen_cookies
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            umid_token: self
                .qwen_token
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            bx_v: self.bx_v.clone(),
            web_version: self.web_version.clone(),
            user_agent: self.user_agent.clone(),
            retry_max_attempts: self.retry_max_attempts,
            connect_timeout: self.connect_timeout,
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            models_cache: self.models_cache,
            models_cache_file: None,
        }
    }
}

/// The default database file: `<data dir>/qwenctl/qwen_proxy.db`.
pub fn default_database_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("qwenctl")
        .join("qwen_proxy.db")
}

/// The data directory (history file of the REPL, caches).
pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("qwenctl")
}

/// Collects values and problems while resolving.
struct Resolver<'a> {
    sources: &'a Sources,
    shown: Vec<Shown>,
    problems: Vec<Problem>,
}

impl Resolver<'_> {
    fn raw(&mut self, var: &'static str, default: Option<String>) -> Option<String> {
        let secret = env::SECRETS.contains(&var);
        match self.sources.lookup(var) {
            Some((value, origin)) => {
                let value = value.trim().to_owned();
                self.shown.push(Shown {
                    var,
                    value: Some(if secret {
                        redact(&value)
                    } else {
                        value.clone()
                    }),
                    origin,
                });
                Some(value)
            }
            None => {
                self.shown.push(Shown {
                    var,
                    value: default.clone(),
                    origin: Origin::Default,
                });
                default
            }
        }
    }

    fn problem(&mut self, var: &'static str, severity: Severity, message: impl Into<String>) {
        self.problems.push(Problem {
            var,
            severity,
            message: message.into(),
        });
    }

    fn string(&mut self, var: &'static str, default: &str) -> String {
        self.raw(var, Some(default.to_owned()))
            .unwrap_or_else(|| default.to_owned())
    }

    /// A non-negative integer (`what` names the unit in the error).
    fn number<T: std::str::FromStr + ToString + Copy>(
        &mut self,
        var: &'static str,
        default: T,
        what: &str,
    ) -> T {
        let raw = self.raw(var, Some(default.to_string()));
        match raw {
            Some(v) => match v.parse::<T>() {
                Ok(n) => n,
                Err(_) => {
                    self.problem(var, Severity::Error, format!("expected {what}, got {v:?}"));
                    default
                }
            },
            None => default,
        }
    }

    fn millis(&mut self, var: &'static str, default: u64) -> Duration {
        Duration::from_millis(self.number(var, default, "a number of milliseconds"))
    }

    fn boolean(&mut self, var: &'static str, default: bool) -> bool {
        let raw = self.raw(var, Some(default.to_string()));
        match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => {
                self.problem(
                    var,
                    Severity::Error,
                    format!("expected true or false, got {other:?}"),
                );
                default
            }
        }
    }
}

/// Shows the first and last characters of a secret only when it is long enough that they
/// give nothing away.
pub fn redact(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 24 {
        return format!("<redacted, {} chars>", chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail} <redacted, {} chars>", chars.len())
}

/// Resolves every variable by precedence, collecting problems. `now` (unix seconds) is only
/// used to judge the token's expiry.
pub fn resolve(sources: &Sources, now: i64) -> Config {
    let mut r = Resolver {
        sources,
        shown: Vec::new(),
        problems: Vec::new(),
    };

    let qwen_cookies = r.raw(env::QWEN_COOKIES, None);
    let mut token_expiry = None;
    match &qwen_cookies {
        None => r.problem(
            env::QWEN_COOKIES,
            Severity::Error,
            "not set: copy the whole Cookie header of a logged-in chat.qwen.ai tab",
        ),
        Some(c) => match token_from_cookies(c) {
            None => r.problem(
                env::QWEN_COOKIES,
                Severity::Error,
                "has no token=<JWT> cookie: copy the whole Cookie header while logged in",
            ),
            Some(jwt) => match jwt_expiry(jwt) {
                None => r.problem(
                    env::QWEN_COOKIES,
                    Severity::Warning,
                    "the token= cookie is not a JWT with an expiry; cannot check when it expires",
                ),
                Some(exp) => {
                    token_expiry = Some(exp);
                    if exp <= now {
                        r.problem(
                            env::QWEN_COOKIES,
                            Severity::Warning,
                            format!(
                                "the session token {}: Qwen will probably reject it; refresh QWEN_COOKIES",
                                describe_expiry(exp, now)
                            ),
                        );
                    }
                }
            },
        },
    }
    let qwen_token = r.raw(env::QWEN_TOKEN, None);
    if qwen_token.is_none() {
        r.problem(
            env::QWEN_TOKEN,
            Severity::Error,
            "not set: copy the bx-umidtoken request header of a chat.qwen.ai tab",
        );
    }

    let base_url = r.string(env::QWEN_BASE_URL, defaults::BASE_URL);
    match reqwest::Url::parse(&base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => r.problem(
            env::QWEN_BASE_URL,
            Severity::Error,
            format!("expected an http(s) URL, got {base_url:?}"),
        ),
    }
    let base_url = base_url.trim_end_matches('/').to_owned();
    let bx_v = r.string(env::QWEN_BX_V, defaults::BX_V);
    let web_version = r.string(env::QWEN_WEB_VERSION, defaults::WEB_VERSION);
    let user_agent = r.string(env::QWEN_USER_AGENT, defaults::USER_AGENT);
    let connect_timeout = r.millis(env::QWEN_CONNECT_TIMEOUT, defaults::CONNECT_TIMEOUT_MS);
    let first_byte_timeout = r.millis(
        env::QWEN_FIRST_BYTE_TIMEOUT,
        defaults::FIRST_BYTE_TIMEOUT_MS,
    );
    let idle_timeout = r.millis(env::QWEN_IDLE_TIMEOUT, defaults::IDLE_TIMEOUT_MS);

    let host = r.string(env::HOST, defaults::HOST);
    if host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
        r.problem(
            env::HOST,
            Severity::Error,
            format!("expected an IP address to bind, got {host:?}"),
        );
    }
    let port: u16 = {
        let raw = r.raw(env::PORT, Some(defaults::PORT.to_string()));
        match raw.as_deref().map(str::parse::<u32>) {
            None => defaults::PORT,
            Some(Ok(p)) if p <= u32::from(u16::MAX) => p as u16,
            Some(_) => {
                let v = raw.unwrap_or_default();
                r.problem(
                    env::PORT,
                    Severity::Error,
                    format!("expected a port number 0-65535, got {v:?}"),
                );
                defaults::PORT
            }
        }
    };
    let api_keys: Vec<Secret> = r
        .raw(env::API_KEYS, None)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(Secret::new)
                .collect()
        })
        .unwrap_or_default();

    let database_path = r
        .raw(
            env::DATABASE_PATH,
            Some(default_database_path().display().to_string()),
        )
        .map(PathBuf::from)
        .unwrap_or_else(default_database_path);
    let enable_persistence = r.boolean(env::ENABLE_PERSISTENCE, true);
    let enable_crud_api = r.boolean(env::ENABLE_CRUD_API, true);
    let session_timeout = r.millis(env::SESSION_TIMEOUT, defaults::SESSION_TIMEOUT_MS);
    let retry_max_attempts = r.number(
        env::RETRY_MAX_ATTEMPTS,
        defaults::RETRY_MAX_ATTEMPTS,
        "a whole number of attempts",
    );
    if retry_max_attempts == 0 {
        r.problem(
            env::RETRY_MAX_ATTEMPTS,
            Severity::Error,
            "must be at least 1",
        );
    }
    let models_cache = r.millis(env::MODELS_CACHE_DURATION, defaults::MODELS_CACHE_MS);
    let keepalive_interval = r.millis(env::SSE_KEEPALIVE_INTERVAL, defaults::KEEPALIVE_MS);
    let max_request_body = r.number(
        env::MAX_REQUEST_BODY,
        defaults::MAX_REQUEST_BODY,
        "a number of bytes",
    );
    let shutdown_timeout = r.millis(env::SHUTDOWN_TIMEOUT, defaults::SHUTDOWN_TIMEOUT_MS);

    let log_level = r.string(env::LOG_LEVEL, "info").to_ascii_lowercase();
    if !matches!(
        log_level.as_str(),
        "error" | "warn" | "info" | "debug" | "trace"
    ) {
        r.problem(
            env::LOG_LEVEL,
            Severity::Error,
            format!("expected error, warn, info, debug or trace, got {log_level:?}"),
        );
    }
    let log_format = match r
        .string(env::LOG_FORMAT, "text")
        .to_ascii_lowercase()
        .as_str()
    {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            let other = other.to_owned();
            r.problem(
                env::LOG_FORMAT,
                Severity::Error,
                format!("expected text or json, got {other:?}"),
            );
            LogFormat::Text
        }
    };

    Config {
        qwen_cookies: qwen_cookies.map(Secret::new),
        qwen_token: qwen_token.map(Secret::new),
        base_url,
        bx_v,
        web_version,
        user_agent,
        connect_timeout,
        first_byte_timeout,
        idle_timeout,
        host,
        port,
        api_keys,
        database_path,
        enable_persistence,
        enable_crud_api,
        session_timeout: (!session_timeout.is_zero()).then_some(session_timeout),
        retry_max_attempts: retry_max_attempts.max(1),
        models_cache,
        keepalive_interval,
        max_request_body,
        shutdown_timeout,
        log_level,
        log_format,
        shown: r.shown,
        problems: r.problems,
        token_expiry,
        env_file: sources.dotenv_path.clone(),
    }
}

/// "expires in 3 days" / "expired 2 hours ago".
pub fn describe_expiry(exp: i64, now: i64) -> String {
    let delta = exp - now;
    let span = humanize_secs(delta.unsigned_abs());
    if delta > 0 {
        format!("expires in {span}")
    } else {
        format!("expired {span} ago")
    }
}

fn humanize_secs(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s < 120 => (s, "second"),
        s if s < 2 * 3600 => (s / 60, "minute"),
        s if s < 2 * 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests;
