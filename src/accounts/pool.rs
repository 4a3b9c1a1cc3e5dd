//! [`Pool`]: the accounts in use and everything that keeps them alive (design.md §12).
//!
//! The pool owns each account's token and state, and decides four things, each in one
//! place: *which* account serves a call ([`Pool::acquire`]: the owner of the conversation's
//! chat when it can, else the healthy account used least recently; with a single account,
//! always that one, so a lone account behaves exactly as before); *when* to log in
//! ([`Pool::call`]: when there is no token, when less than a fifth of its lifetime is left,
//! and once more when the upstream refuses a token that should still be valid, before the
//! call is tried again); *how often* (one sign-in in flight per account: callers that find
//! its token stale wait for that one and share its result); and *how long* an account rests
//! (a rate limit cools it down for the wait the upstream names, or 60 s; a refused login
//! keeps it out for [`AUTH_RETRY`] so a wrong password is not tried on every request).
//!
//! The engine decides what a conversation does about it (stay, move, give up); the client
//! makes the calls with the [`Credentials`] the pool hands out. Every password, hash and
//! token is taught to the client's redactor before anything can echo it, and a token
//! obtained by logging in is written to the token cache (`tokens.json`), never anywhere
//! else. The log gets one line when an account logs in or renews, cools down, or fails.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use crate::config::Secret;
use crate::qwen::{Credentials, ErrorKind, QwenClient, QwenError, jwt_expiry, jwt_issued_at};
use crate::time::unix_now_ms;

use super::roster::{AccountSecret, Roster};
use super::tokens::{CachedToken, TokenCache};

/// How long a rate-limited account rests when the upstream names no wait.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(60);
/// How long an account whose login was refused is left alone before it is tried again.
pub const AUTH_RETRY: Duration = Duration::from_secs(600);
/// A token is renewed when less than `1 / RENEW_FRACTION` of its lifetime is left.
const RENEW_FRACTION: i64 = 5;
/// How long a failed `bx-umidtoken` fetch is remembered before the next try.
const UMID_RETRY: Duration = Duration::from_secs(60);
/// Pasted cookies are `expiring` when less than this is left.
const EXPIRING_WITHIN: Duration = Duration::from_secs(86_400);

/// An account event that went wrong: a warning in a service (`serve`), whose log is how
/// operators learn of it; an info line in one-shot commands, which report the failure in
/// their own one line.
macro_rules! trouble {
    ($pool:expr, $($arg:tt)+) => {
        if $pool.inner.service.load(Ordering::Relaxed) {
            tracing::warn!($($arg)+)
        } else {
            tracing::info!($($arg)+)
        }
    };
}

/// What every account shares: the extra browser cookies and where the `bx-umidtoken`
/// comes from.
#[derive(Clone, Default)]
pub struct Shared {
    /// `QWEN_COOKIES` without a `token=`: sent with every logged-in account.
    pub extra_cookies: Option<Secret>,
    /// `QWEN_TOKEN`: the `bx-umidtoken` of every account when set.
    pub umid: Option<Secret>,
    /// `QWEN_UMID_URL`: where logged-in accounts fetch one otherwise.
    pub umid_url: String,
}

/// The account pool; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("accounts", &self.names())
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: QwenClient,
    accounts: Vec<Arc<Account>>,
    extra_cookies: String,
    umid: Umid,
    tokens: Option<Arc<TokenCache>>,
    /// Hands out the order in which accounts were leased (least recently used first).
    clock: AtomicU64,
    /// Whether this is a long-running service (see `trouble!`).
    service: AtomicBool,
}

struct Account {
    name: String,
    kind: Kind,
    state: Mutex<State>,
    /// Held while signing in, so one sign-in per account is in flight.
    gate: tokio::sync::Mutex<()>,
}

enum Kind {
    /// Pasted cookies: one fixed set of credentials.
    Pasted {
        creds: Credentials,
        expires_at: Option<i64>,
    },
    Login {
        email: String,
        /// The SHA-256 hex of the password: what the sign-in sends.
        password_hash: String,
    },
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    /// Counts sign-ins, so a caller whose token was refused knows whether someone else
    /// already replaced it.
    generation: u64,
    /// Unix ms until which the account rests.
    cooldown_until: Option<i64>,
    /// The last refusal (a login, or pasted credentials), until a call succeeds.
    failure: Option<Failure>,
    last_used: u64,
}

