//! `qwenctl accounts add | list | remove | login | test`: the upstream accounts of
//! design.md §12.
//!
//! `add` and `remove` edit the accounts file (`QWEN_ACCOUNTS_FILE`, created 0600); `list`,
//! `login` and `test` work on the accounts of the credential source in use (the file, or
//! the one account of `QWEN_EMAIL`/`QWEN_COOKIES`), through the same pool `serve` uses. A
//! password is read without echo from a terminal, or as the first line of stdin when it is
//! piped, and never printed; emails are shown as `a***@example.com`. A failed login or test
//! is one line on stderr and exit 2, like any configuration problem.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use tabled::Tabled;

use crate::accounts::{
    self, AccountHealth, FileAccount, FileError, Lease, Pool, TokenCache,
    file::{check_name, default_name},
    mask_email,
};
use crate::config::{CredentialSource, Secret, describe_expiry};
use crate::context::Ctx;
use crate::error::{Failed, UsageError};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Add an account to the accounts file (or change its email and password); the
    /// password is read without echo, or from stdin when piped
    Add(AddArgs),
    /// List the accounts in use: name, email (masked), token expiry, state
    List(ListArgs),
    /// Remove an account from the accounts file, with its cached token
    Remove(NameArg),
    /// Log in now (every account, or NAME) and cache the token
    Login(OptionalName),
    /// Prove accounts upstream (every account, or NAME), logging in when needed
    Test(OptionalName),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The account's email
    pub email: String,
    /// Its name in logs, metrics and the store (default: the email's local part)
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The account's name
    pub name: String,
}

#[derive(Debug, Args)]
pub struct OptionalName {
    /// The account's name (default: every account)
    pub name: Option<String>,
}

pub async fn run(cmd: AccountsCommand, ctx: Ctx) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::Add(args) => add(args, &ctx),
        AccountsCommand::List(args) => list(args, &ctx),
        AccountsCommand::Remove(args) => remove(args, &ctx),
        AccountsCommand::Login(args) => login(args, &ctx).await,
        AccountsCommand::Test(args) => test(args, &ctx).await,
    }
}

fn add(args: AddArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let email = args.email.trim().to_owned();
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(UsageError(format!("{email:?} is not an email address")).into());
    }
    let name = args.name.unwrap_or_else(|| default_name(&email));
    check_name(&name).map_err(|why| UsageError(format!("invalid --name {name:?}: {why}")))?;
    let path = &ctx.config.accounts_file;
    let mut list = match accounts::file::read(path) {
        Ok(list) => list,
        Err(FileError::Missing(_)) => Vec::new(),
        Err(err) => return Err(UsageError(err.to_string()).into()),
    };
    let password = read_password(&email)?;
    let account = FileAccount {
        name: name.clone(),
        email: email.clone(),
        password,
    };
    let verb = match list.iter_mut().find(|a| a.name == name) {
        Some(existing) => {
            *existing = account;
            "Updated"
        }
        None => {
            list.push(account);
            "Added"
        }
    };
    accounts::file::write(path, &list).map_err(|err| UsageError(err.to_string()))?;
    // The cached token was obtained with the old email or password.
    forget_token(path, &name);
    output::line(&format!(
        "{verb} account {name} ({}) in {}; log it in with `qwenctl accounts login {name}`",
        mask_email(&email),
        path.display()
    ))?;
    if ctx.config.credentials != CredentialSource::AccountsFile {
        tracing::warn!(
            "the accounts file is not in use: {} comes first (design.md §12)",
            ctx.config.credentials.describe()
        );
    }
    Ok(())
}

