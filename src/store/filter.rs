//! The one filter every list and statistic accepts, and its translation into SQL.
//!
//! [`ListQuery`] doubles as the query-string extractor of the data endpoints and as the
//! options of `qwenctl sessions list`, so the HTTP API, the CLI and the store agree on what
//! `since`, `model` or `limit` mean. Times are accepted leniently (unix ms or RFC 3339, with
//! or without a zone) because they come from people and shell scripts.

use std::time::UNIX_EPOCH;

use rusqlite::types::Value;
use serde::{Deserialize, Deserializer};

/// Rows per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most rows a data endpoint returns in one page.
pub const MAX_LIMIT: u32 = 1000;

/// Paging and filters for the lists and statistics.
///
/// `since`/`until` (query names; `since_ms`/`until_ms` are accepted too) bound the row's
/// time, both inclusive: `updated_at` for sessions, `received_at` for requests, `created_at`
/// for responses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Rows to return; the store returns at most this many (see [`ListQuery::clamped`]).
    pub limit: u32,
    pub offset: u32,
    pub session_id: Option<String>,
    pub model: Option<String>,
    /// Only the exchanges of the API key with this name (`key-1`, `admin-1`): a session's
    /// owner, a request's or response's key. The data API sets it for a key that is not an
    /// admin key, whatever the query says.
    pub api_key_id: Option<String>,
    #[serde(
        rename = "since",
        alias = "since_ms",
        deserialize_with = "lenient_time"
    )]
    pub since_ms: Option<i64>,
    #[serde(
        rename = "until",
        alias = "until_ms",
        deserialize_with = "lenient_time"
    )]
    pub until_ms: Option<i64>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            limit: DEFAULT_LIMIT,
            offset: 0,
            session_id: None,
            model: None,
            api_key_id: None,
            since_ms: None,
            until_ms: None,
        }
    }
}

impl ListQuery {
    /// The same query with `limit` forced into `1..=MAX_LIMIT`, as the HTTP API applies it.
    pub fn clamped(&self) -> ListQuery {
        ListQuery {
            limit: self.limit.clamp(1, MAX_LIMIT),
            ..self.clone()
        }
    }

    /// The `WHERE` clause (possibly empty) and its arguments for the given columns.
    pub(crate) fn filter(&self, cols: &Columns) -> Filter {
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        if let Some(session) = &self.session_id {
            clauses.push(format!("{} = ?", cols.session));
            args.push(Value::Text(session.clone()));
        }
        if let Some(model) = &self.model {
            clauses.push(format!("{} = ?", cols.model));
            args.push(Value::Text(model.clone()));
        }
        if let Some(key) = &self.api_key_id {
            clauses.push(format!("{} = ?", cols.key));
            args.push(Value::Text(key.clone()));
        }
        if let Some(since) = self.since_ms {
            clauses.push(format!("{} >= ?", cols.time));
            args.push(Value::Integer(since));
        }
        if let Some(until) = self.until_ms {
            clauses.push(format!("{} <= ?", cols.time));
            args.push(Value::Integer(until));
        }
        let clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        Filter { clause, args }
    }

    /// The arguments of a trailing `LIMIT ? OFFSET ?`.
    pub(crate) fn page_args(&self) -> [Value; 2] {
        [
            Value::Integer(i64::from(self.limit)),
            Value::Integer(i64::from(self.offset)),
        ]
    }
}

/// Which columns of a query the filter fields apply to.
pub(crate) struct Columns {
    /// The API key name: the session's owner, or the request's key.
    pub key: &'static str,
    pub session: &'static str,
    pub model: &'static str,
    pub time: &'static str,
}

/// A rendered filter: `clause` is empty or starts with `WHERE`.
pub(crate) struct Filter {
    pub clause: String,
    pub args: Vec<Value>,
}

/// How `usage_stats` groups its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Model,
    /// UTC calendar day of the request, `YYYY-MM-DD`.
    Day,
    /// UTC hour of the request, `YYYY-MM-DDTHH:00:00Z`.
    Hour,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Day => "day",
            GroupBy::Hour => "hour",
        }
    }
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "model" => Ok(GroupBy::Model),
            "day" => Ok(GroupBy::Day),
            "hour" => Ok(GroupBy::Hour),
            other => Err(format!(
                "cannot group by `{other}` (use model, day or hour)"
            )),
        }
    }
}

