//! `qwenctl validate-config`: every variable with its origin (secrets redacted), the
//! credential source in use and its accounts, every problem, and with `--online` proof that
//! the upstream accepts each account (logging in the accounts that need it). Opens no
//! database. Exit 0 when valid, 2 otherwise.

use clap::Args;
use serde::Serialize;

use crate::accounts::{AccountSecret, Roster, mask_email};
use crate::config::{CredentialSource, Origin, Problem, Severity, Shown, describe_expiry, env};
use crate::context::Ctx;
use crate::error::UsageError;
use crate::output;
use crate::qwen::{ErrorKind, QwenError};

#[derive(Debug, Args)]
pub struct ValidateConfigArgs {
    /// Also prove the credentials against the upstream (auth check + model list)
    #[arg(long)]
    pub online: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    env_file: Option<String>,
    variables: &'a [Shown],
    /// The credential source in use and its accounts.
    credentials: Credentials,
    token_expiry: Option<String>,
    problems: Vec<Problem>,
    online: Option<Online>,
}

#[derive(Serialize)]
struct Credentials {
    source: &'static str,
    accounts: Vec<AccountLine>,
}

#[derive(Serialize)]
struct AccountLine {
    name: String,
    /// Shown as `a***@example.com`.
    email: Option<String>,
}

#[derive(Serialize)]
struct Online {
    ok: bool,
    models: Option<usize>,
    error: Option<String>,
    accounts: Vec<AccountCheck>,
}

#[derive(Serialize)]
struct AccountCheck {
    name: String,
    ok: bool,
    token_expiry: Option<String>,
    error: Option<String>,
}

pub async fn run(args: ValidateConfigArgs, ctx: Ctx) -> anyhow::Result<()> {
    let config = &ctx.config;
    let mut problems = config.problems.clone();
    let now = crate::time::unix_now();
    let token_expiry = config.token_expiry.map(|exp| describe_expiry(exp, now));

    // The accounts file is read (never written) here, like every other input.
    let roster = match Roster::load(config) {
        Ok(roster) => Some(roster),
        Err(err) => {
            problems.push(Problem {
                var: env::QWEN_ACCOUNTS_FILE,
                severity: Severity::Error,
                message: err.to_string(),
            });
            None
        }
    };
    let credentials = Credentials {
        source: config.credentials.describe(),
        accounts: roster
            .iter()
            .flat_map(|r| &r.accounts)
            .map(|a| AccountLine {
                name: a.name.clone(),
                email: match &a.secret {
                    AccountSecret::Login { email, .. } => Some(mask_email(email)),
                    AccountSecret::Pasted { .. } => None,
                },
            })
            .collect(),
    };

    let online = if args.online && config.credential_errors().is_empty() && roster.is_some() {
        Some(check_online(&ctx, &mut problems).await)
    } else {
        None
    };

    let valid = !problems.iter().any(|p| p.severity == Severity::Error);
    let report = Report {
        valid,
        env_file: config.env_file.as_ref().map(|p| p.display().to_string()),
        variables: &config.shown,
        credentials,
        token_expiry,
        problems,
        online,
    };
    if args.json {
        output::json(&report)?;
    } else {
        print_text(&report)?;
    }
    if valid {
        Ok(())
    } else {
        let vars: Vec<&str> = report
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.var)
            .collect();
        Err(UsageError(format!("invalid configuration: {}", vars.join(", "))).into())
    }
}

