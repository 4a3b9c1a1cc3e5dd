//! What `validate-config` reports about a resolved configuration: each variable's shown
//! value and origin ([`Shown`]), each [`Problem`] with its [`Severity`], and the token's
//! expiry in words.
//!
//! Problems are collected, not returned one at a time, because `validate-config` must list
//! every problem at once; each command then decides which ones stop it
//! ([`Config::general_errors`], [`Config::credential_errors`]). Secrets are shown only through
//! [`redact`].

use std::fmt;

use super::{Config, Origin, env};

/// How bad a problem is: errors stop commands that need the value, warnings are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with the configuration, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub var: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

/// One line of `validate-config`'s listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shown {
    pub var: &'static str,
    pub value: Option<String>,
    pub origin: Origin,
}

impl Config {
    /// Problems of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    /// Errors that are not about the upstream credentials (those only matter to commands that
    /// talk to Qwen).
    pub fn general_errors(&self) -> Vec<&Problem> {
        self.errors()
            .filter(|p| !env::CREDENTIALS.contains(&p.var))
            .collect()
    }

    /// Errors about the upstream credentials (the accounts file is checked when the accounts
    /// are loaded, `crate::accounts::Roster`).
    pub fn credential_errors(&self) -> Vec<&Problem> {
        self.errors()
            .filter(|p| env::CREDENTIALS.contains(&p.var))
            .collect()
    }
}

/// Shows the first and last characters of a secret only when it is long enough that they
/// give nothing away.
pub fn redact(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 24 {
        return format!("<redacted, {} chars>", chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail} <redacted, {} chars>", chars.len())
}

/// "expires in 3 days" / "expired 2 hours ago".
pub fn describe_expiry(exp: i64, now: i64) -> String {
    let delta = exp - now;
    let span = humanize_secs(delta.unsigned_abs());
    if delta > 0 {
        format!("expires in {span}")
    } else {
        format!("expired {span} ago")
    }
}

fn humanize_secs(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s < 120 => (s, "second"),
        s if s < 2 * 3600 => (s / 60, "minute"),
        s if s < 2 * 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
