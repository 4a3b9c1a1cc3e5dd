//! Upstream accounts that stay alive (design.md §12): where the credentials come from, the
//! accounts file and its token cache, and the pool that logs accounts in, renews their
//! tokens, cools them down on rate limits and picks the account for each call.
//!
//! This module owns every decision about accounts and nothing else: the upstream calls
//! themselves (the sign-in, the `bx-umidtoken` fetch, the chat) are `crate::qwen`'s, made
//! with the [`crate::qwen::Credentials`] the [`Pool`] hands out; what a conversation does
//! when its account cools down is the engine's (`crate::session`). Secrets never leave it
//! but to the client: passwords and tokens are taught to the client's redactor the moment
//! they are read or obtained, and tokens are cached only in `tokens.json` (mode 0600),
//! never in the database.
//!
//! - `roster.rs` — [`Roster`]: the source in use (pasted cookies, `QWEN_EMAIL` and
//!   `QWEN_PASSWORD`, the accounts file; the first found wins) and its accounts.
//! - `file.rs` — the accounts file: its format, privacy (0600, refused when others can
//!   read it) and atomic writes.
//! - `tokens.rs` — [`TokenCache`], `tokens.json`.
//! - `pool.rs` — [`Pool`]: tokens, renewal, one sign-in in flight per account, cooldowns,
//!   selection, health.

pub mod file;
mod pool;
mod roster;
mod tokens;

#[cfg(test)]
mod tests;

pub use file::{FileAccount, FileError};
pub use pool::{
    AUTH_RETRY, AccountHealth, DEFAULT_COOLDOWN, Lease, Pool, Shared, Unavailable, mask_email,
    sha256_hex,
};
pub use roster::{AccountSecret, AccountSpec, PASTED_NAME, Roster, RosterError};
pub use tokens::{CachedToken, TokenCache};

use crate::config::Config;
use crate::qwen::{QwenClient, QwenError};

/// What every account shares, from the configuration.
pub fn shared(config: &Config) -> Shared {
    Shared {
        // With pasted cookies `QWEN_COOKIES` is the account itself, not extra cookies.
        extra_cookies: match config.credentials {
            crate::config::CredentialSource::Cookies => None,
            _ => config.qwen_cookies.clone(),
        },
        umid: config.qwen_token.clone(),
        umid_url: config.umid_url.clone(),
    }
}

/// The pool of `config`'s accounts on a new client.
pub fn pool(config: &Config, client: QwenClient) -> Result<Pool, PoolError> {
    let roster = Roster::load(config)?;
    Ok(Pool::new(client, roster, shared(config))?)
}

/// Why there is no pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(transparent)]
    Credentials(#[from] QwenError),
}