/// Proves every account (logging in those that need it) and lists the models once; each
/// failure becomes a problem naming the account and the variable to look at.
async fn check_online(ctx: &Ctx, problems: &mut Vec<Problem>) -> Online {
    let pool = match ctx.accounts() {
        Ok(pool) => pool,
        Err(err) => {
            let message = format!("online check failed: {err}");
            problems.push(Problem {
                var: env::QWEN_COOKIES,
                severity: Severity::Error,
                message: message.clone(),
            });
            return Online {
                ok: false,
                models: None,
                error: Some(message),
                accounts: Vec::new(),
            };
        }
    };
    let source = &ctx.config.credentials;
    let now = crate::time::unix_now();
    let mut accounts = Vec::new();
    let mut first_error: Option<QwenError> = None;
    for name in pool.names() {
        let Some(lease) = pool.lease(&name) else {
            continue;
        };
        let outcome = pool.prove(&lease).await;
        if let Err(err) = &outcome {
            let prefix = if pool.len() > 1 || !matches!(source, CredentialSource::Cookies) {
                format!("account `{name}`: ")
            } else {
                String::new()
            };
            problems.push(Problem {
                var: blamed_var(source, err),
                severity: Severity::Error,
                message: format!("{prefix}online check failed: {err}"),
            });
            first_error.get_or_insert_with(|| err.clone());
        }
        accounts.push(AccountCheck {
            name,
            ok: outcome.is_ok(),
            token_expiry: outcome
                .as_ref()
                .ok()
                .copied()
                .flatten()
                .map(|exp| describe_expiry(exp, now)),
            error: outcome.err().map(|e| e.to_string()),
        });
    }
    let models = if first_error.is_none() {
        let creds = pool.ambient().await;
        match pool.client().list_models(&creds).await {
            Ok(models) => Some(models.len()),
            Err(err) => {
                problems.push(Problem {
                    var: blamed_var(source, &err),
                    severity: Severity::Error,
                    message: format!("online check failed: {err}"),
                });
                first_error = Some(err);
                None
            }
        }
    } else {
        None
    };
    Online {
        ok: first_error.is_none(),
        models,
        error: first_error.map(|e| e.to_string()),
        accounts,
    }
}

/// The variable a failed online check points at.
fn blamed_var(source: &CredentialSource, err: &QwenError) -> &'static str {
    match (err.kind(), source) {
        (ErrorKind::Auth, CredentialSource::Cookies) => env::QWEN_COOKIES,
        (ErrorKind::Auth, CredentialSource::Login { .. }) => env::QWEN_PASSWORD,
        (ErrorKind::Auth, CredentialSource::AccountsFile) => env::QWEN_ACCOUNTS_FILE,
        (ErrorKind::Blocked, _) => env::QWEN_TOKEN,
        _ => env::QWEN_BASE_URL,
    }
}

fn print_text(report: &Report<'_>) -> std::io::Result<()> {
    if let Some(path) = &report.env_file {
        output::line(&format!("Env file: {path}"))?;
    }
    output::line("Effective configuration:")?;
    let width = report
        .variables
        .iter()
        .map(|s| s.var.len())
        .max()
        .unwrap_or(0);
    for shown in report.variables {
        let value = shown.value.as_deref().unwrap_or("(not set)");
        let origin = match shown.origin {
            Origin::Default if shown.value.is_none() => "unset".to_owned(),
            o => o.to_string(),
        };
        output::line(&format!("  {:width$}  {value}  [{origin}]", shown.var))?;
    }
    output::line(&format!("Credentials: {}", report.credentials.source))?;
    for account in &report.credentials.accounts {
        match &account.email {
            Some(email) => output::line(&format!("  account {} ({email})", account.name))?,
            None => output::line(&format!("  account {}", account.name))?,
        }
    }
    if let Some(expiry) = &report.token_expiry {
        output::line(&format!("Session token: {expiry}"))?;
    }
    if let Some(online) = &report.online {
        if report.credentials.accounts.len() > 1
            || report
                .credentials
                .accounts
                .iter()
                .any(|a| a.email.is_some())
        {
            for account in &online.accounts {
                match (&account.error, &account.token_expiry) {
                    (Some(e), _) => {
                        output::line(&format!("  account {}: FAILED: {e}", account.name))?;
                    }
                    (None, Some(expiry)) => output::line(&format!(
                        "  account {}: accepted, token {expiry}",
                        account.name
                    ))?,
                    (None, None) => {
                        output::line(&format!("  account {}: accepted", account.name))?;
                    }
                }
            }
        }
        match (&online.error, online.models) {
            (None, Some(n)) => output::line(&format!(
                "Online check: credentials accepted, {n} models available"
            ))?,
            (Some(e), _) => output::line(&format!("Online check: FAILED: {e}"))?,
            _ => {}
        }
    }
    for p in &report.problems {
        let tag = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        output::line(&format!("{tag}: {p}"))?;
    }
    if report.valid {
        output::line("Configuration is valid!")?;
    }
    Ok(())
}