struct Token {
    jwt: String,
    /// Unix ms: `iat`, or when it was obtained.
    issued_at: i64,
    /// Unix ms: `exp`, when the JWT has one.
    expires_at: Option<i64>,
    /// Unix ms by this machine's clock when this process obtained it (`None`: read from
    /// the cache).
    obtained: Option<i64>,
}

impl Token {
    /// A token this process just obtained.
    fn obtained(jwt: String, now: i64) -> Token {
        Token {
            obtained: Some(now),
            ..Token::cached(jwt, now)
        }
    }

    /// A token read from the cache.
    fn cached(jwt: String, now: i64) -> Token {
        Token {
            issued_at: jwt_issued_at(&jwt).map_or(now, |s| s.saturating_mul(1000)),
            expires_at: jwt_expiry(&jwt).map(|s| s.saturating_mul(1000)),
            obtained: None,
            jwt,
        }
    }

    /// Usable without renewing: more than a fifth of its lifetime left (a token without
    /// `exp` is used until the upstream refuses it). A token obtained less than a fifth of
    /// its lifetime ago is used whatever the clocks say: `iat` and `exp` are whole seconds
    /// of the upstream's clock, and a clock here that runs ahead of it must not make every
    /// call log in again (a refused token is still renewed, once, on the 401).
    fn is_fresh(&self, now: i64) -> bool {
        let Some(exp) = self.expires_at else {
            return true;
        };
        let lifetime = (exp - self.issued_at).max(1);
        let just_obtained = self
            .obtained
            .is_some_and(|at| (now - at).saturating_mul(RENEW_FRACTION) < lifetime);
        just_obtained || (exp - now).saturating_mul(RENEW_FRACTION) > lifetime
    }
}

struct Failure {
    at: i64,
    error: QwenError,
}

/// One account leased for a call.
#[derive(Clone)]
pub struct Lease {
    account: Arc<Account>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease({})", self.account.name)
    }
}

impl Lease {
    /// The account's name (what the store records).
    pub fn name(&self) -> &str {
        &self.account.name
    }

    /// Whether the account can log in again (not pasted cookies).
    pub fn renewable(&self) -> bool {
        matches!(self.account.kind, Kind::Login { .. })
    }
}

/// No account can take a call now.
#[derive(Debug, Clone)]
pub struct Unavailable {
    /// The earliest end of a cooldown, when some account is cooling down.
    pub retry_after: Option<Duration>,
    /// The refusal of a failing account, when none is cooling down.
    pub failure: Option<QwenError>,
}

impl Unavailable {
    /// What the client gets: a 429 with the earliest `Retry-After` while some account
    /// cools down, else the refusal that keeps the accounts out.
    pub fn into_error(self) -> QwenError {
        match (self.retry_after, self.failure) {
            (None, Some(failure)) => failure,
            (retry_after, _) => QwenError::RateLimited {
                detail: "every account is rate-limited or failing".to_owned(),
                retry_after,
            },
        }
    }
}

/// How `/health` and `qwenctl accounts list` show an account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountHealth {
    pub name: String,
    /// Shown as `a***@example.com`.
    pub email: Option<String>,
    /// `ok`, `cooling_down`, `auth_failed` or `expiring`.
    pub status: &'static str,
    /// RFC 3339, while cooling down.
    pub cooldown_until: Option<String>,
    /// RFC 3339, when the token's expiry is known.
    pub token_expires_at: Option<String>,
}