/// The password: without echo from a terminal (asked twice), else the first line of stdin.
fn read_password(email: &str) -> anyhow::Result<Secret> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {email}: "))
            .context("cannot read the password")?;
        let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        if first != again {
            return Err(UsageError("the two passwords differ".into()).into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if password.is_empty() {
        return Err(UsageError("the password is empty".into()).into());
    }
    Ok(Secret::new(password))
}

fn forget_token(accounts_file: &std::path::Path, name: &str) {
    let cache = TokenCache::beside(accounts_file);
    if let Err(err) = cache.put(name, None) {
        tracing::warn!(
            "cannot update the token cache {}: {err}",
            cache.path().display()
        );
    }
}

fn remove(args: NameArg, ctx: &Ctx) -> anyhow::Result<()> {
    let path = &ctx.config.accounts_file;
    let mut list = accounts::file::read(path).map_err(|err| UsageError(err.to_string()))?;
    let before = list.len();
    list.retain(|a| a.name != args.name);
    if list.len() == before {
        return Err(Failed(format!(
            "no account named {:?} in {}",
            args.name,
            path.display()
        ))
        .into());
    }
    accounts::file::write(path, &list).map_err(|err| UsageError(err.to_string()))?;
    forget_token(path, &args.name);
    output::line(&format!("Removed account {}", args.name))?;
    Ok(())
}

/// One account as `list` shows it.
#[derive(Serialize, Tabled)]
struct Listed {
    #[tabled(rename = "NAME")]
    name: String,
    #[tabled(rename = "EMAIL", display = "or_dash")]
    email: Option<String>,
    #[tabled(rename = "TOKEN EXPIRES", display = "or_dash")]
    token_expires_at: Option<String>,
    /// `ok`, `expiring` (pasted cookies with less than a day left), `logged_out` (no
    /// token cached yet), or the states of `/health`.
    #[tabled(rename = "STATE")]
    state: String,
}

fn or_dash(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

fn list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<()> {
    let pool = match ctx.accounts() {
        Ok(pool) => pool,
        Err(err) if no_accounts_yet(&err) => {
            if args.json {
                output::json(&Vec::<Listed>::new())?;
            } else {
                output::line("No accounts yet: add one with `qwenctl accounts add EMAIL`.")?;
            }
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let rows: Vec<Listed> = pool
        .health()
        .into_iter()
        .map(|h: AccountHealth| Listed {
            state: if h.email.is_some() && h.token_expires_at.is_none() {
                "logged_out".to_owned()
            } else {
                h.status.to_owned()
            },
            name: h.name,
            email: h.email,
            token_expires_at: h.token_expires_at,
        })
        .collect();
    if args.json {
        output::json(&rows)?;
    } else {
        output::table(rows, "No accounts.")?;
    }
    Ok(())
}

/// Whether `err` only says that no account is configured yet.
fn no_accounts_yet(err: &anyhow::Error) -> bool {
    let Some(usage) = err.downcast_ref::<UsageError>() else {
        return false;
    };
    usage.0.starts_with("no Qwen credentials") || usage.0.contains("has no account")
}

/// The leases `name` picks: that account, or every one.
fn chosen(pool: &Pool, name: Option<&str>) -> anyhow::Result<Vec<Lease>> {
    match name {
        Some(name) => pool.lease(name).map(|l| vec![l]).ok_or_else(|| {
            UsageError(format!(
                "no account named {name:?} (accounts: {})",
                pool.names().join(", ")
            ))
            .into()
        }),
        None => Ok(pool.names().iter().filter_map(|n| pool.lease(n)).collect()),
    }
}

async fn login(args: OptionalName, ctx: &Ctx) -> anyhow::Result<()> {
    let pool = ctx.accounts()?;
    let now = crate::time::unix_now();
    let mut failures = Vec::new();
    for lease in chosen(&pool, args.name.as_deref())? {
        match pool.login_now(&lease).await {
            Ok(expiry) => output::line(&format!(
                "Logged in account {}{}",
                lease.name(),
                expiry
                    .map(|exp| format!("; its token {}", describe_expiry(exp, now)))
                    .unwrap_or_default()
            ))?,
            Err(err) => failures.push(format!("cannot log in account `{}`: {err}", lease.name())),
        }
    }
    finish(failures)
}

async fn test(args: OptionalName, ctx: &Ctx) -> anyhow::Result<()> {
    let pool = ctx.accounts()?;
    let now = crate::time::unix_now();
    let mut failures = Vec::new();
    for lease in chosen(&pool, args.name.as_deref())? {
        match pool.prove(&lease).await {
            Ok(expiry) => output::line(&format!(
                "Account {} is accepted{}",
                lease.name(),
                expiry
                    .map(|exp| format!("; its token {}", describe_expiry(exp, now)))
                    .unwrap_or_default()
            ))?,
            Err(err) => failures.push(format!("account `{}` failed: {err}", lease.name())),
        }
    }
    finish(failures)
}

/// Exit 2 with one line per failed account (there is usually one).
fn finish(failures: Vec<String>) -> anyhow::Result<()> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(UsageError(failures.join("; ")).into())
    }
}
