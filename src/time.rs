//! The wall clock, read in one place.
//!
//! The store, the proxy and the commands all count time as integer seconds or milliseconds
//! since the Unix epoch (that is what SQLite stores and what OpenAI's `created` means), so
//! reading the clock and turning a [`Duration`] into such a count are tiny functions that
//! used to be written out wherever they were needed. A clock set before 1970 reads as 0
//! rather than failing: nothing here is worth stopping a command for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch (zero for a clock set before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    i64::try_from(since_epoch().as_secs()).unwrap_or(i64::MAX)
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_ms() -> i64 {
    duration_ms(since_epoch())
}

/// A duration in whole milliseconds, saturating at `i64::MAX` (a `--since 100000y`).
pub fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_agree() {
        let (s, ms) = (unix_now(), unix_now_ms());
        assert!(s > 1_600_000_000, "{s}");
        assert!((ms / 1000 - s).abs() <= 1, "{s} {ms}");
    }

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(duration_ms(Duration::MAX), i64::MAX);
    }
}
