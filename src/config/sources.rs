//! The sources `resolve` reads from: flag values, the process environment and the `.env`
//! file, and which of them a value came from ([`Origin`]).
//!
//! Reading the real environment and the file happens here, once, at start-up; everything
//! after works on these maps, which is what keeps [`super::resolve`] pure and testable. The
//! `.env` file is read leniently, like the Node proxy's `dotenv` did, and a line that cannot
//! be read is reported by number only: it may hold the cookie.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Flag,
    Env,
    #[serde(rename = ".env")]
    DotEnv,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "flag",
            Origin::Env => "env",
            Origin::DotEnv => ".env",
            Origin::Default => "default",
        })
    }
}

/// The inputs of [`super::resolve`]: flag values keyed by the variable they override, the
/// process environment and the `.env` file.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub flags: HashMap<&'static str, String>,
    pub env: HashMap<String, String>,
    pub dotenv: HashMap<String, String>,
    /// The `.env` file that was read, if any.
    pub dotenv_path: Option<PathBuf>,
    /// Base URL of the in-process fake upstream (`serve --fake-upstream`), whose port is bound
    /// before resolving; the fake then stands in for the upstream and its credentials.
    pub fake_upstream: Option<String>,
}

impl Sources {
    /// The real process environment plus the `.env` file (`path`, or `./.env` if present).
    /// A missing explicit file is an error; a missing default one is not.
    pub fn from_process(env_file: Option<&Path>) -> Result<Sources, String> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let (path, required) = match env_file {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(".env"), false),
        };
        let mut dotenv = HashMap::new();
        let mut dotenv_path = None;
        match dotenvy::from_path_iter(&path) {
            Ok(iter) => {
                let parsed: Result<Vec<(String, String)>, dotenvy::Error> = iter.collect();
                dotenv = match parsed {
                    Ok(pairs) => pairs.into_iter().collect(),
                    // dotenvy refuses unquoted values with spaces, which every pasted Cookie
                    // header has and which the Node proxy's dotenv accepted. Its error also
                    // quotes the line (the secret), so it is never shown.
                    Err(_) => {
                        let text = std::fs::read_to_string(&path).map_err(|e| {
                            format!("cannot read env file {}: {}", path.display(), e.kind())
                        })?;
                        parse_env_lenient(&text).map_err(|line| {
                            format!(
                                "cannot parse env file {} at line {line}: expected NAME=value",
                                path.display()
                            )
                        })?
                    }
                };
                dotenv_path = Some(path);
            }
            Err(e) if e.not_found() && !required => {}
            Err(e) => {
                return Err(format!(
                    "cannot read env file {}: {}",
                    path.display(),
                    match e {
                        dotenvy::Error::Io(io) => io.kind().to_string(),
                        _ => "unreadable".to_owned(),
                    }
                ));
            }
        }
        Ok(Sources {
            flags: HashMap::new(),
            env,
            dotenv,
            dotenv_path,
            fake_upstream: None,
        })
    }

    /// The raw value of `var` and its origin, by precedence. Empty strings count as unset.
    pub fn lookup(&self, var: &str) -> Option<(&str, Origin)> {
        let nonempty = |v: &String| (!v.trim().is_empty()).then_some(());
        if let Some(v) = self.flags.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::Flag));
        }
        if let Some(v) = self.env.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::Env));
        }
        if let Some(v) = self.dotenv.get(var).filter(|v| nonempty(v).is_some()) {
            return Some((v, Origin::DotEnv));
        }
        None
    }
}

/// Reads `.env` text the way the Node proxy's `dotenv` did: `NAME=value` per line, `#`
/// comments and blank lines skipped, an optional `export `, surrounding quotes removed, and
/// everything else after the first `=` kept as is (spaces and `;` included). Returns the
/// 1-based number of the first line that is not of that form.
pub fn parse_env_lenient(text: &str) -> Result<HashMap<String, String>, usize> {
    let mut vars = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line.split_once('=').ok_or(i + 1)?;
        let name = name.trim();
        let valid_name = name
            .chars()
            .enumerate()
            .all(|(j, c)| c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid_name {
            return Err(i + 1);
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)));
        vars.insert(name.to_owned(), unquoted.unwrap_or(value).to_owned());
    }
    Ok(vars)
}