impl Pool {
    /// The pool of `roster`'s accounts, with the tokens of the cache that are still valid.
    /// Every secret is taught to the client's redactor here.
    pub fn new(client: QwenClient, roster: Roster, shared: Shared) -> Result<Pool, QwenError> {
        let redactor = client.redactor().clone();
        let tokens = roster
            .tokens_file
            .as_deref()
            .map(|path| Arc::new(TokenCache::at(path)));
        let cached = tokens.as_deref().map(TokenCache::load).unwrap_or_default();
        let now = unix_now_ms();
        let mut accounts = Vec::new();
        for spec in roster.accounts {
            let (kind, token) = match spec.secret {
                AccountSecret::Pasted {
                    cookies,
                    umid,
                    expires_at,
                } => {
                    redactor.remember_cookies(cookies.expose());
                    if let Some(umid) = &umid {
                        redactor.remember(umid.expose());
                    }
                    let creds =
                        Credentials::pasted(cookies.expose(), umid.as_ref().map(Secret::expose))?;
                    (Kind::Pasted { creds, expires_at }, None)
                }
                AccountSecret::Login { email, password } => {
                    let password_hash = sha256_hex(password.expose());
                    redactor.remember(password.expose());
                    redactor.remember(&password_hash);
                    let token = cached
                        .get(&spec.name)
                        .filter(|c| c.email.eq_ignore_ascii_case(&email))
                        .map(|c| Token::cached(c.token.clone(), now))
                        .filter(|t| t.expires_at.is_none_or(|exp| exp > now));
                    if let Some(token) = &token {
                        redactor.learn(&spec.name, &token.jwt);
                    }
                    (
                        Kind::Login {
                            email,
                            password_hash,
                        },
                        token,
                    )
                }
            };
            accounts.push(Arc::new(Account {
                name: spec.name,
                kind,
                state: Mutex::new(State {
                    token,
                    ..State::default()
                }),
                gate: tokio::sync::Mutex::new(()),
            }));
        }
        if let Some(extra) = &shared.extra_cookies {
            redactor.remember_cookies(extra.expose());
        }
        if let Some(umid) = &shared.umid {
            redactor.remember(umid.expose());
        }
        Ok(Pool {
            inner: Arc::new(Inner {
                client,
                accounts,
                extra_cookies: shared
                    .extra_cookies
                    .as_ref()
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default(),
                umid: Umid {
                    fixed: shared.umid.as_ref().map(|s| s.expose().to_owned()),
                    url: shared.umid_url,
                    state: Mutex::default(),
                    gate: tokio::sync::Mutex::new(()),
                },
                tokens,
                clock: AtomicU64::new(1),
                service: AtomicBool::new(false),
            }),
        })
    }

    /// Marks the pool as a long-running service's (`serve`): account failures are logged
    /// as warnings.
    pub fn serving(self) -> Pool {
        self.inner.service.store(true, Ordering::Relaxed);
        self
    }

    /// The upstream client the pool's credentials are for.
    pub fn client(&self) -> &QwenClient {
        &self.inner.client
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.inner.accounts.len()
    }

    /// Whether there is no account at all.
    pub fn is_empty(&self) -> bool {
        self.inner.accounts.is_empty()
    }

    /// The accounts' names, in roster order.
    pub fn names(&self) -> Vec<String> {
        self.inner.accounts.iter().map(|a| a.name.clone()).collect()
    }

    /// The account named `name`, leased without asking whether it is healthy (for the
    /// commands that work on one account).
    pub fn lease(&self, name: &str) -> Option<Lease> {
        let account = self.inner.accounts.iter().find(|a| a.name == name)?;
        Some(self.lease_of(account))
    }

    fn lease_of(&self, account: &Arc<Account>) -> Lease {
        lock(&account.state).last_used = self.inner.clock.fetch_add(1, Ordering::Relaxed);
        Lease {
            account: Arc::clone(account),
        }
    }

