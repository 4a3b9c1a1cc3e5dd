//! How `serve` treats client connections: `HEADER_READ_TIMEOUT`, `KEEPALIVE_TIMEOUT` and
//! `MAX_CONNECTIONS` (issue 18, finding 8: connections that never finished their headers
//! were held forever and, under a 1,024 file limit, starved every other client).
//!
//! `MAX_CONNECTIONS` is `auto` unless set: the limit is then derived, when serving, from
//! the file limit the process has after raising it ([`max_connections_for`]), since every
//! client connection may need a second descriptor for its upstream request.

use std::time::Duration;

use super::reader::Resolver;
use super::{Severity, defaults, env};

/// The connection settings of `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// How long a client has to send a complete request head: from the connection's
    /// start for its first request, from the first byte of each later one.
    pub header_read_timeout: Duration,
    /// How long a connection may wait for its next request once an answer is complete.
    pub keepalive_timeout: Duration,
    /// `None`: `auto`, derived from the file limit when serving.
    pub max_connections: Option<usize>,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            header_read_timeout: Duration::from_millis(defaults::HEADER_READ_TIMEOUT_MS),
            keepalive_timeout: Duration::from_millis(defaults::KEEPALIVE_TIMEOUT_MS),
            max_connections: None,
        }
    }
}

impl Connections {
    /// The connection limit: as configured, or derived from `file_limit` (the soft
    /// `RLIMIT_NOFILE`).
    pub fn max_connections(&self, file_limit: Option<u64>) -> usize {
        self.max_connections
            .unwrap_or_else(|| max_connections_for(file_limit))
    }
}

/// Descriptors kept for everything but client connections: the store (database, WAL and
/// shared memory per connection), the listener, stdio, the runtime, the upstream pool's
/// spare connections, an in-process fake.
const RESERVED_FILES: u64 = 64;
/// The most connections `auto` allows, however high the file limit: each idle connection
/// costs a few KiB, and more than this is a load balancer's job.
const AUTO_CEILING: usize = 10_000;
/// The fewest, however low the file limit.
const AUTO_FLOOR: usize = 16;

/// `auto`: half of the descriptors left after [`RESERVED_FILES`] (a chat holds its client
/// connection and an upstream one), between 16 and 10,000; 10,000 when the limit is
/// unknown or unlimited.
pub fn max_connections_for(file_limit: Option<u64>) -> usize {
    match file_limit {
        Some(files) => usize::try_from(files.saturating_sub(RESERVED_FILES) / 2)
            .unwrap_or(AUTO_CEILING)
            .clamp(AUTO_FLOOR, AUTO_CEILING),
        None => AUTO_CEILING,
    }
}

/// Reads the three variables.
pub(super) fn resolve(r: &mut Resolver) -> Connections {
    let header_read_timeout = positive_millis(
        r,
        env::HEADER_READ_TIMEOUT,
        defaults::HEADER_READ_TIMEOUT_MS,
    );
    let keepalive_timeout =
        positive_millis(r, env::KEEPALIVE_TIMEOUT, defaults::KEEPALIVE_TIMEOUT_MS);
    let max_connections = match r.raw(env::MAX_CONNECTIONS, Some("auto".to_owned())) {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("auto") => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                r.problem(
                    env::MAX_CONNECTIONS,
                    Severity::Error,
                    format!("expected auto or a number of connections above 0, got {v:?}"),
                );
                None
            }
        },
    };
    Connections {
        header_read_timeout,
        keepalive_timeout,
        max_connections,
    }
}

/// A timeout that must not be zero (a zero would close every connection at once).
fn positive_millis(r: &mut Resolver, var: &'static str, default: u64) -> Duration {
    let value = r.millis(var, default);
    if value.is_zero() {
        r.problem(var, Severity::Error, "must be at least 1 ms");
        return Duration::from_millis(default);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_leaves_room_for_upstream_connections() {
        assert_eq!(max_connections_for(Some(1024)), 480);
        assert_eq!(max_connections_for(Some(65_536)), 10_000);
        assert_eq!(max_connections_for(Some(20)), 16);
        assert_eq!(max_connections_for(Some(u64::MAX)), 10_000);
        assert_eq!(max_connections_for(None), 10_000);
        let set = Connections {
            max_connections: Some(7),
            ..Connections::default()
        };
        assert_eq!(set.max_connections(Some(1024)), 7);
    }
}
