//! Model aliases (`MODEL_ALIASES`, design.md §2): other vendors' model names mapped onto
//! upstream ones, so clients that hard-code `gpt-4o` or `claude-sonnet-4` work unchanged.
//!
//! A rule is `pattern=model`; `*` in a pattern matches any run of characters (none included),
//! everything else matches itself, case-sensitively like model ids. Rules are tried in the
//! order given and the first match wins, so specific rules go before catch-alls. The engine
//! applies the aliases to the requested name before resolving it against the catalog
//! ([`super::models`]); responses still echo the name the client asked for. This module is
//! pure: it parses the variable's value (for `config`) and matches names.

use std::fmt;
use std::str::FromStr;

/// The parsed `MODEL_ALIASES`: ordered `pattern=model` rules. Empty when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelAliases {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: String,
    model: String,
}

/// Why a `MODEL_ALIASES` value was refused: the offending entry and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "entry {entry:?} {reason} (expected comma-separated pattern=model, e.g. claude-*=qwen3-max)"
)]
pub struct InvalidAlias {
    pub entry: String,
    pub reason: &'static str,
}

impl ModelAliases {
    /// Parses `pattern=model[,pattern=model…]`. Blank entries (a trailing comma) are skipped;
    /// spaces around names are trimmed. Refused: an entry without `=`, an empty side, a side
    /// with inner whitespace, a model with `*` or `=`, and a pattern given twice (its second
    /// rule could never apply).
    pub fn parse(spec: &str) -> Result<ModelAliases, InvalidAlias> {
        let mut rules: Vec<Rule> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let invalid = |reason| InvalidAlias {
                entry: entry.to_owned(),
                reason,
            };
            let (pattern, model) = entry.split_once('=').ok_or(invalid("has no '='"))?;
            let (pattern, model) = (pattern.trim(), model.trim());
            if pattern.is_empty() {
                return Err(invalid("has an empty pattern"));
            }
            if model.is_empty() {
                return Err(invalid("has an empty model"));
            }
            if pattern.contains(char::is_whitespace) || model.contains(char::is_whitespace) {
                return Err(invalid("has a space inside a name"));
            }
            if model.contains(['*', '=']) {
                return Err(invalid("maps to a model name with '*' or '='"));
            }
            if rules.iter().any(|r| r.pattern == pattern) {
                return Err(invalid(
                    "repeats an earlier pattern, so it would never apply",
                ));
            }
            rules.push(Rule {
                pattern: pattern.to_owned(),
                model: model.to_owned(),
            });
        }
        Ok(ModelAliases { rules })
    }

    /// The model the first matching rule maps `name` to; `None` when no rule matches (the
    /// name is then resolved as given).
    pub fn resolve(&self, name: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| glob_matches(r.pattern.as_bytes(), name.as_bytes()))
            .map(|r| r.model.as_str())
    }

    /// No rules: every name resolves as given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl FromStr for ModelAliases {
    type Err = InvalidAlias;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelAliases::parse(s)
    }
}

