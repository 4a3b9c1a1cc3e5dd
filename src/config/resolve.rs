//! The one resolve function: [`Sources`] in, [`Config`] out, flags > environment > `.env` >
//! defaults.
//!
//! [`resolve`] reads every variable in the order of [`env::ALL`], through a [`Resolver`] that
//! applies the precedence, records what `validate-config` shows and collects problems instead
//! of stopping at the first. Variables that need more than parsing (the credentials, the base
//! URL, the bind address, the log settings) have their own small function below, grouped as
//! the variables are; none of them looks at a source directly, so the precedence lives in
//! [`Resolver::raw`] (`reader.rs`) alone. `serve --fake-upstream` is resolved here too: the
//! fake's URL and the credentials it accepts become flag values for the three upstream
//! variables, so they beat every other source, pass the same checks, and no credential
//! problem is reported. The function is pure: `now` is passed in, and the sources are maps.

use std::borrow::Cow;
use std::path::PathBuf;

use super::reader::Resolver;
use super::{
    ApiKey, Config, CredentialSource, HostList, LogFormat, OriginList, Secret, Severity, Sources,
    defaults, describe_expiry, env,
};
use crate::qwen::{jwt_expiry, token_from_cookies};
use crate::session::ModelAliases;

/// Resolves every variable by precedence, collecting problems. `now` (unix seconds) is only
/// used to judge the token's expiry.
pub fn resolve(sources: &Sources, now: i64) -> Config {
    let sources = &with_fake_upstream(sources);
    let mut r = Resolver::new(sources);

    // Upstream.
    let (qwen_cookies, token_expiry, pasted) = session_cookies(&mut r, now);
    let qwen_token = umid_token(&mut r, pasted);
    let credentials = credential_source(&mut r, pasted);
    let accounts_file = r
        .raw(
            env::QWEN_ACCOUNTS_FILE,
            Some(defaults::accounts_file().display().to_string()),
        )
        .map(PathBuf::from)
        .unwrap_or_else(defaults::accounts_file);
    let umid_url = umid_url(&mut r);
    let base_url = base_url(&mut r);
    let bx_v = r.string(env::QWEN_BX_V, defaults::BX_V);
    let web_version = r.string(env::QWEN_WEB_VERSION, defaults::WEB_VERSION);
    let user_agent = r.string(env::QWEN_USER_AGENT, defaults::USER_AGENT);
    let connect_timeout = r.millis(env::QWEN_CONNECT_TIMEOUT, defaults::CONNECT_TIMEOUT_MS);
    let first_byte_timeout = r.millis(
        env::QWEN_FIRST_BYTE_TIMEOUT,
        defaults::FIRST_BYTE_TIMEOUT_MS,
    );
    let idle_timeout = r.millis(env::QWEN_IDLE_TIMEOUT, defaults::IDLE_TIMEOUT_MS);
    let max_answer_bytes = max_answer_bytes(&mut r);

    // `serve`.
    let host = host(&mut r);
    let port = port(&mut r);
    let api_keys = api_keys(&mut r);
    let allowed_hosts = allowed_hosts(&mut r);
    let cors_origins = cors_origins(&mut r);

    // Store and conversations.
    let database_path = database_path(&mut r);
    let database_url = database_url(&mut r);
    let enable_persistence = r.boolean(env::ENABLE_PERSISTENCE, defaults::ENABLE_PERSISTENCE);
    let enable_crud_api = r.boolean(env::ENABLE_CRUD_API, defaults::ENABLE_CRUD_API);
    let enable_ui = enable_ui(&mut r, enable_crud_api);
    let session_timeout = r.millis(env::SESSION_TIMEOUT, defaults::SESSION_TIMEOUT_MS);

    // Limits and model names.
    let retry_max_attempts = retry_max_attempts(&mut r);
    let models_cache = r.millis(env::MODELS_CACHE_DURATION, defaults::MODELS_CACHE_MS);
    let model_aliases = model_aliases(&mut r);
    let keepalive_interval = r.millis(env::SSE_KEEPALIVE_INTERVAL, defaults::KEEPALIVE_MS);
    let max_request_body = r.number(
        env::MAX_REQUEST_BODY,
        defaults::MAX_REQUEST_BODY,
        "a number of bytes",
    );
    let shutdown_timeout = r.millis(env::SHUTDOWN_TIMEOUT, defaults::SHUTDOWN_TIMEOUT_MS);
    let connections = super::connections::resolve(&mut r);

    // Logs.
    let log_level = log_level(&mut r);
    let log_format = log_format(&mut r);

    Config {
        qwen_cookies: qwen_cookies.map(Secret::new),
        qwen_token: qwen_token.map(Secret::new),
        credentials,
        accounts_file,
        umid_url,
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
        allowed_hosts,
        cors_origins,
        database_path,
        database_url,
        enable_persistence,
        enable_crud_api,
        enable_ui,
        session_timeout: (!session_timeout.is_zero()).then_some(session_timeout),
        retry_max_attempts: retry_max_attempts.max(1),
        models_cache,
        model_aliases,
        keepalive_interval,
        max_request_body,
        max_answer_bytes,
        shutdown_timeout,
        connections,
        log_level,
        log_format,
        shown: r.shown,
        problems: r.problems,
        token_expiry,
        env_file: sources.dotenv_path.clone(),
    }
}

