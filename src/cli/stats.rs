//! `qwenctl stats`: usage and performance figures from the store — requests, answers and
//! errors by class, tokens, and the average, median and 95th percentile of the total
//! duration and of the time to first token — over everything or since a point in time, in
//! one group or per model or day.
//!
//! The store computes the figures ([`crate::store::Store::usage_stats`]); this file turns
//! `--since` into a time and the report into a table or JSON.

use clap::{Args, ValueEnum};
use tabled::Tabled;

use crate::context::Ctx;
use crate::error::UsageError;
use crate::output;
use crate::store::{self, Distribution, GroupBy, UsageGroup};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only requests since this long ago (e.g. 24h, 7d) or this date (2026-11-01)
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// Group the figures
    #[arg(long, value_enum)]
    pub by: Option<GroupByArg>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    Model,
    Day,
    Hour,
}

impl From<GroupByArg> for GroupBy {
    fn from(arg: GroupByArg) -> Self {
        match arg {
            GroupByArg::Model => GroupBy::Model,
            GroupByArg::Day => GroupBy::Day,
            GroupByArg::Hour => GroupBy::Hour,
        }
    }
}

pub async fn run(args: StatsArgs, ctx: Ctx) -> anyhow::Result<()> {
    let since_ms = args
        .since
        .as_deref()
        .map(|s| parse_since(s, crate::time::unix_now_ms()))
        .transpose()?;
    let store = ctx.read_store().await?;
    let report = store
        .usage_stats(since_ms, args.by.map(GroupBy::from))
        .await?;
    if args.json {
        output::json(&report)?;
    } else {
        output::table(
            report.groups.iter().map(Row::from),
            "No requests recorded in that period.",
        )?;
    }
    Ok(())
}

/// `--since` as unix ms: a duration (`24h`, `7d`, `30m`) back from `now_ms`, or a date or
/// RFC 3339 time. A bare number is refused: `--since 7` is more likely a forgotten unit
/// than a time in 1970.
pub(crate) fn parse_since(raw: &str, now_ms: i64) -> Result<i64, UsageError> {
    let text = raw.trim();
    let bare_number = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match store::parse_since_ms(text, now_ms).filter(|_| !bare_number) {
        Some(ms) => Ok(ms),
        None => Err(UsageError(format!(
            "invalid value `{raw}` for --since: use a duration such as 24h, 7d or 30m, \
             or a date such as 2026-11-01"
        ))),
    }
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "GROUP")]
    key: String,
    #[tabled(rename = "REQUESTS")]
    requests: i64,
    #[tabled(rename = "OK")]
    ok: i64,
    #[tabled(rename = "ERRORS")]
    errors: String,
    #[tabled(rename = "TOKENS prompt/completion/total")]
    tokens: String,
    #[tabled(rename = "DURATION avg/p50/p95")]
    duration: String,
    #[tabled(rename = "FIRST TOKEN avg/p50/p95")]
    first_token: String,
}

impl From<&UsageGroup> for Row {
    fn from(g: &UsageGroup) -> Self {
        let errors = if g.errors_by_kind.is_empty() {
            "0".to_owned()
        } else {
            let by_kind: Vec<String> = g
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            by_kind.join(", ")
        };
        Row {
            key: g.key.clone(),
            requests: g.requests,
            ok: g.ok,
            errors,
            tokens: format!(
                "{} / {} / {}",
                g.prompt_tokens, g.completion_tokens, g.total_tokens
            ),
            duration: spread(&g.duration_ms),
            first_token: spread(&g.first_token_ms),
        }
    }
}

/// `812ms / 640ms / 2.1s`, or `-` without samples.
fn spread(d: &Distribution) -> String {
    match (d.avg, d.p50, d.p95) {
        (Some(avg), Some(p50), Some(p95)) => {
            // Sub-millisecond precision means nothing here.
            let avg = avg.round() as i64;
            format!("{} / {} / {}", millis(avg), millis(p50), millis(p95))
        }
        _ => "-".to_owned(),
    }
}

fn millis(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_dates() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("24h", now).unwrap(), now - 86_400_000);
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(parse_since("30m", now).unwrap(), now - 1_800_000);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400_000);
        assert_eq!(parse_since("1970-01-01T00:00:01Z", now).unwrap(), 1000);
        assert_eq!(parse_since("100000y", now).unwrap(), 0);
        for bad in ["abc", "7", "", "2026-13-45"] {
            let err = parse_since(bad, now).unwrap_err().to_string();
            assert!(err.contains("--since"), "{err}");
        }
    }

    #[test]
    fn timings_read_in_ms_or_seconds() {
        assert_eq!(spread(&Distribution::default()), "-");
        assert_eq!(
            spread(&Distribution::of(vec![100, 200, 2600])),
            "967ms / 200ms / 2.6s"
        );
    }
}