    /// The account for a call: `owner` (the account that owns the conversation's chat) when
    /// it is available, else the available account used least recently, leaving out the
    /// accounts already `tried` for this call. A single account is always leased for a
    /// first try, cooling down or not: cooldown only steers traffic between accounts.
    pub fn acquire(&self, owner: Option<&str>, tried: &[String]) -> Result<Lease, Unavailable> {
        let now = unix_now_ms();
        let candidates = || {
            self.inner
                .accounts
                .iter()
                .filter(|a| !tried.iter().any(|t| *t == a.name))
        };
        let available = |a: &&Arc<Account>| lock(&a.state).is_available(now);
        if let Some(owner) = owner
            && let Some(account) = candidates().filter(available).find(|a| a.name == owner)
        {
            return Ok(self.lease_of(account));
        }
        let best = candidates()
            .filter(available)
            .min_by_key(|a| lock(&a.state).last_used);
        if let Some(account) = best {
            return Ok(self.lease_of(account));
        }
        if let ([only], []) = (self.inner.accounts.as_slice(), tried) {
            return Ok(self.lease_of(only));
        }
        let mut unavailable = Unavailable {
            retry_after: None,
            failure: None,
        };
        for account in &self.inner.accounts {
            let state = lock(&account.state);
            if let Some(until) = state.cooldown_until.filter(|u| *u > now) {
                let wait = Duration::from_millis(u64::try_from(until - now).unwrap_or(0));
                unavailable.retry_after =
                    Some(unavailable.retry_after.map_or(wait, |w| w.min(wait)));
            } else if let Some(failure) = &state.failure
                && unavailable.failure.is_none()
            {
                unavailable.failure = Some(failure.error.clone());
            }
        }
        Err(unavailable)
    }

    /// Runs one upstream call with the leased account's credentials: logs in first when
    /// its token is missing or due for renewal, and when the upstream refuses a token that
    /// should still be valid, logs in once more and tries the call once more. The outcome
    /// is noted (a rate limit cools the account down; metrics by account).
    pub async fn call<T, F, Fut>(
        &self,
        lease: &Lease,
        deadline: Instant,
        op: F,
    ) -> Result<T, QwenError>
    where
        F: Fn(Credentials) -> Fut,
        Fut: Future<Output = Result<T, QwenError>>,
    {
        let result = self.call_once_renewed(lease, deadline, &op).await;
        self.note(lease, result.as_ref().err());
        result
    }

    async fn call_once_renewed<T, F, Fut>(
        &self,
        lease: &Lease,
        deadline: Instant,
        op: &F,
    ) -> Result<T, QwenError>
    where
        F: Fn(Credentials) -> Fut,
        Fut: Future<Output = Result<T, QwenError>>,
    {
        let account = &lease.account;
        let (creds, generation) = self.credentials(account, deadline).await?;
        match op(creds).await {
            Err(QwenError::Auth { detail }) if lease.renewable() => {
                tracing::info!(
                    account = %account.name,
                    "Qwen refused the token of account `{}` ({detail}); logging in again",
                    account.name
                );
                let creds = self.relogin(account, generation, deadline).await?;
                op(creds).await.map_err(|err| match err {
                    QwenError::Auth { detail } => QwenError::Login {
                        account: account.name.clone(),
                        detail: format!("a fresh token was refused too: {detail}"),
                    },
                    other => other,
                })
            }
            result => result,
        }
    }

    /// Notes a failure of the leased account's answer after its call succeeded (a stream
    /// that broke off with a rate limit cools the account down too).
    pub fn note_failure(&self, lease: &Lease, err: &QwenError) {
        metrics::counter!(
            "qwen_upstream_errors_total",
            "account" => lease.account.name.clone(),
            "kind" => err.kind().as_str()
        )
        .increment(1);
        self.react(lease, err);
    }

    fn note(&self, lease: &Lease, err: Option<&QwenError>) {
        let account = &lease.account;
        let outcome = err.map_or("ok", |e| e.kind().as_str());
        metrics::counter!(
            "qwen_api_calls_total",
            "account" => account.name.clone(),
            "outcome" => outcome
        )
        .increment(1);
        match err {
            None => {
                let mut state = lock(&account.state);
                if state.failure.take().is_some() {
                    tracing::info!(account = %account.name, "account `{}` works again", account.name);
                }
            }
            Some(err) => self.note_failure(lease, err),
        }
    }