/// With `serve --fake-upstream`, the sources with the fake's URL and credentials as flags.
fn with_fake_upstream(sources: &Sources) -> Cow<'_, Sources> {
    let Some(url) = &sources.fake_upstream else {
        return Cow::Borrowed(sources);
    };
    let mut faked = sources.clone();
    faked.flags.extend([
        (env::QWEN_BASE_URL, url.clone()),
        (env::QWEN_COOKIES, FAKE_COOKIES.to_owned()),
        (env::QWEN_TOKEN, FAKE_UMID_TOKEN.to_owned()),
    ]);
    Cow::Owned(faked)
}

/// Credentials the in-process fake accepts; never sent anywhere else. The JWT's payload is
/// `{"id":"fake-user","exp":4102444800}` (year 2100), so it passes the usual checks.
const FAKE_COOKIES: &str = "token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
    eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.fake-signature";
const FAKE_UMID_TOKEN: &str = "fake-bx-umidtoken";

// --- Upstream -------------------------------------------------------------------------------

/// `QWEN_COOKIES`, the expiry of the session JWT inside it, and whether it is a pasted
/// session (it has a `token=`; without one it only holds the extra browser cookies that
/// logged-in accounts send, design.md §12). The token is found and decoded by the same code
/// the client uses to send it ([`crate::qwen::jwt`]).
fn session_cookies(r: &mut Resolver, now: i64) -> (Option<String>, Option<i64>, bool) {
    let cookies = r.raw(env::QWEN_COOKIES, None);
    let Some(jwt) = cookies.as_deref().and_then(token_from_cookies) else {
        return (cookies, None, false);
    };
    let Some(exp) = jwt_expiry(jwt) else {
        r.problem(
            env::QWEN_COOKIES,
            Severity::Warning,
            "the token= cookie is not a JWT with an expiry; cannot check when it expires",
        );
        return (cookies, None, true);
    };
    if exp <= now {
        r.problem(
            env::QWEN_COOKIES,
            Severity::Warning,
            format!(
                "the session token {}: Qwen will probably reject it; refresh QWEN_COOKIES",
                describe_expiry(exp, now)
            ),
        );
    } else if exp - now < 86_400 {
        r.problem(
            env::QWEN_COOKIES,
            Severity::Warning,
            format!(
                "the session token {}: refresh QWEN_COOKIES soon, or let qwenctl log in \
                 (QWEN_EMAIL and QWEN_PASSWORD, or `qwenctl accounts add`)",
                describe_expiry(exp, now)
            ),
        );
    }
    (cookies, Some(exp), true)
}

/// `QWEN_TOKEN`, the `bx-umidtoken` header: required with pasted cookies; logged-in accounts
/// fetch one from `QWEN_UMID_URL` when it is not set.
fn umid_token(r: &mut Resolver, pasted: bool) -> Option<String> {
    let token = r.raw(env::QWEN_TOKEN, None);
    if token.is_none() && pasted {
        r.problem(
            env::QWEN_TOKEN,
            Severity::Error,
            "not set: copy the bx-umidtoken request header of a chat.qwen.ai tab",
        );
    }
    token
}

