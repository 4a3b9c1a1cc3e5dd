//! Reading one variable: its value by precedence, what `validate-config` shows for it, and
//! the problems a value has.
//!
//! [`Resolver::raw`] is where flags > environment > `.env` > default is applied (the first
//! three through [`Sources::lookup`]). The typed readers on top of it report a value that
//! does not parse by the variable's name and go on with the default, so every problem is
//! found in one pass.

use std::time::Duration;

use super::report::redact;
use super::{Origin, Problem, Severity, Shown, Sources, env};

/// Collects values and problems while resolving.
pub(super) struct Resolver<'a> {
    sources: &'a Sources,
    pub shown: Vec<Shown>,
    pub problems: Vec<Problem>,
}

impl<'a> Resolver<'a> {
    pub fn new(sources: &'a Sources) -> Self {
        Resolver {
            sources,
            shown: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The trimmed value of `var` by precedence, or `default`; records what `validate-config`
    /// shows for it (secrets redacted).
    pub fn raw(&mut self, var: &'static str, default: Option<String>) -> Option<String> {
        let secret = env::SECRETS.contains(&var);
        match self.sources.lookup(var) {
            Some((value, origin)) => {
                let value = value.trim().to_owned();
                self.shown.push(Shown {
                    var,
                    value: Some(if secret {
                        redact(&value)
                    } else {
                        value.clone()
                    }),
                    origin,
                });
                Some(value)
            }
            None => {
                self.shown.push(Shown {
                    var,
                    value: default.clone(),
                    origin: Origin::Default,
                });
                default
            }
        }
    }

    pub fn problem(&mut self, var: &'static str, severity: Severity, message: impl Into<String>) {
        self.problems.push(Problem {
            var,
            severity,
            message: message.into(),
        });
    }

    pub fn string(&mut self, var: &'static str, default: &str) -> String {
        self.raw(var, Some(default.to_owned()))
            .unwrap_or_else(|| default.to_owned())
    }

    /// A non-negative integer (`what` names the unit in the error).
    pub fn number<T: std::str::FromStr + ToString + Copy>(
        &mut self,
        var: &'static str,
        default: T,
        what: &str,
    ) -> T {
        let raw = self.raw(var, Some(default.to_string()));
        match raw {
            Some(v) => match v.parse::<T>() {
                Ok(n) => n,
                Err(_) => {
                    self.problem(var, Severity::Error, format!("expected {what}, got {v:?}"));
                    default
                }
            },
            None => default,
        }
    }

    pub fn millis(&mut self, var: &'static str, default: u64) -> Duration {
        Duration::from_millis(self.number(var, default, "a number of milliseconds"))
    }

    pub fn boolean(&mut self, var: &'static str, default: bool) -> bool {
        let raw = self.raw(var, Some(default.to_string()));
        match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => {
                self.problem(
                    var,
                    Severity::Error,
                    format!("expected true or false, got {other:?}"),
                );
                default
            }
        }
    }
}
