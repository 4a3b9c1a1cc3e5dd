//! The browser-like headers every upstream request carries (PROTOCOL.md §2.2).
//!
//! The WAF compares requests with what the web app sends, so the set and spelling matter more
//! than any single value. Fixed values are validated once, when the client is built, so a bad
//! value fails at start-up instead of on the first request. The secret ones (cookies, bearer
//! token, `bx-umidtoken`) differ from account to account and come with each call
//! (`credentials.rs`). Nothing here logs a value.

use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderName, HeaderValue, ORIGIN, USER_AGENT};

use super::QwenError;
use super::client::UpstreamConfig;

/// Headers that are the same on every request, whatever the account.
pub(crate) fn fixed_headers(config: &UpstreamConfig, origin: &str) -> Result<HeaderMap, QwenError> {
    let mut headers = HeaderMap::new();
    let mut put = |name: HeaderName, value: &str, what: &str, sensitive: bool| {
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            QwenError::Protocol(format!(
                "the configured {what} is not a valid HTTP header value"
            ))
        })?;
        value.set_sensitive(sensitive);
        headers.insert(name, value);
        Ok::<(), QwenError>(())
    };
    put(HeaderName::from_static("bx-v"), &config.bx_v, "bx-v", false)?;
    put(HeaderName::from_static("source"), "web", "source", false)?;
    put(
        HeaderName::from_static("version"),
        &config.web_version,
        "web version",
        false,
    )?;
    put(USER_AGENT, &config.user_agent, "user agent", false)?;
    put(ACCEPT_LANGUAGE, "en-US,en;q=0.9", "accept-language", false)?;
    put(ORIGIN, origin, "base URL", false)?;
    Ok(headers)
}

/// The `timezone` header: JavaScript's `Date.prototype.toString()` without the zone name,
/// e.g. `Thu Nov 26 2026 10:12:26 GMT+0000`. We always report UTC, which the browser also
/// does on a UTC machine, so no time-zone database is needed.
pub(crate) fn js_date_now() -> String {
    js_date(crate::time::since_epoch().as_secs())
}

fn js_date(unix_secs: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days % 7) as usize];
    let month_name = MONTHS[(month.clamp(1, 12) - 1) as usize];
    format!(
        "{weekday} {month_name} {day:02} {year} {:02}:{:02}:{:02} GMT+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), Howard Hinnant's algorithm
/// restricted to dates after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript() {
        assert_eq!(js_date(0), "Thu Jan 01 1970 00:00:00 GMT+0000");
        // 2026-11-26T10:12:26Z
        assert_eq!(js_date(1_795_687_946), "Thu Nov 26 2026 10:12:26 GMT+0000");
        // Leap day.
        assert_eq!(js_date(1_709_164_800), "Thu Feb 29 2024 00:00:00 GMT+0000");
        assert!(js_date_now().ends_with("GMT+0000"));
    }
}