/// `QWEN_EMAIL` and `QWEN_PASSWORD`, and the source in use: pasted cookies when
/// `QWEN_COOKIES` has a token, else the email and password when either is set (both must
/// be), else the accounts file (read when a command needs it).
fn credential_source(r: &mut Resolver, pasted: bool) -> CredentialSource {
    let email = r.raw(env::QWEN_EMAIL, None).filter(|e| !e.is_empty());
    let password = r.raw(env::QWEN_PASSWORD, None).filter(|p| !p.is_empty());
    if pasted {
        return CredentialSource::Cookies;
    }
    match (email, password) {
        (Some(email), Some(password)) => {
            if !email.contains('@') {
                r.problem(
                    env::QWEN_EMAIL,
                    Severity::Error,
                    format!("expected an email address, got {email:?}"),
                );
            }
            CredentialSource::Login {
                email,
                password: Secret::new(password),
            }
        }
        (Some(_), None) => {
            r.problem(
                env::QWEN_PASSWORD,
                Severity::Error,
                "not set: QWEN_EMAIL needs the account's password",
            );
            CredentialSource::AccountsFile
        }
        (None, Some(_)) => {
            r.problem(
                env::QWEN_EMAIL,
                Severity::Error,
                "not set: QWEN_PASSWORD needs the account's email",
            );
            CredentialSource::AccountsFile
        }
        (None, None) => CredentialSource::AccountsFile,
    }
}

/// `QWEN_UMID_URL`: an http(s) URL.
fn umid_url(r: &mut Resolver) -> String {
    let url = r.string(env::QWEN_UMID_URL, defaults::UMID_URL);
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => r.problem(
            env::QWEN_UMID_URL,
            Severity::Error,
            format!("expected an http(s) URL, got {url:?}"),
        ),
    }
    url
}

/// `QWEN_BASE_URL`: an http(s) URL, kept without its trailing slash.
fn base_url(r: &mut Resolver) -> String {
    let base_url = r.string(env::QWEN_BASE_URL, defaults::BASE_URL);
    match reqwest::Url::parse(&base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => r.problem(
            env::QWEN_BASE_URL,
            Severity::Error,
            format!("expected an http(s) URL, got {base_url:?}"),
        ),
    }
    base_url.trim_end_matches('/').to_owned()
}

// --- serve ----------------------------------------------------------------------------------

/// `HOST`: an IP address or `localhost` (a bind address, not any host name).
fn host(r: &mut Resolver) -> String {
    let host = r.string(env::HOST, defaults::HOST);
    if host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
        r.problem(
            env::HOST,
            Severity::Error,
            format!("expected an IP address to bind, got {host:?}"),
        );
    }
    host
}

/// `PORT`: 0-65535, parsed wider so that 70000 is "not a port" rather than "not a number".
fn port(r: &mut Resolver) -> u16 {
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
}

/// `ADMIN_API_KEYS` then `API_KEYS`: comma-separated, blanks skipped but counted, so each
/// key keeps its name (`admin-N`, `key-N`, N its position) when an earlier one is blanked.
/// A key listed twice keeps its first name (an admin key stays one), with a warning.
fn api_keys(r: &mut Resolver) -> Vec<ApiKey> {
    // Read in the order `validate-config` lists them; admin keys are matched first.
    let plain = r.raw(env::API_KEYS, None);
    let admin = r.raw(env::ADMIN_API_KEYS, None);
    let mut keys: Vec<ApiKey> = Vec::new();
    for (spec, var, prefix, admin) in [
        (admin, env::ADMIN_API_KEYS, "admin", true),
        (plain, env::API_KEYS, "key", false),
    ] {
        let Some(spec) = spec else {
            continue;
        };
        for (i, value) in spec.split(',').map(str::trim).enumerate() {
            if value.is_empty() {
                continue;
            }
            let name = format!("{prefix}-{}", i + 1);
            if let Some(first) = keys.iter().find(|k| k.secret.expose() == value) {
                let message = format!(
                    "entry {} repeats the key named {}; it keeps that name",
                    i + 1,
                    first.name
                );
                r.problem(var, Severity::Warning, message);
                continue;
            }
            keys.push(ApiKey {
                name,
                secret: Secret::new(value),
                admin,
            });
        }
    }
    keys
}

/// `ALLOWED_HOSTS`: host names, optionally with a port, or `*`.
fn allowed_hosts(r: &mut Resolver) -> HostList {
    let Some(spec) = r.raw(env::ALLOWED_HOSTS, None) else {
        return HostList::default();
    };
    HostList::parse(&spec).unwrap_or_else(|invalid| {
        r.problem(env::ALLOWED_HOSTS, Severity::Error, invalid);
        HostList::default()
    })
}

/// `CORS_ORIGINS`: `*` or browser origins.
fn cors_origins(r: &mut Resolver) -> OriginList {
    let Some(spec) = r.raw(env::CORS_ORIGINS, None) else {
        return OriginList::default();
    };
    OriginList::parse(&spec).unwrap_or_else(|invalid| {
        r.problem(env::CORS_ORIGINS, Severity::Error, invalid);
        OriginList::default()
    })
}

