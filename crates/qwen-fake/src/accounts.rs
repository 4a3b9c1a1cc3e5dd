//! The fake's accounts: who may sign in, the tokens it issues, whose chats are whose, and
//! which account is rate-limited. Off (and the fake as open as before) when
//! [`FakeOptions::accounts`](crate::FakeOptions::accounts) is empty.
//!
//! Sign-in follows the real service (an Open WebUI descendant): `POST /api/v1/auths/signin`
//! with the SHA-256 hex of the password, answered with the user and a JWT, which also comes
//! back as a `token` cookie. The tokens are real HS256 JWTs with the payload of the newest
//! captures (PROTOCOL.md §2.1), so a client can read `exp` as it would upstream; they are
//! signed with a secret drawn when the fake starts and checked by recomputing the signature,
//! so the fake keeps no table of issued tokens (nothing to prune, nothing that grows), and
//! a token from another fake instance or an earlier run is refused like a forged one.
//! [`FakeUpstream::revoke_tokens`](crate::FakeUpstream::revoke_tokens) bumps an account's
//! signing generation, so its tokens stop working before they expire (a password change
//! upstream), which is how a test makes a token fail that the client still believes valid.
//!
//! Everything kept per account is a handful of counters and a limit, fixed in number by the
//! configuration; chat ownership lives in the chats themselves (see `chats.rs`), which are
//! bounded already.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{lock, now_secs};

/// One account the fake knows. The password is the plain one; sign-in sends its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeAccount {
    pub email: String,
    pub password: String,
}

impl FakeAccount {
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        FakeAccount {
            email: email.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for FakeAccount {
    /// Without the password: options are printed in test failures and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAccount")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How a rate-limited account is refused on `chats/new` and completions, set with
/// [`FakeUpstream::set_account_limit`](crate::FakeUpstream::set_account_limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLimit {
    /// HTTP 429 with `Retry-After`, like the `http429` fault.
    Http429 { retry_after_secs: u64 },
    /// HTTP 200 with the `RateLimited` envelope whose `num` is the hours to wait (the daily
    /// quota), like the `ratelimit` fault.
    Quota { hours: u32 },
}

/// The account a guarded request was authenticated as, put into the request's extensions
/// by the bearer check; `None` when the fake runs without accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller(pub Option<usize>);

/// Open WebUI's answer to a wrong email or password.
pub(crate) const WRONG_CREDENTIALS: &str =
    "The email or password provided is incorrect. Please check for typos and try logging in again.";

/// The JWT header of the newest captures, already encoded.
const JWT_HEADER: &str = r#"{"alg":"HS256","kid":"legacy","typ":"JWT"}"#;

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hex SHA-256, what sign-in sends instead of the password.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fixed part of one account.
struct Known {
    /// Stable: derived from the email, so it is the same in every run.
    id: String,
    email: String,
    name: String,
    password_sha256: String,
    last_password_change: u64,
}

/// The changing part of one account.
#[derive(Default)]
struct Tally {
    limit: Option<AccountLimit>,
    signins: usize,
    completions: usize,
    /// Signing generation; [`Accounts::revoke`] bumps it so older tokens fail.
    generation: u64,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    id: String,
    last_password_change: u64,
    #[serde(rename = "type")]
    kind: String,
    iat: u64,
    exp: u64,
}

/// A successful sign-in.
pub(crate) struct Issued {
    pub token: String,
    pub expires_at: u64,
}

/// The user document of an account (sign-in and `GET /api/v1/auths/`).
pub(crate) struct User<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
}

pub(crate) struct Accounts {
    known: Vec<Known>,
    tallies: Mutex<Vec<Tally>>,
    lifetime: Duration,
    secret: [u8; 32],
}

impl Accounts {
    /// Accounts from the options; a repeated email keeps its first password.
    pub(crate) fn new(accounts: Vec<FakeAccount>, lifetime: Duration) -> Self {
        let started = now_secs();
        let mut known: Vec<Known> = Vec::with_capacity(accounts.len());
        for account in accounts {
            if known
                .iter()
                .any(|k| k.email.eq_ignore_ascii_case(&account.email))
            {
                continue;
            }
            let digest = Sha256::digest(account.email.to_ascii_lowercase().as_bytes());
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            let name = account
                .email
                .split_once('@')
                .map_or(account.email.as_str(), |(local, _)| local)
                .to_owned();
            known.push(Known {
                id: uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string(),
                name,
                password_sha256: sha256_hex(&account.password),
                email: account.email,
                last_password_change: started,
            });
        }
        let tallies = known.iter().map(|_| Tally::default()).collect();
        Accounts {
            known,
            tallies: Mutex::new(tallies),
            lifetime,
            secret: random_bytes(),
        }
    }