    /// What a failure means for the account.
    fn react(&self, lease: &Lease, err: &QwenError) {
        let account = &lease.account;
        match err {
            QwenError::RateLimited { retry_after, .. } => {
                self.cool_down(account, retry_after.unwrap_or(DEFAULT_COOLDOWN));
            }
            QwenError::Blocked { .. } => self.inner.umid.rejected(),
            QwenError::Auth { .. } if !lease.renewable() => {
                let mut state = lock(&account.state);
                if state.failure.is_none() {
                    trouble!(
                        self,
                        account = %account.name,
                        "Qwen refused the pasted cookies: refresh QWEN_COOKIES (and QWEN_TOKEN)"
                    );
                }
                state.failure = Some(Failure {
                    at: unix_now_ms(),
                    error: err.clone(),
                });
            }
            QwenError::Login { .. } => {
                lock(&account.state).failure = Some(Failure {
                    at: unix_now_ms(),
                    error: err.clone(),
                });
            }
            _ => {}
        }
    }

    /// The cooldown of the account named `name` that is still running: until when (unix
    /// ms). What a replica shares with the others through the store.
    pub fn cooldown_of(&self, name: &str) -> Option<i64> {
        let now = unix_now_ms();
        let account = self.inner.accounts.iter().find(|a| a.name == name)?;
        lock(&account.state).cooldown_until.filter(|u| *u > now)
    }

    /// Takes on a cooldown another replica recorded (issue 19): the account named `name`
    /// rests until `until_ms` here too, so new conversations go to another account. Only
    /// ever lengthens a cooldown; an unknown name (an account only the other replica has)
    /// changes nothing.
    pub fn adopt_cooldown(&self, name: &str, until_ms: i64) {
        let now = unix_now_ms();
        let Some(account) = self.inner.accounts.iter().find(|a| a.name == name) else {
            return;
        };
        let mut state = lock(&account.state);
        if until_ms <= now || state.cooldown_until.is_some_and(|u| u >= until_ms) {
            return;
        }
        let cooling = state.cooldown_until.is_some_and(|u| u > now);
        state.cooldown_until = Some(until_ms);
        drop(state);
        if !cooling {
            tracing::info!(
                account = %account.name,
                "account `{}` is rate-limited (seen by another replica); it cools down for {} s",
                account.name,
                (until_ms - now + 999) / 1000
            );
        }
    }

    fn cool_down(&self, account: &Account, wait: Duration) {
        let now = unix_now_ms();
        let until = now.saturating_add(crate::time::duration_ms(wait));
        let mut state = lock(&account.state);
        let cooling = state.cooldown_until.is_some_and(|u| u > now);
        if state.cooldown_until.is_none_or(|u| u < until) {
            state.cooldown_until = Some(until);
        }
        drop(state);
        if !cooling {
            metrics::counter!("qwen_account_cooldowns_total", "account" => account.name.clone())
                .increment(1);
            trouble!(
                self,
                account = %account.name,
                "account `{}` is rate-limited; it cools down for {}",
                account.name,
                humantime::format_duration(Duration::from_secs(wait.as_secs().max(1)))
            );
        }
    }

    /// The credentials of the account, logging in first when needed (one sign-in per
    /// account in flight; the others wait for it), with the sign-in generation they belong
    /// to.
    async fn credentials(
        &self,
        account: &Account,
        deadline: Instant,
    ) -> Result<(Credentials, u64), QwenError> {
        if let Kind::Pasted { creds, .. } = &account.kind {
            return Ok((creds.clone(), 0));
        }
        if let Some((jwt, generation)) = current(account)? {
            return Ok((self.token_credentials(&jwt, deadline).await?, generation));
        }
        let _gate = account.gate.lock().await;
        if let Some((jwt, generation)) = current(account)? {
            return Ok((self.token_credentials(&jwt, deadline).await?, generation));
        }
        self.sign_in(account, deadline).await
    }

    /// After the upstream refused the token of sign-in `generation`: a new sign-in, unless
    /// another caller already made one while this one waited.
    async fn relogin(
        &self,
        account: &Account,
        generation: u64,
        deadline: Instant,
    ) -> Result<Credentials, QwenError> {
        let _gate = account.gate.lock().await;
        let renewed = {
            let state = lock(&account.state);
            state
                .token
                .as_ref()
                .filter(|_| state.generation != generation)
                .map(|t| t.jwt.clone())
        };
        match renewed {
            Some(jwt) => self.token_credentials(&jwt, deadline).await,
            None => self
                .sign_in(account, deadline)
                .await
                .map(|(creds, _)| creds),
        }
    }

