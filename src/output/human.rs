//! Text for people: long text shortened to fit, and times said the way a person reads them.
//!
//! Pure functions of their arguments (the current time is passed in), so every rule is
//! unit-tested. Text is always cut on character boundaries, never inside a UTF-8 sequence,
//! and a cut is always marked with `…`.

use std::time::{Duration, UNIX_EPOCH};

/// How [`shorten`] fits text into a short space. The two differ in purpose: a column has
/// a width the whole cell must fit in; a title is the first words of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// All of the text on one line — every run of whitespace, line breaks included,
    /// becomes one space — in at most `max` characters, the `…` included. For a table
    /// cell or a heading (`sessions list`, an export's Markdown title).
    Width,
    /// The first line (leading and trailing blank lines skipped), at most `max`
    /// characters of it, then `…` when anything was left out: the rest of that line or
    /// the lines after it. For a title made from a message (a session's title, the REPL's
    /// `/sessions`).
    FirstLine,
}

/// `text` shortened to `max` characters as `fit` says.
pub(crate) fn shorten(text: &str, max: usize, fit: Fit) -> String {
    let (line, more) = match fit {
        Fit::Width => (text.split_whitespace().collect::<Vec<_>>().join(" "), false),
        Fit::FirstLine => {
            let mut lines = text.trim().lines();
            let first = lines.next().unwrap_or("").to_owned();
            (first, lines.next().is_some())
        }
    };
    let chars = line.chars().count();
    let (fits, keep) = match fit {
        Fit::Width => (chars <= max, max.saturating_sub(1)),
        Fit::FirstLine => (chars <= max && !more, max),
    };
    if fits {
        return line;
    }
    let cut = line.char_indices().nth(keep).map_or(line.len(), |(i, _)| i);
    format!("{}…", &line[..cut])
}

/// A unix-ms time as `2026-11-01 14:03:22 UTC`; `-` for a time before 1970.
pub(crate) fn timestamp(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return "-".to_owned();
    };
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // `2026-11-01T14:03:22Z` → `2026-11-01 14:03:22 UTC`
    format!("{} UTC", text.trim_end_matches('Z').replacen('T', " ", 1))
}

/// How [`ago`] words an age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Age {
    /// `just now`, `5 minutes ago`, `3 days ago`; the date once it is more than a week
    /// old (or more than a minute in the future, from a skewed clock).
    Long,
    /// `12s ago`, `5m ago`, `3h ago`, `2d ago`, for a narrow column; a time in the future
    /// is `0s ago`.
    Short,
}

/// How long before `now_ms` the unix-ms time `ms` was, worded as `age` says.
pub(crate) fn ago(ms: i64, now_ms: i64, age: Age) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let elapsed = now_ms.saturating_sub(ms);
    match age {
        Age::Long => {
            let plural = |n: i64, unit: &str| {
                if n == 1 {
                    format!("1 {unit} ago")
                } else {
                    format!("{n} {unit}s ago")
                }
            };
            match elapsed {
                e if !(-MINUTE..7 * DAY).contains(&e) => timestamp(ms).chars().take(10).collect(),
                e if e < MINUTE => "just now".to_owned(),
                e if e < HOUR => plural(e / MINUTE, "minute"),
                e if e < DAY => plural(e / HOUR, "hour"),
                e => plural(e / DAY, "day"),
            }
        }
        Age::Short => {
            let secs = elapsed.max(0) / 1000;
            match secs {
                0..60 => format!("{secs}s ago"),
                60..3600 => format!("{}m ago", secs / 60),
                3600..86_400 => format!("{}h ago", secs / 3600),
                _ => format!("{}d ago", secs / 86_400),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_flattens_and_cuts_on_characters() {
        let shorten = |text, max| shorten(text, max, Fit::Width);
        assert_eq!(shorten("hello\n  world", 20), "hello world");
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(shorten("ééééééé", 4), "ééé…");
    }

    #[test]
    fn titles_are_cut() {
        let shorten = |text, max| shorten(text, max, Fit::FirstLine);
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("one\ntwo", 10), "one…");
    }

    #[test]
    fn titles_skip_blank_lines_around_the_text() {
        assert_eq!(shorten("\n  one\n\n", 10, Fit::FirstLine), "one");
        assert_eq!(shorten("\n\none\ntwo", 10, Fit::FirstLine), "one…");
        assert_eq!(shorten("", 10, Fit::FirstLine), "");
        assert_eq!(shorten(" \n ", 10, Fit::Width), "");
    }

    #[test]
    fn times_read_naturally() {
        let ago = |ms, now| ago(ms, now, Age::Long);
        let now = 1_800_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 5 * 60_000, now), "5 minutes ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(ago(now - 2 * 86_400_000, now), "2 days ago");
        assert_eq!(ago(0, now), "1970-01-01");
        assert_eq!(timestamp(86_400_000), "1970-01-02 00:00:00 UTC");
    }

    #[test]
    fn ages() {
        // `ago(elapsed)` as the REPL's table had it: the age, not the time.
        let ago = |elapsed| ago(0, elapsed, Age::Short);
        assert_eq!(ago(-5), "0s ago");
        assert_eq!(ago(59_999), "59s ago");
        assert_eq!(ago(60_000), "1m ago");
        assert_eq!(ago(7_200_000), "2h ago");
        assert_eq!(ago(3 * 86_400_000), "3d ago");
    }
}