/// Parses a point in time into unix ms: an integer is taken as unix ms; otherwise an RFC 3339
/// timestamp, leniently (`T` or a space, optional fraction, `Z`, a `±HH:MM` offset or no zone
/// meaning UTC), or a bare `YYYY-MM-DD` meaning that day's UTC midnight. `None` when it is
/// none of these (or before 1970).
pub fn parse_time_ms(input: &str) -> Option<i64> {
    let s = input.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let (body, offset_secs) = split_offset(s)?;
    let owned;
    let body = if body.len() == "YYYY-MM-DD".len() {
        owned = format!("{body}T00:00:00");
        owned.as_str()
    } else {
        body
    };
    let time = humantime::parse_rfc3339_weak(body).ok()?;
    let ms = i64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    ms.checked_sub(offset_secs.checked_mul(1000)?)
}

/// Parses a lower time bound into unix ms: a duration back from `now_ms` (`24h`, `7d`,
/// `30m`, as humantime reads them) or anything [`parse_time_ms`] accepts. `None` when it is
/// neither.
pub fn parse_since_ms(input: &str, now_ms: i64) -> Option<i64> {
    let text = input.trim();
    if text.parse::<i64>().is_err()
        && let Ok(ago) = humantime::parse_duration(text)
    {
        return Some(now_ms.saturating_sub(crate::time::duration_ms(ago)).max(0));
    }
    parse_time_ms(text)
}

/// Splits a trailing zone (`Z` or `±HH:MM`) off a timestamp; its offset east of UTC in s.
fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(body) = s.strip_suffix(['Z', 'z']) {
        return Some((body, 0));
    }
    let split = s.len().checked_sub(6).filter(|&i| s.is_char_boundary(i));
    // Only a timestamp with a time part can carry an offset; `2024-01-01` ends in `-01-01`.
    if let Some(i) = split.filter(|&i| i > 10) {
        let tail = &s.as_bytes()[i..];
        let sign = match tail[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Some((s, 0)),
        };
        if tail[3] != b':' {
            return Some((s, 0));
        }
        let hours: i64 = std::str::from_utf8(&tail[1..3]).ok()?.parse().ok()?;
        let minutes: i64 = std::str::from_utf8(&tail[4..6]).ok()?.parse().ok()?;
        return Some((&s[..i], sign * (hours * 3600 + minutes * 60)));
    }
    Some((s, 0))
}

/// serde adapter for `since`/`until`: a number, or a string [`parse_since_ms`] accepts (a
/// duration counts back from now: `since=24h`).
fn lenient_time<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(de)? {
        None => Ok(None),
        Some(Raw::Int(ms)) => Ok(Some(ms)),
        Some(Raw::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Raw::Text(text)) => parse_since_ms(&text, crate::time::unix_now_ms())
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a time (use unix milliseconds, RFC 3339 or a duration \
                     back from now such as 24h or 7d)"
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_leniently() {
        assert_eq!(parse_time_ms("1700000000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_time_ms("1970-01-01 00:00:01.5"), Some(1500));
        assert_eq!(parse_time_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time_ms("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(parse_time_ms("1970-01-01T00:00:00-01:30"), Some(5_400_000));
        assert_eq!(parse_time_ms("yesterday"), None);
        assert_eq!(parse_time_ms(""), None);
    }

    #[test]
    fn since_also_takes_a_duration_back_from_now() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since_ms("24h", now), Some(now - 86_400_000));
        assert_eq!(parse_since_ms(" 7d ", now), Some(now - 7 * 86_400_000));
        assert_eq!(parse_since_ms("100000y", now), Some(0));
        assert_eq!(
            parse_since_ms("1000", now),
            Some(1000),
            "a number is unix ms"
        );
        assert_eq!(parse_since_ms("1970-01-02", now), Some(86_400_000));
        assert_eq!(parse_since_ms("soon", now), None);
        let before = crate::time::unix_now_ms();
        let q: ListQuery = serde_json::from_value(serde_json::json!({"since": "1h"})).unwrap();
        let after = crate::time::unix_now_ms();
        let since = q.since_ms.unwrap();
        assert!(
            (before - 3_600_000..=after - 3_600_000).contains(&since),
            "{since}"
        );
    }

    #[test]
    fn filter_renders_only_given_fields() {
        let cols = Columns {
            key: "k",
            session: "s",
            model: "m",
            time: "t",
        };
        let empty = ListQuery::default().filter(&cols);
        assert!(empty.clause.is_empty() && empty.args.is_empty());
        let q = ListQuery {
            model: Some("qwen".into()),
            until_ms: Some(5),
            ..ListQuery::default()
        };
        let f = q.filter(&cols);
        assert_eq!(f.clause, "WHERE m = ? AND t <= ?");
        assert_eq!(f.args.len(), 2);
        assert_eq!(
            ListQuery {
                limit: 5000,
                ..ListQuery::default()
            }
            .clamped()
            .limit,
            MAX_LIMIT
        );
    }
}