// --- Store, limits and models ---------------------------------------------------------------

fn database_path(r: &mut Resolver) -> PathBuf {
    let default = defaults::default_database_path();
    r.raw(env::DATABASE_PATH, Some(default.display().to_string()))
        .map(PathBuf::from)
        .unwrap_or(default)
}

/// `DATABASE_URL`: a PostgreSQL URL selects the PostgreSQL store. Shown without its password;
/// checked here (scheme, `sslmode`, syntax) so a typo is a configuration error, not a
/// failure at the first connection.
fn database_url(r: &mut Resolver) -> Option<Secret> {
    let url = r.raw(env::DATABASE_URL, None).filter(|u| !u.is_empty())?;
    if let Some(shown) = r.shown.last_mut() {
        shown.value = Some(crate::store::pg::redacted(&url));
    }
    match crate::store::pg::check_url(&url) {
        Ok(()) => Some(Secret::new(url)),
        Err(problem) => {
            r.problem(env::DATABASE_URL, Severity::Error, problem);
            None
        }
    }
}

/// `ENABLE_UI`, folded with `ENABLE_CRUD_API`: the console is only pages over the data
/// endpoints, so without them it is not served, and asking for it explicitly then is a
/// warning rather than a silent no-op.
fn enable_ui(r: &mut Resolver, enable_crud_api: bool) -> bool {
    let wanted = r.boolean(env::ENABLE_UI, defaults::ENABLE_UI);
    let explicit = r
        .shown
        .last()
        .is_some_and(|s| s.var == env::ENABLE_UI && s.origin != super::Origin::Default);
    if wanted && explicit && !enable_crud_api {
        r.problem(
            env::ENABLE_UI,
            Severity::Warning,
            "the console needs the data endpoints: it is not served while ENABLE_CRUD_API=false",
        );
    }
    wanted && enable_crud_api
}

/// `RETRY_MAX_ATTEMPTS`: counts the first attempt, so 0 would mean never asking.
fn retry_max_attempts(r: &mut Resolver) -> u32 {
    let attempts = r.number(
        env::RETRY_MAX_ATTEMPTS,
        defaults::RETRY_MAX_ATTEMPTS,
        "a whole number of attempts",
    );
    if attempts == 0 {
        r.problem(
            env::RETRY_MAX_ATTEMPTS,
            Severity::Error,
            "must be at least 1",
        );
    }
    attempts
}

/// `MAX_ANSWER_BYTES`: at least [`defaults::MIN_ANSWER_BYTES`], so the model list fits.
fn max_answer_bytes(r: &mut Resolver) -> usize {
    let max = r.number(
        env::MAX_ANSWER_BYTES,
        defaults::MAX_ANSWER_BYTES,
        "a number of bytes",
    );
    if max < defaults::MIN_ANSWER_BYTES {
        r.problem(
            env::MAX_ANSWER_BYTES,
            Severity::Error,
            format!("must be at least {} (1 MiB)", defaults::MIN_ANSWER_BYTES),
        );
    }
    max
}

/// `MODEL_ALIASES`: ordered `pattern=model` rules; an invalid entry is an error naming it,
/// and no aliases apply then (rather than some of them).
fn model_aliases(r: &mut Resolver) -> ModelAliases {
    let Some(spec) = r.raw(env::MODEL_ALIASES, None) else {
        return ModelAliases::default();
    };
    match ModelAliases::parse(&spec) {
        Ok(aliases) => aliases,
        Err(invalid) => {
            r.problem(env::MODEL_ALIASES, Severity::Error, invalid.to_string());
            ModelAliases::default()
        }
    }
}

// --- Logs -----------------------------------------------------------------------------------

fn log_level(r: &mut Resolver) -> String {
    let level = r
        .string(env::LOG_LEVEL, defaults::LOG_LEVEL)
        .to_ascii_lowercase();
    if !matches!(
        level.as_str(),
        "error" | "warn" | "info" | "debug" | "trace"
    ) {
        r.problem(
            env::LOG_LEVEL,
            Severity::Error,
            format!("expected error, warn, info, debug or trace, got {level:?}"),
        );
    }
    level
}

fn log_format(r: &mut Resolver) -> LogFormat {
    let format = r
        .string(env::LOG_FORMAT, defaults::LOG_FORMAT)
        .to_ascii_lowercase();
    match format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            r.problem(
                env::LOG_FORMAT,
                Severity::Error,
                format!("expected text or json, got {other:?}"),
            );
            LogFormat::Text
        }
    }
}
