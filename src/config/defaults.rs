//! Built-in defaults: what a variable is when no flag, environment variable or `.env` line
//! sets it, and where qwenctl keeps its files.
//!
//! The fingerprint values (`BX_V`, `WEB_VERSION`, `USER_AGENT`) are the ones PROTOCOL.md
//! observed (2026-09); the web app changes them every few weeks, hence the overrides.

use std::path::PathBuf;

pub const BASE_URL: &str = "https://chat.qwen.ai";
/// The public endpoint of PROTOCOL.md §2.2 that hands out `bx-umidtoken` values.
pub const UMID_URL: &str = "https://sg-wum.alibaba.com/w/wu.json";
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
pub const MAX_ANSWER_BYTES: usize = crate::qwen::DEFAULT_MAX_ANSWER_BYTES;
/// Smallest `MAX_ANSWER_BYTES` accepted: the model list must still fit.
pub const MIN_ANSWER_BYTES: usize = 1024 * 1024;
pub const SHUTDOWN_TIMEOUT_MS: u64 = 30_000;
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
pub const KEEPALIVE_TIMEOUT_MS: u64 = 60_000;
pub const ENABLE_PERSISTENCE: bool = true;
pub const ENABLE_CRUD_API: bool = true;
pub const ENABLE_UI: bool = true;
pub const LOG_LEVEL: &str = "info";
pub const LOG_FORMAT: &str = "text";

/// The data directory (history file of the REPL, caches).
pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("qwenctl")
}

/// The default accounts file: `<config dir>/qwenctl/accounts.toml`
/// (`~/.config/qwenctl/accounts.toml` on Linux).
pub fn accounts_file() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("qwenctl")
        .join("accounts.toml")
}

/// The default database file: `<data dir>/qwenctl/qwen_proxy.db`.
pub fn default_database_path() -> PathBuf {
    data_dir().join("qwen_proxy.db")
}