    /// True when the fake checks accounts (some are configured).
    pub(crate) fn enabled(&self) -> bool {
        !self.known.is_empty()
    }

    /// The index of the account with `email` (ASCII case-insensitive, as Open WebUI
    /// lowercases emails).
    pub(crate) fn find(&self, email: &str) -> Option<usize> {
        self.known
            .iter()
            .position(|k| k.email.eq_ignore_ascii_case(email))
    }

    pub(crate) fn email(&self, index: usize) -> Option<&str> {
        self.known.get(index).map(|k| k.email.as_str())
    }

    pub(crate) fn user(&self, index: usize) -> Option<User<'_>> {
        self.known.get(index).map(|k| User {
            id: &k.id,
            email: &k.email,
            name: &k.name,
        })
    }

    /// Signs in with `email` and the SHA-256 hex `password_sha256`; `None` for a wrong
    /// password or an unknown email (the caller cannot tell which, as upstream).
    pub(crate) fn sign_in(&self, email: &str, password_sha256: &str) -> Option<(usize, Issued)> {
        let index = self.find(email)?;
        let known = &self.known[index];
        if known.password_sha256 != password_sha256 {
            return None;
        }
        let iat = now_secs();
        let exp = iat.saturating_add(self.lifetime.as_secs());
        let claims = Claims {
            id: known.id.clone(),
            last_password_change: known.last_password_change,
            kind: "access_token".to_owned(),
            iat,
            exp,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(JWT_HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let generation = {
            let mut tallies = lock(&self.tallies);
            let tally = &mut tallies[index];
            tally.signins += 1;
            tally.generation
        };
        let signature = self.mac(generation, &signing_input).finalize().into_bytes();
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        Some((
            index,
            Issued {
                token,
                expires_at: exp,
            },
        ))
    }

    /// The account a token authenticates: issued by this fake, to an account whose
    /// tokens were not revoked since, and not expired (`exp > now`, in whole seconds).
    pub(crate) fn verify(&self, token: &str) -> Option<usize> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || URL_SAFE_NO_PAD.decode(header).ok()? != JWT_HEADER.as_bytes() {
            return None;
        }
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let index = self.known.iter().position(|k| k.id == claims.id)?;
        let generation = lock(&self.tallies)[index].generation;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(generation, &token[..header.len() + 1 + payload.len()])
            .verify_slice(&signature)
            .ok()?;
        (claims.kind == "access_token" && claims.exp > now_secs()).then_some(index)
    }

    /// Makes every token issued so far to the account at `index` invalid.
    pub(crate) fn revoke(&self, index: usize) {
        if let Some(tally) = lock(&self.tallies).get_mut(index) {
            tally.generation += 1;
        }
    }

    pub(crate) fn set_limit(&self, index: usize, limit: Option<AccountLimit>) {
        if let Some(tally) = lock(&self.tallies).get_mut(index) {
            tally.limit = limit;
        }
    }

    pub(crate) fn limit(&self, caller: Caller) -> Option<AccountLimit> {
        let index = caller.0?;
        lock(&self.tallies).get(index)?.limit
    }

    pub(crate) fn count_completion(&self, caller: Caller) {
        if let Some(index) = caller.0
            && let Some(tally) = lock(&self.tallies).get_mut(index)
        {
            tally.completions += 1;
        }
    }

    pub(crate) fn signins(&self, index: usize) -> usize {
        lock(&self.tallies).get(index).map_or(0, |t| t.signins)
    }

    pub(crate) fn completions(&self, index: usize) -> usize {
        lock(&self.tallies).get(index).map_or(0, |t| t.completions)
    }

    fn mac(&self, generation: u64, signing_input: &str) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail; the fallback only keeps a
        // panic out of a request handler.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(&generation.to_be_bytes());
        mac.update(signing_input.as_bytes());
        mac
    }
}

/// A fresh anti-bot token in the shape of `bx-umidtoken` (`T2gA` and base64).
pub(crate) fn umid_token() -> String {
    let random: [u8; 32] = random_bytes();
    format!("T2gA{}", STANDARD.encode(&random[..31]))
}

/// Random bytes from the operating system, by way of UUIDv4 (122 random bits each), which
/// the fake already uses for its ids: good enough for a test server's signing secret.
fn random_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}