    /// Logs the account in now, whatever its token (`qwenctl accounts login`); the token's
    /// expiry (unix seconds) when it has one.
    pub async fn login_now(&self, lease: &Lease) -> Result<Option<i64>, QwenError> {
        let account = &lease.account;
        if !lease.renewable() {
            return Err(QwenError::Protocol(
                "pasted cookies cannot log in; refresh QWEN_COOKIES from the browser".into(),
            ));
        }
        let deadline = self.inner.client.deadline();
        let _gate = account.gate.lock().await;
        lock(&account.state).failure = None;
        self.sign_in(account, deadline).await?;
        Ok(self.token_expiry(lease))
    }

    /// Proves the account upstream (logging in when needed): the auth check, like
    /// `validate-config --online`. The token's expiry (unix seconds) when known.
    pub async fn prove(&self, lease: &Lease) -> Result<Option<i64>, QwenError> {
        let client = self.inner.client.clone();
        self.call(lease, client.deadline(), |creds| {
            let client = client.clone();
            async move { client.check_auth(&creds).await }
        })
        .await?;
        Ok(self.token_expiry(lease))
    }

    /// The expiry (unix seconds) of the account's token, when known.
    pub fn token_expiry(&self, lease: &Lease) -> Option<i64> {
        match &lease.account.kind {
            Kind::Pasted { expires_at, .. } => *expires_at,
            Kind::Login { .. } => lock(&lease.account.state)
                .token
                .as_ref()
                .and_then(|t| t.expires_at)
                .map(|ms| ms / 1000),
        }
    }

    async fn sign_in(
        &self,
        account: &Account,
        deadline: Instant,
    ) -> Result<(Credentials, u64), QwenError> {
        let Kind::Login {
            email,
            password_hash,
        } = &account.kind
        else {
            return Err(QwenError::Protocol("pasted cookies cannot log in".into()));
        };
        let name = &account.name;
        let anonymous = self.anonymous(deadline).await?;
        let result = self
            .inner
            .client
            .sign_in(&anonymous, email, password_hash, deadline)
            .await;
        let jwt = match result {
            Ok(jwt) => jwt,
            Err(err) => {
                let err = match err {
                    QwenError::Auth { detail } => QwenError::Login {
                        account: name.clone(),
                        detail,
                    },
                    QwenError::Blocked { .. } => {
                        self.inner.umid.rejected();
                        err
                    }
                    other => other,
                };
                if err.kind() == ErrorKind::Auth {
                    lock(&account.state).failure = Some(Failure {
                        at: unix_now_ms(),
                        error: err.clone(),
                    });
                }
                trouble!(self, account = %name, "account `{name}` cannot log in: {err}");
                return Err(err);
            }
        };
        self.inner.client.redactor().learn(name, &jwt);
        let now = unix_now_ms();
        let token = Token::obtained(jwt.clone(), now);
        let lifetime = token
            .expires_at
            .map(|exp| Duration::from_millis(u64::try_from(exp - now).unwrap_or(0)));
        let (generation, renewed) = {
            let mut state = lock(&account.state);
            let renewed = state.token.is_some();
            state.token = Some(token);
            state.generation += 1;
            state.failure = None;
            (state.generation, renewed)
        };
        tracing::info!(
            account = %name,
            "account `{name}` {}; the token is valid for {}",
            if renewed { "renewed its token" } else { "logged in" },
            lifetime.map_or_else(|| "an unknown time".to_owned(), |d| {
                humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
            })
        );
        self.save_token(name, email, &jwt).await;
        Ok((self.token_credentials(&jwt, deadline).await?, generation))
    }

