//! The accounts the configuration names, before any of them is used: which credential
//! source is in use (design.md §12: pasted cookies, one email and password, the accounts
//! file; the first found wins), and each account's name and secret.
//!
//! Reading the accounts file is the only I/O here and it never touches the network, so
//! `validate-config` can report the roster without side effects, and every command that
//! talks to the upstream refuses a bad one (a missing or malformed file, one others can
//! read) with one line and exit 2 before anything else happens.

use std::path::PathBuf;

use crate::config::{Config, CredentialSource, Secret};

use super::file::{self, FileError};

/// The name of the pasted-cookie account (there is only ever one).
pub const PASTED_NAME: &str = "cookies";

/// One account to be used.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// What logs, metrics, `/health` and the store call it.
    pub name: String,
    pub secret: AccountSecret,
}

/// How an account proves who it is.
#[derive(Debug, Clone)]
pub enum AccountSecret {
    /// A browser's pasted `Cookie` header and its `bx-umidtoken`: cannot be renewed.
    Pasted {
        cookies: Secret,
        umid: Option<Secret>,
        /// The `exp` of its `token=` JWT (unix seconds), when it has one.
        expires_at: Option<i64>,
    },
    /// Logged in by qwenctl.
    Login { email: String, password: Secret },
}

/// The accounts of the source in use.
#[derive(Debug, Clone)]
pub struct Roster {
    pub source: CredentialSource,
    pub accounts: Vec<AccountSpec>,
    /// Where tokens obtained by logging in are cached (`tokens.json` beside the accounts
    /// file); `None` for pasted cookies.
    pub tokens_file: Option<PathBuf>,
}

/// Why there is no usable roster.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "no Qwen credentials: {0}add an account with `qwenctl accounts add EMAIL` (recommended), or set QWEN_EMAIL and QWEN_PASSWORD, or paste QWEN_COOKIES (with its token=) and QWEN_TOKEN from a browser"
    )]
    Nothing(String),
    #[error("the accounts file {} has no account: add one with `qwenctl accounts add EMAIL`", .0.display())]
    Empty(PathBuf),
}

impl Roster {
    /// The roster of `config`'s credential source. Problems of the variables themselves
    /// (`config.credential_errors()`) are the caller's to check first.
    pub fn load(config: &Config) -> Result<Roster, RosterError> {
        let tokens_file = Some(
            super::TokenCache::beside(&config.accounts_file)
                .path()
                .to_owned(),
        );
        match &config.credentials {
            CredentialSource::Cookies => {
                let cookies = config
                    .qwen_cookies
                    .clone()
                    .unwrap_or_else(|| Secret::new(""));
                Ok(Roster {
                    source: config.credentials.clone(),
                    accounts: vec![AccountSpec {
                        name: PASTED_NAME.to_owned(),
                        secret: AccountSecret::Pasted {
                            cookies,
                            umid: config.qwen_token.clone(),
                            expires_at: config.token_expiry,
                        },
                    }],
                    tokens_file: None,
                })
            }
            CredentialSource::Login { email, password } => Ok(Roster {
                source: config.credentials.clone(),
                accounts: vec![AccountSpec {
                    name: file::default_name(email),
                    secret: AccountSecret::Login {
                        email: email.clone(),
                        password: password.clone(),
                    },
                }],
                tokens_file,
            }),
            CredentialSource::AccountsFile => {
                let path = &config.accounts_file;
                let accounts = match file::read(path) {
                    Ok(accounts) => accounts,
                    Err(FileError::Missing(path)) => {
                        let why = if config.qwen_cookies.is_some() {
                            "QWEN_COOKIES has no token=<JWT> cookie (copy the whole Cookie header \
                             while logged in), and no account is configured; "
                        } else {
                            ""
                        };
                        return Err(RosterError::Nothing(format!(
                            "{why}there is no accounts file at {}; ",
                            path.display()
                        )));
                    }
                    Err(err) => return Err(err.into()),
                };
                if accounts.is_empty() {
                    return Err(RosterError::Empty(path.clone()));
                }
                Ok(Roster {
                    source: config.credentials.clone(),
                    accounts: accounts
                        .into_iter()
                        .map(|a| AccountSpec {
                            name: a.name,
                            secret: AccountSecret::Login {
                                email: a.email,
                                password: a.password,
                            },
                        })
                        .collect(),
                    tokens_file,
                })
            }
        }
    }
}
