//! The token cache, `tokens.json` beside the accounts file (design.md §12): the token each
//! account last obtained by logging in, so a restart does not log in again.
//!
//! Tokens are secrets, so the file is written like the accounts file (mode 0600, replaced in
//! one rename) and never goes to the database. Each entry names the email it was obtained
//! for: a token cached for another email (the account was re-added with a new one) is not
//! used. The file is a cache: a missing, unreadable or malformed one only means logging in
//! again, so reading never fails. Writes read the file again first and change one entry,
//! so two processes (a `serve` and a `qwenctl accounts login`) keep each other's tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// One cached token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub email: String,
    pub token: String,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("email", &self.email)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Layout {
    #[serde(default)]
    accounts: BTreeMap<String, CachedToken>,
}

/// The cache file; writes within one process are serialised.
#[derive(Debug)]
pub struct TokenCache {
    path: PathBuf,
    lock: Mutex<()>,
}

impl TokenCache {
    /// The cache beside `accounts_file`.
    pub fn beside(accounts_file: &Path) -> TokenCache {
        let dir = accounts_file.parent().unwrap_or(Path::new("."));
        TokenCache::at(&dir.join("tokens.json"))
    }

    /// The cache in the file `path`.
    pub fn at(path: &Path) -> TokenCache {
        TokenCache {
            path: path.to_owned(),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every cached token by account name; empty when the file is missing or unusable.
    pub fn load(&self) -> BTreeMap<String, CachedToken> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return BTreeMap::new();
        };
        match serde_json::from_str::<Layout>(&text) {
            Ok(layout) => layout.accounts,
            Err(_) => {
                tracing::warn!(
                    "ignoring the token cache {}: it is not valid (accounts will log in again)",
                    self.path.display()
                );
                BTreeMap::new()
            }
        }
    }

    /// The token cached for account `name` obtained with `email`.
    pub fn get(&self, name: &str, email: &str) -> Option<String> {
        self.load()
            .remove(name)
            .filter(|c| c.email.eq_ignore_ascii_case(email))
            .map(|c| c.token)
    }

    /// Stores `token` for account `name` (`None` forgets it).
    pub fn put(&self, name: &str, entry: Option<CachedToken>) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut accounts = self.load();
        match entry {
            Some(entry) => {
                accounts.insert(name.to_owned(), entry);
            }
            None => {
                if accounts.remove(name).is_none() {
                    return Ok(());
                }
            }
        }
        let text =
            serde_json::to_string_pretty(&Layout { accounts }).map_err(std::io::Error::other)?;
        super::file::write_private(&self.path, &format!("{text}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_per_account_and_email_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::beside(&dir.path().join("accounts.toml"));
        assert_eq!(cache.get("alice", "a@x.io"), None);
        let entry = |email: &str, token: &str| CachedToken {
            email: email.into(),
            token: token.into(),
        };
        cache.put("alice", Some(entry("a@x.io", "tok-a"))).unwrap();
        cache.put("bob", Some(entry("b@x.io", "tok-b"))).unwrap();
        // A second handle (another process) sees and keeps both.
        let other = TokenCache::beside(&dir.path().join("accounts.toml"));
        other.put("bob", Some(entry("b@x.io", "tok-b2"))).unwrap();
        assert_eq!(cache.get("alice", "A@x.io").as_deref(), Some("tok-a"));
        assert_eq!(cache.get("bob", "b@x.io").as_deref(), Some("tok-b2"));
        assert_eq!(cache.get("alice", "new@x.io"), None, "another email");
        cache.put("alice", None).unwrap();
        assert_eq!(cache.get("alice", "a@x.io"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(cache.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(cache.path(), "{not json").unwrap();
        assert!(cache.load().is_empty());
        assert!(!format!("{:?}", entry("e@x", "secret-tok")).contains("secret-tok"));
    }
}
