//! `qwenctl validate-config`: every variable with its origin (secrets redacted), every
//! problem, and with `--online` proof that the upstream accepts the credentials. Opens no
//! database. Exit 0 when valid, 2 otherwise.

use clap::Args;
use serde::Serialize;

use crate::config::{Origin, Problem, Severity, Shown, describe_expiry, env};
use crate::context::Ctx;
use crate::error::UsageError;
use crate::output;
use crate::qwen::QwenError;

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
    token_expiry: Option<String>,
    problems: Vec<Problem>,
    online: Option<Online>,
}

#[derive(Serialize)]
struct Online {
    ok: bool,
    models: Option<usize>,
    error: Option<String>,
}

pub async fn run(args: ValidateConfigArgs, ctx: Ctx) -> anyhow::Result<()> {
    let config = &ctx.config;
    let mut problems = config.problems.clone();
    let now = crate::time::unix_now();
    let token_expiry = config.token_expiry.map(|exp| describe_expiry(exp, now));

    let online = if args.online && config.credential_errors().is_empty() {
        let outcome = check_online(&ctx).await;
        if let Err(err) = &outcome {
            let var = match err {
                QwenError::Auth { .. } => env::QWEN_COOKIES,
                QwenError::Blocked { .. } => env::QWEN_TOKEN,
                _ => env::QWEN_BASE_URL,
            };
            problems.push(Problem {
                var,
                severity: Severity::Error,
                message: format!("online check failed: {err}"),
            });
        }
        Some(match outcome {
            Ok(n) => Online {
                ok: true,
                models: Some(n),
                error: None,
            },
            Err(e) => Online {
                ok: false,
                models: None,
                error: Some(e.to_string()),
            },
        })
    } else {
        None
    };

    let valid = !problems.iter().any(|p| p.severity == Severity::Error);
    let report = Report {
        valid,
        env_file: config.env_file.as_ref().map(|p| p.display().to_string()),
        variables: &config.shown,
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

async fn check_online(ctx: &Ctx) -> Result<usize, QwenError> {
    let client = ctx
        .client()
        .map_err(|e| QwenError::Protocol(e.to_string()))?;
    client.check_auth().await?;
    let models = client.list_models().await?;
    Ok(models.len())
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
    if let Some(expiry) = &report.token_expiry {
        output::line(&format!("Session token: {expiry}"))?;
    }
    if let Some(online) = &report.online {
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
