//! The one redaction step between the upstream and every sink.
//!
//! Whatever the upstream says about a failure (a status text, an error body, an inline error
//! event) ends up in a [`QwenError`], and from there in the client's error message, the log,
//! the store and the REPL. A careless gateway may echo the request's credentials in such a
//! text (`you sent cookie=…; token=eyJ…`), so every error that leaves this module passes
//! through [`Redactor::error`], which replaces each known secret value with `<redacted>`:
//! the whole `Cookie` string, the value of each cookie, the session JWT, the `bx-umidtoken`,
//! each account's password and its SHA-256 hex, and every token a login gives. The client
//! applies it to every attempt's error (so the retry log is clean too) and the completion
//! stream to every error it returns; nothing else in the program sees an upstream text first.
//!
//! Secrets are learnt as they appear (design.md §12): the configured ones for good
//! ([`Redactor::remember`]), the ones that rotate (an account's token, a fetched umid token)
//! in a slot that keeps the last few ([`Redactor::learn`]), so a `serve` that renews tokens
//! for a month knows a bounded number of them.
//!
//! Details are shortened by [`super::classify`] before they reach here, which may cut a
//! secret at the end of a detail (`…`); a cut that ends in the beginning of a secret is
//! redacted as well, so not even a prefix leaves.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::{PoisonError, RwLock};

use super::QwenError;
use super::jwt::token_from_cookies;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Values shorter than this are not treated as secrets: cookies like `xlly_s=1` or
/// `lang=en` identify nobody, and replacing every `1` would mangle each message.
const MIN_SECRET_CHARS: usize = 8;

/// A cut-off secret at the end of a shortened detail is redacted from this many characters
/// on (three are always `eyJ` for a JWT and say nothing).
const MIN_PREFIX_CHARS: usize = 4;

/// The marker [`super::classify`] puts where it shortened a detail.
const ELLIPSIS: char = '…';

/// How many values a rotating slot keeps: the token in use, the one before (a request may
/// still carry it), and one more for good measure.
const SLOT_DEPTH: usize = 3;

/// Replaces the known secret values in upstream texts. Shared behind an `Arc` by the client,
/// its streams and the account pool, which teaches it; its `Debug` shows how many secrets it
/// knows, never one of them.
#[derive(Default)]
pub(crate) struct Redactor {
    known: RwLock<Known>,
}

#[derive(Default)]
struct Known {
    permanent: Vec<String>,
    slots: HashMap<String, VecDeque<String>>,
    /// Every secret in both sets and their decoded forms, longest first, so a secret that
    /// contains another (the whole cookie string contains every cookie value) is replaced
    /// whole.
    secrets: Vec<String>,
}

impl Known {
    fn rebuild(&mut self) {
        let mut secrets: Vec<String> = Vec::new();
        let values = self.permanent.iter().chain(self.slots.values().flatten());
        for value in values {
            let decoded = percent_decoded(value);
            for form in [Some(value.clone()), decoded].into_iter().flatten() {
                if form.chars().count() >= MIN_SECRET_CHARS && !secrets.contains(&form) {
                    secrets.push(form);
                }
            }
        }
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secrets = secrets;
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.read().secrets.len();
        write!(f, "Redactor({n} secrets)")
    }
}

impl Redactor {
    /// A redactor for the values of a `Cookie` header and the `bx-umidtoken`.
    #[cfg(test)]
    pub fn from_credentials(cookies: &str, umid_token: &str) -> Redactor {
        let r = Redactor::default();
        r.remember_cookies(cookies);
        r.remember(umid_token);
        r
    }

    /// A redactor for these values (short ones are ignored, see [`MIN_SECRET_CHARS`]); each
    /// is also known in its percent-decoded form, in case an echo decodes it.
    #[cfg(test)]
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let r = Redactor::default();
        for value in values {
            r.remember(value);
        }
        r
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Knows `value` for as long as the program runs (a password, a pasted credential).
    pub fn remember(&self, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let mut known = self.write();
        if !known.permanent.iter().any(|v| v == value) {
            known.permanent.push(value.to_owned());
            known.rebuild();
        }
    }

    /// Knows a whole `Cookie` header, its `token=` JWT and each cookie's value.
    pub fn remember_cookies(&self, cookies: &str) {
        self.remember(cookies);
        if let Some(token) = token_from_cookies(cookies) {
            self.remember(token);
        }
        for pair in cookies.split(';') {
            let value = pair.split_once('=').map_or(pair, |(_, value)| value);
            self.remember(value.trim().trim_matches('"'));
        }
    }

    /// Knows `value` as the newest of `slot` (an account's tokens, the fetched umid
    /// tokens); the oldest beyond [`SLOT_DEPTH`] is forgotten.
    pub fn learn(&self, slot: &str, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let mut known = self.write();
        let values = known.slots.entry(slot.to_owned()).or_default();
        if values.iter().any(|v| v == value) {
            return;
        }
        values.push_back(value.to_owned());
        while values.len() > SLOT_DEPTH {
            values.pop_front();
        }
        known.rebuild();
    }

