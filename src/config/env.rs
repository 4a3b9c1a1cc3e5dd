//! The names of every environment variable, in one place, so a name is never spelled twice.
//!
//! They are the names the Node.js proxy used, so an existing `.env` keeps working.
//! [`ALL`] is the order `validate-config` shows them in; `.env.example` is kept in step with it
//! by a test, and [`SECRETS`] are always shown redacted.

/// The browser's whole `Cookie` header for chat.qwen.ai (must contain `token=<JWT>`).
pub const QWEN_COOKIES: &str = "QWEN_COOKIES";
/// The `bx-umidtoken` header value.
pub const QWEN_TOKEN: &str = "QWEN_TOKEN";
/// The email of one account logged in by email and password (design.md §12).
pub const QWEN_EMAIL: &str = "QWEN_EMAIL";
/// The password of the `QWEN_EMAIL` account.
pub const QWEN_PASSWORD: &str = "QWEN_PASSWORD";
/// The accounts file managed by `qwenctl accounts` (`tokens.json` lives beside it).
pub const QWEN_ACCOUNTS_FILE: &str = "QWEN_ACCOUNTS_FILE";
/// Where logged-in accounts fetch a `bx-umidtoken` when `QWEN_TOKEN` is not set.
pub const QWEN_UMID_URL: &str = "QWEN_UMID_URL";
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
/// Comma-separated admin keys: valid API keys that see and manage every key's exchanges.
pub const ADMIN_API_KEYS: &str = "ADMIN_API_KEYS";
/// Comma-separated `Host` names (optional ports) a keyless `serve` answers besides loopback.
pub const ALLOWED_HOSTS: &str = "ALLOWED_HOSTS";
/// Browser origins allowed to call `serve`: `*` or comma-separated origins.
pub const CORS_ORIGINS: &str = "CORS_ORIGINS";
/// SQLite file.
pub const DATABASE_PATH: &str = "DATABASE_PATH";
/// PostgreSQL database (`postgres://…`) shared by several `serve` replicas, instead of the
/// SQLite file.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Log exchanges to SQLite.
pub const ENABLE_PERSISTENCE: &str = "ENABLE_PERSISTENCE";
/// Serve the data endpoints.
pub const ENABLE_CRUD_API: &str = "ENABLE_CRUD_API";
/// Serve the web console at `/ui` (only with the data endpoints).
pub const ENABLE_UI: &str = "ENABLE_UI";
/// ms of inactivity after which a conversation is no longer continued upstream.
pub const SESSION_TIMEOUT: &str = "SESSION_TIMEOUT";
/// Upstream attempts for retryable failures before the first byte.
pub const RETRY_MAX_ATTEMPTS: &str = "RETRY_MAX_ATTEMPTS";
/// ms the upstream model list is cached.
pub const MODELS_CACHE_DURATION: &str = "MODELS_CACHE_DURATION";
/// Comma-separated `pattern=model` rules mapping other vendors' model names onto upstream ones.
pub const MODEL_ALIASES: &str = "MODEL_ALIASES";
/// ms between SSE keep-alive comments while the upstream is silent.
pub const SSE_KEEPALIVE_INTERVAL: &str = "SSE_KEEPALIVE_INTERVAL";
/// Largest accepted request body, in bytes.
pub const MAX_REQUEST_BODY: &str = "MAX_REQUEST_BODY";
/// Largest upstream answer (streamed text, or a whole JSON reply), in bytes.
pub const MAX_ANSWER_BYTES: &str = "MAX_ANSWER_BYTES";
/// ms open streams get to finish on shutdown.
pub const SHUTDOWN_TIMEOUT: &str = "SHUTDOWN_TIMEOUT";
/// ms a client has to send a complete request head.
pub const HEADER_READ_TIMEOUT: &str = "HEADER_READ_TIMEOUT";
/// ms an idle keep-alive connection waits for its next request.
pub const KEEPALIVE_TIMEOUT: &str = "KEEPALIVE_TIMEOUT";
/// Most client connections `serve` holds at once (`auto`: from the file limit).
pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
/// `error`, `warn`, `info`, `debug` or `trace`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";
/// `text` or `json`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";

/// Every variable, in the order `validate-config` and `.env.example` show them.
pub const ALL: &[&str] = &[
    QWEN_COOKIES,
    QWEN_TOKEN,
    QWEN_EMAIL,
    QWEN_PASSWORD,
    QWEN_ACCOUNTS_FILE,
    QWEN_UMID_URL,
    QWEN_BASE_URL,
    QWEN_BX_V,
    QWEN_WEB_VERSION,
    QWEN_USER_AGENT,
    QWEN_CONNECT_TIMEOUT,
    QWEN_FIRST_BYTE_TIMEOUT,
    QWEN_IDLE_TIMEOUT,
    MAX_ANSWER_BYTES,
    HOST,
    PORT,
    API_KEYS,
    ADMIN_API_KEYS,
    ALLOWED_HOSTS,
    CORS_ORIGINS,
    DATABASE_PATH,
    DATABASE_URL,
    ENABLE_PERSISTENCE,
    ENABLE_CRUD_API,
    ENABLE_UI,
    SESSION_TIMEOUT,
    RETRY_MAX_ATTEMPTS,
    MODELS_CACHE_DURATION,
    MODEL_ALIASES,
    SSE_KEEPALIVE_INTERVAL,
    MAX_REQUEST_BODY,
    SHUTDOWN_TIMEOUT,
    HEADER_READ_TIMEOUT,
    KEEPALIVE_TIMEOUT,
    MAX_CONNECTIONS,
    LOG_LEVEL,
    LOG_FORMAT,
];

/// Variables whose values are secrets and are always shown redacted.
pub const SECRETS: &[&str] = &[
    QWEN_COOKIES,
    QWEN_TOKEN,
    QWEN_PASSWORD,
    API_KEYS,
    ADMIN_API_KEYS,
];

/// Variables about the upstream credentials: their problems only stop the commands that
/// talk to Qwen.
pub const CREDENTIALS: &[&str] = &[
    QWEN_COOKIES,
    QWEN_TOKEN,
    QWEN_EMAIL,
    QWEN_PASSWORD,
    QWEN_ACCOUNTS_FILE,
    QWEN_UMID_URL,
];