    async fn save_token(&self, name: &str, email: &str, jwt: &str) {
        let Some(cache) = self.inner.tokens.clone() else {
            return;
        };
        let entry = CachedToken {
            email: email.to_owned(),
            token: jwt.to_owned(),
        };
        let path = cache.path().to_owned();
        let name = name.to_owned();
        // A tiny file, written once per sign-in; off the async workers all the same.
        let written = tokio::task::spawn_blocking(move || cache.put(&name, Some(entry)))
            .await
            .unwrap_or_else(|err| Err(std::io::Error::other(err)));
        if let Err(err) = written {
            tracing::warn!(
                "cannot write the token cache {}: {err} (the next start logs in again)",
                path.display()
            );
        }
    }

    /// Credentials for a login token, with the shared cookies and umid token.
    async fn token_credentials(
        &self,
        jwt: &str,
        deadline: Instant,
    ) -> Result<Credentials, QwenError> {
        let umid = self.inner.umid.get(&self.inner.client, deadline).await;
        Credentials::token(jwt, &self.inner.extra_cookies, umid.as_deref())
    }

    /// The shared cookies and umid token without any account (the sign-in itself).
    async fn anonymous(&self, deadline: Instant) -> Result<Credentials, QwenError> {
        let umid = self.inner.umid.get(&self.inner.client, deadline).await;
        Credentials::anonymous(&self.inner.extra_cookies, umid.as_deref())
    }

    /// Credentials for calls that need no particular account (the model list, which the
    /// upstream serves anonymously): the account used most recently when it holds a valid
    /// token, else none, so listing models never makes anyone log in.
    pub async fn ambient(&self) -> Credentials {
        let now = unix_now_ms();
        let recent = self
            .inner
            .accounts
            .iter()
            .max_by_key(|a| lock(&a.state).last_used);
        let deadline = self.inner.client.deadline();
        if let Some(account) = recent {
            match &account.kind {
                Kind::Pasted { creds, .. } => return creds.clone(),
                Kind::Login { .. } => {
                    let jwt = lock(&account.state)
                        .token
                        .as_ref()
                        .filter(|t| t.expires_at.is_none_or(|exp| exp > now))
                        .map(|t| t.jwt.clone());
                    if let Some(jwt) = jwt
                        && let Ok(creds) = self.token_credentials(&jwt, deadline).await
                    {
                        return creds;
                    }
                }
            }
        }
        self.anonymous(deadline).await.unwrap_or_default()
    }

    /// Every account as `/health` shows it.
    pub fn health(&self) -> Vec<AccountHealth> {
        let now = unix_now_ms();
        self.inner
            .accounts
            .iter()
            .map(|account| {
                let state = lock(&account.state);
                let cooldown_until = state.cooldown_until.filter(|u| *u > now);
                let (email, expires_at) = match &account.kind {
                    Kind::Pasted { expires_at, .. } => (None, expires_at.map(|s| s * 1000)),
                    Kind::Login { email, .. } => (
                        Some(mask_email(email)),
                        state.token.as_ref().and_then(|t| t.expires_at),
                    ),
                };
                let expiring = matches!(account.kind, Kind::Pasted { .. })
                    && expires_at
                        .is_some_and(|exp| exp - now < crate::time::duration_ms(EXPIRING_WITHIN));
                let status = if state.failure.is_some() {
                    "auth_failed"
                } else if cooldown_until.is_some() {
                    "cooling_down"
                } else if expiring {
                    "expiring"
                } else {
                    "ok"
                };
                AccountHealth {
                    name: account.name.clone(),
                    email,
                    status,
                    cooldown_until: cooldown_until.map(rfc3339),
                    token_expires_at: expires_at.map(rfc3339),
                }
            })
            .collect()
    }
}

impl State {
    /// Neither cooling down nor kept out after a refused login.
    fn is_available(&self, now: i64) -> bool {
        let cooling = self.cooldown_until.is_some_and(|u| u > now);
        let refused = self
            .failure
            .as_ref()
            .is_some_and(|f| now - f.at < crate::time::duration_ms(AUTH_RETRY));
        !cooling && !refused
    }
}