/// The rules as `MODEL_ALIASES` spells them, normalised (no spaces, no blank entries).
impl fmt::Display for ModelAliases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}={}", rule.pattern, rule.model)?;
        }
        Ok(())
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of bytes. Greedy with
/// backtracking to the last `*` only, so the cost is bounded by `pattern.len() * name.len()`
/// whatever the input. Bytes are safe for UTF-8: a literal's bytes can only match at a
/// character boundary.
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where in the name that `*`'s
    // run currently ends.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((resume, end)) => {
                    star = Some((resume, end + 1));
                    p = resume;
                    n = end + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases(spec: &str) -> ModelAliases {
        ModelAliases::parse(spec).expect("valid")
    }

    #[test]
    fn first_matching_rule_wins() {
        let a =
            aliases("claude-*=qwen3-max, gpt-4o-mini=qwen3-flash,gpt-4o*=qwen3-max,*=qwen3-coder");
        assert_eq!(a.resolve("claude-sonnet-4-5"), Some("qwen3-max"));
        assert_eq!(a.resolve("gpt-4o-mini"), Some("qwen3-flash"));
        assert_eq!(a.resolve("gpt-4o"), Some("qwen3-max"));
        assert_eq!(a.resolve("gpt-4o-2024-08-06"), Some("qwen3-max"));
        assert_eq!(a.resolve("anything"), Some("qwen3-coder"));
        assert_eq!(
            a.to_string(),
            "claude-*=qwen3-max,gpt-4o-mini=qwen3-flash,gpt-4o*=qwen3-max,*=qwen3-coder"
        );
    }

    #[test]
    fn patterns_match_whole_names_case_sensitively() {
        let a = aliases("gpt-4=qwen3-max,o*-mini=qwen3-flash,*sonnet*=qwen3-coder,a**b=m");
        assert_eq!(a.resolve("gpt-4"), Some("qwen3-max"));
        assert_eq!(a.resolve("gpt-4-turbo"), None);
        assert_eq!(a.resolve("GPT-4"), None);
        assert_eq!(a.resolve("xgpt-4"), None);
        assert_eq!(a.resolve("o3-mini"), Some("qwen3-flash"));
        assert_eq!(a.resolve("o-mini"), Some("qwen3-flash"));
        assert_eq!(a.resolve("o3-mini-high"), None);
        assert_eq!(a.resolve("claude-sonnet-4"), Some("qwen3-coder"));
        assert_eq!(a.resolve("sonnet"), Some("qwen3-coder"));
        assert_eq!(a.resolve("ab"), Some("m"));
        assert_eq!(a.resolve("axxb"), Some("m"));
        assert_eq!(a.resolve("axxbc"), None);
        assert_eq!(a.resolve(""), None);
    }

    #[test]
    fn glob_backtracks_and_handles_unicode() {
        assert!(glob_matches(b"*a*b", b"xaxxab"));
        assert!(glob_matches(b"a*b*c", b"abbbc"));
        assert!(!glob_matches(b"a*b*c", b"abbb"));
        assert!(glob_matches(b"*", b""));
        assert!(glob_matches("é*ü".as_bytes(), "é-ß-ü".as_bytes()));
        assert!(!glob_matches("é*".as_bytes(), "e".as_bytes()));
        // The worst case stays quadratic, not exponential.
        let name = "a".repeat(4_000);
        assert!(!glob_matches(b"*a*a*a*a*a*a*b", name.as_bytes()));
    }

    #[test]
    fn empty_and_blank_values_have_no_rules() {
        for spec in ["", " ", ",", " , ,"] {
            let a = aliases(spec);
            assert!(a.is_empty());
            assert_eq!(a.resolve("gpt-4o"), None);
        }
        assert_eq!(aliases("a=b,").resolve("a"), Some("b"));
    }

    #[test]
    fn invalid_entries_are_named() {
        for (spec, entry, reason) in [
            ("claude", "claude", "no '='"),
            ("a=b,gpt-4o", "gpt-4o", "no '='"),
            ("=qwen3-max", "=qwen3-max", "empty pattern"),
            ("gpt-4o=", "gpt-4o=", "empty model"),
            ("gpt 4o=qwen3-max", "gpt 4o=qwen3-max", "space"),
            ("gpt-4o=qwen3 max", "gpt-4o=qwen3 max", "space"),
            ("gpt-*=qwen*", "gpt-*=qwen*", "'*'"),
            ("a=b=c", "a=b=c", "'='"),
            ("gpt-*=a,gpt-*=b", "gpt-*=b", "never apply"),
        ] {
            let err = ModelAliases::parse(spec).unwrap_err();
            assert_eq!(err.entry, entry, "{spec}");
            assert!(err.reason.contains(reason), "{spec}: {err}");
            let message = err.to_string();
            assert!(message.contains(&format!("{entry:?}")), "{message}");
            assert!(message.contains("pattern=model"), "{message}");
        }
        assert_eq!(
            "x=y".parse::<ModelAliases>().unwrap().resolve("x"),
            Some("y")
        );
    }
}