    /// `text` with every secret replaced, and a secret cut off by a trailing `…` too.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let known = self.read();
        let mut out = Cow::Borrowed(text);
        for secret in &known.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        if let Some(cut) = out.strip_suffix(ELLIPSIS)
            && let Some(start) = cut_secret_start(&known.secrets, cut)
        {
            return Cow::Owned(format!("{}{REDACTED}{ELLIPSIS}", &cut[..start]));
        }
        out
    }

    /// `err` with every text it carries redacted.
    pub fn error(&self, err: QwenError) -> QwenError {
        if self.read().secrets.is_empty() {
            return err;
        }
        let text = |s: String| match self.text(&s) {
            Cow::Borrowed(_) => s,
            Cow::Owned(redacted) => redacted,
        };
        match err {
            QwenError::Auth { detail } => QwenError::Auth {
                detail: text(detail),
            },
            QwenError::Login { account, detail } => QwenError::Login {
                account,
                detail: text(detail),
            },
            QwenError::RateLimited {
                detail,
                retry_after,
            } => QwenError::RateLimited {
                detail: text(detail),
                retry_after,
            },
            QwenError::Blocked { detail } => QwenError::Blocked {
                detail: text(detail),
            },
            QwenError::NotFound { detail } => QwenError::NotFound {
                detail: text(detail),
            },
            QwenError::Upstream {
                status,
                code,
                detail,
                retryable,
            } => QwenError::Upstream {
                status,
                code: code.map(text),
                detail: text(detail),
                retryable,
            },
            QwenError::Network(detail) => QwenError::Network(text(detail)),
            QwenError::Protocol(detail) => QwenError::Protocol(text(detail)),
            QwenError::EmptyStream | QwenError::Truncated | QwenError::Timeout(_) => err,
        }
    }
}

/// Where a beginning of a secret (at least [`MIN_PREFIX_CHARS`] long) ends `text`.
fn cut_secret_start(secrets: &[String], text: &str) -> Option<usize> {
    secrets
        .iter()
        .filter_map(|secret| {
            // The longest prefix of `secret` that `text` ends with.
            secret
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .skip(MIN_PREFIX_CHARS - 1)
                .filter(|&end| end < secret.len())
                .filter(|&end| text.ends_with(&secret[..end]))
                .last()
                .map(|end| text.len() - end)
        })
        .min()
}

/// `value` with `%XX` escapes decoded, when it has any and they decode to UTF-8.
fn percent_decoded(value: &str) -> Option<String> {
    if !value.contains('%') {
        return None;
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|d| d != value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InNlY3JldC11c2VyIn0.c2lnbmF0dXJl";
    const COOKIES: &str = "cna=CnaSecretValue42; token=eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InNlY3JldC11c2VyIn0.c2lnbmF0dXJl; xlly_s=1; ssxmod=a%2Bb%2Fsecretish";

    fn redactor() -> Redactor {
        Redactor::from_credentials(COOKIES, "T2gAumidSecret==")
    }

    #[test]
    fn every_configured_value_is_replaced() {
        let r = redactor();
        let echo = format!("you sent cookie={COOKIES}; token={JWT}; umid T2gAumidSecret==");
        let out = r.text(&echo);
        for secret in [
            JWT,
            "CnaSecretValue42",
            "T2gAumidSecret==",
            "a%2Bb%2Fsecretish",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert_eq!(
            out,
            "you sent cookie=<redacted>; token=<redacted>; umid <redacted>"
        );
        // One value at a time, and decoded.
        assert_eq!(
            r.text("cna CnaSecretValue42 and a+b/secretish"),
            "cna <redacted> and <redacted>"
        );
        // Short values are no secrets, and texts without secrets are not copied.
        assert!(matches!(r.text("xlly_s=1 HTTP 401"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_cut_by_shortening_is_redacted_too() {
        let r = redactor();
        let cut = format!("HTTP 401: token={}…", &JWT[..30]);
        assert_eq!(r.text(&cut), "HTTP 401: token=<redacted>…");
        // Too short a tail to say anything, and no ellipsis: left alone.
        assert_eq!(r.text("ends in eyJ…"), "ends in eyJ…");
        assert_eq!(r.text("ends in CnaSec"), "ends in CnaSec");
    }

    #[test]
    fn errors_are_redacted_field_by_field() {
        let r = redactor();
        let err = QwenError::Upstream {
            status: Some(500),
            code: Some("CnaSecretValue42".into()),
            detail: format!("boom {JWT}"),
            retryable: true,
        };
        assert_eq!(
            r.error(err),
            QwenError::Upstream {
                status: Some(500),
                code: Some(REDACTED.into()),
                detail: format!("boom {REDACTED}"),
                retryable: true,
            }
        );
        let auth = r.error(QwenError::Auth {
            detail: "T2gAumidSecret==".into(),
        });
        assert_eq!(auth.to_string().matches(REDACTED).count(), 1);
        assert_eq!(r.error(QwenError::Truncated), QwenError::Truncated);
        assert!(!format!("{r:?}").contains("Secret"));
    }

    #[test]
    fn learnt_secrets_are_redacted_and_a_slot_keeps_only_the_newest() {
        let r = Redactor::default();
        assert!(matches!(r.text("nothing known yet"), Cow::Borrowed(_)));
        r.remember("hunter2-password");
        for n in 0..5 {
            r.learn("alice", &format!("eyJtoken-number-{n}"));
        }
        assert_eq!(
            r.text("pw hunter2-password tok eyJtoken-number-4"),
            "pw <redacted> tok <redacted>"
        );
        // The two oldest tokens fell out of the slot; the last three are known.
        assert_eq!(r.text("eyJtoken-number-0"), "eyJtoken-number-0");
        assert_eq!(r.text("eyJtoken-number-2"), REDACTED);
        let login = r.error(QwenError::Login {
            account: "alice".into(),
            detail: "echo hunter2-password".into(),
        });
        assert!(!login.to_string().contains("hunter2"), "{login}");
        assert!(format!("{r:?}").starts_with("Redactor(4 secrets"));
    }
}