/// The account's token when it is fresh, with its generation; the remembered refusal while
/// the account is kept out after a refused login.
fn current(account: &Account) -> Result<Option<(String, u64)>, QwenError> {
    let now = unix_now_ms();
    let state = lock(&account.state);
    if let Some(failure) = &state.failure
        && failure.error.kind() == ErrorKind::Auth
        && now - failure.at < crate::time::duration_ms(AUTH_RETRY)
    {
        return Err(failure.error.clone());
    }
    Ok(state
        .token
        .as_ref()
        .filter(|t| t.is_fresh(now))
        .map(|t| (t.jwt.clone(), state.generation)))
}

/// Where the `bx-umidtoken` of logged-in accounts comes from: `QWEN_TOKEN`, or a token
/// fetched from `QWEN_UMID_URL`, kept until the upstream rejects a request (a WAF answer),
/// then fetched again.
struct Umid {
    fixed: Option<String>,
    url: String,
    state: Mutex<UmidState>,
    gate: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct UmidState {
    token: Option<String>,
    failed_at: Option<i64>,
}

impl Umid {
    async fn get(&self, client: &QwenClient, deadline: Instant) -> Option<String> {
        if let Some(fixed) = &self.fixed {
            return Some(fixed.clone());
        }
        let ready = || {
            let state = lock(&self.state);
            let recently_failed = state
                .failed_at
                .is_some_and(|at| unix_now_ms() - at < crate::time::duration_ms(UMID_RETRY));
            (state.token.clone(), recently_failed)
        };
        let (token, recently_failed) = ready();
        if token.is_some() || recently_failed {
            return token;
        }
        let _gate = self.gate.lock().await;
        let (token, recently_failed) = ready();
        if token.is_some() || recently_failed {
            return token;
        }
        match client.fetch_umid(&self.url, deadline).await {
            Ok(token) => {
                let mut state = lock(&self.state);
                state.token = Some(token.clone());
                state.failed_at = None;
                Some(token)
            }
            Err(err) => {
                tracing::warn!(
                    "cannot fetch a bx-umidtoken from QWEN_UMID_URL ({err}); calls go without \
                     one (set QWEN_TOKEN to give one)"
                );
                lock(&self.state).failed_at = Some(unix_now_ms());
                None
            }
        }
    }

    /// The upstream rejected a request: the next one fetches a new token.
    fn rejected(&self) {
        if self.fixed.is_none() {
            lock(&self.state).token = None;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The SHA-256 hex of the password: what the sign-in sends (PROTOCOL.md §2.1).
pub fn sha256_hex(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `alice@example.com` → `a***@example.com`.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first: String = local.chars().take(1).collect();
    if domain.is_empty() {
        format!("{first}***")
    } else {
        format!("{first}***@{domain}")
    }
}

/// Unix ms → RFC 3339 (UTC, seconds).
fn rfc3339(ms: i64) -> String {
    let secs = u64::try_from(ms.max(0) / 1000).unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod token_tests {
    use super::Token;

    /// `{"iat": 1000, "exp": 1900}` (a 15-minute token).
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InUiLCJpYXQiOjEwMDAsImV4cCI6MTkwMH0.sig";

    #[test]
    fn renewal_starts_when_a_fifth_of_the_lifetime_is_left() {
        let cached = Token::cached(JWT.into(), 0);
        assert!(cached.is_fresh(1_000_000));
        assert!(cached.is_fresh(1_719_000), "181 s left of 900");
        assert!(!cached.is_fresh(1_721_000), "179 s left");
        assert!(!cached.is_fresh(2_000_000), "expired");
    }

    #[test]
    fn a_token_just_obtained_is_used_even_when_the_clocks_disagree() {
        // This machine's clock is 13 minutes ahead of the upstream's: by `exp`, the token
        // is due for renewal the moment it arrives.
        let ahead = 1_000_000 + 13 * 60_000;
        let token = Token::obtained(JWT.into(), ahead);
        assert!(token.is_fresh(ahead + 1000));
        assert!(token.is_fresh(ahead + 179_000));
        assert!(
            !token.is_fresh(ahead + 181_000),
            "renewed a fifth of a lifetime later"
        );
    }
}
