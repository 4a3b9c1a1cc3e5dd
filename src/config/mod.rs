//! Configuration: every variable qwenctl reads, its default, and the one function that
//! resolves them.
//!
//! Precedence is command-line flags > process environment > `.env` file > built-in defaults,
//! decided in [`resolve`] and nowhere else. `resolve` is pure (it is fed maps, not the real
//! environment) so the precedence rules are unit-tested. The files follow the jobs: [`env`]
//! names every variable and [`defaults`] holds their defaults; `value.rs` the value types
//! ([`Secret`], whose `Debug` and `Display` never show the value, and [`LogFormat`]);
//! `access.rs` who may call `serve` ([`ApiKey`], [`HostList`], [`OriginList`]);
//! `sources.rs` the inputs ([`Sources`]: flags, environment, `.env`); `resolve.rs` the one
//! resolve function and `reader.rs` how it reads one variable; `report.rs` what
//! `validate-config` shows ([`Shown`], [`Problem`]).
//! This file holds the result, [`Config`], and which [`CredentialSource`] it chose; the
//! accounts file itself is read by `crate::accounts`, when a command needs the upstream.

mod access;
mod connections;
pub mod defaults;
pub mod env;
mod reader;
mod report;
mod resolve;
mod sources;
mod value;

use std::path::PathBuf;
use std::time::Duration;

use crate::session::ModelAliases;

pub use access::{ApiKey, HostList, OriginList, normalize_origin, split_host_port};
pub use connections::{Connections, max_connections_for};
pub use defaults::{data_dir, default_database_path};
pub use report::{Problem, Severity, Shown, describe_expiry, redact};
pub use resolve::resolve;
pub use sources::{Origin, Sources, parse_env_lenient};
pub use value::{LogFormat, Secret};

/// Where the upstream credentials come from (design.md §12; the first found wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `QWEN_COOKIES` with a `token=` cookie, and `QWEN_TOKEN`: the Node proxy's way.
    Cookies,
    /// `QWEN_EMAIL` and `QWEN_PASSWORD`: one account logged in by qwenctl.
    Login { email: String, password: Secret },
    /// The accounts of `QWEN_ACCOUNTS_FILE`, managed by `qwenctl accounts`.
    AccountsFile,
}

impl CredentialSource {
    /// How `validate-config` and the logs name it.
    pub fn describe(&self) -> &'static str {
        match self {
            CredentialSource::Cookies => "pasted browser cookies (QWEN_COOKIES + QWEN_TOKEN)",
            CredentialSource::Login { .. } => "one account by email and password (QWEN_EMAIL)",
            CredentialSource::AccountsFile => "the accounts file (QWEN_ACCOUNTS_FILE)",
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `QWEN_COOKIES`: the pasted cookies when they carry `token=`, else the extra browser
    /// cookies every logged-in account sends.
    pub qwen_cookies: Option<Secret>,
    /// `QWEN_TOKEN`: the `bx-umidtoken`.
    pub qwen_token: Option<Secret>,
    /// Which credentials are used.
    pub credentials: CredentialSource,
    /// `QWEN_ACCOUNTS_FILE` (`tokens.json` lives beside it, whatever the source).
    pub accounts_file: PathBuf,
    /// `QWEN_UMID_URL`.
    pub umid_url: String,
    pub base_url: String,
    pub bx_v: String,
    pub web_version: String,
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub host: String,
    pub port: u16,
    /// `ADMIN_API_KEYS` then `API_KEYS`, each with its name; empty: no key is asked for.
    pub api_keys: Vec<ApiKey>,
    /// `ALLOWED_HOSTS`.
    pub allowed_hosts: HostList,
    /// `CORS_ORIGINS`.
    pub cors_origins: OriginList,
    pub database_path: PathBuf,
    /// `DATABASE_URL`: the PostgreSQL store instead of the SQLite file, when set.
    pub database_url: Option<Secret>,
    pub enable_persistence: bool,
    pub enable_crud_api: bool,
    /// `ENABLE_UI`, already folded with `ENABLE_CRUD_API`: the console reads the data
    /// endpoints, so it is served only when they are.
    pub enable_ui: bool,
    /// `None` = conversations never expire.
    pub session_timeout: Option<Duration>,
    pub retry_max_attempts: u32,
    pub models_cache: Duration,
    /// `MODEL_ALIASES`, applied by the engine to a requested model name before resolving it.
    pub model_aliases: ModelAliases,
    pub keepalive_interval: Duration,
    pub max_request_body: usize,
    /// `MAX_ANSWER_BYTES`: largest upstream answer (or JSON reply) accepted.
    pub max_answer_bytes: usize,
    pub shutdown_timeout: Duration,
    /// `HEADER_READ_TIMEOUT`, `KEEPALIVE_TIMEOUT`, `MAX_CONNECTIONS`.
    pub connections: Connections,
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

impl Config {
    /// The upstream client configuration (the credentials are the account pool's, see
    /// `crate::accounts`).
    pub fn upstream(&self) -> crate::qwen::UpstreamConfig {
        crate::qwen::UpstreamConfig {
            base_url: self.base_url.clone(),
            bx_v: self.bx_v.clone(),
            web_version: self.web_version.clone(),
            user_agent: self.user_agent.clone(),
            retry_max_attempts: self.retry_max_attempts,
            connect_timeout: self.connect_timeout,
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            max_answer_bytes: self.max_answer_bytes,
            models_cache: self.models_cache,
            models_cache_file: None,
        }
    }
}

#[cfg(test)]
mod tests;
