//! The fake's memory of the requests it received: a ring of the most recent ones, bounded
//! by count and by bytes, plus one counter per route.
//!
//! Tests assert on what a client sent, so requests are kept whole (headers and parsed body),
//! but a fake that serves for hours (`serve --fake-upstream`, the benchmarks) must not grow
//! with its traffic: the oldest requests make room for new ones once either budget is full,
//! and a request bigger than the whole byte budget is kept without its body. Counting is
//! separate from keeping, so [`FakeUpstream::count`](crate::FakeUpstream::count) stays exact
//! however many requests the ring has dropped; the counters (requests, and the body bytes
//! they carried, which the agent benchmark reads to show that a continued turn sends one
//! turn's worth upstream and not the history) are keyed by the fake's routes plus one bucket
//! for everything else, so unknown paths cannot grow a map either.

use std::collections::VecDeque;

use serde_json::Value;

use crate::RecordedRequest;
use crate::routes::Route;

/// Bytes charged per kept request on top of what it carried (the struct and its
/// allocations), so a flood of empty requests is bounded by bytes too.
const ENTRY_OVERHEAD: usize = 128;

/// Recent requests, oldest first, and the per-route counts of all requests.
pub(crate) struct RequestLog {
    entries: VecDeque<Kept>,
    /// Sum of the sizes of `entries`.
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    counts: [usize; Route::COUNT],
    /// Body bytes received per route (as sent, before parsing).
    body_bytes: [u64; Route::COUNT],
}

struct Kept {
    request: RecordedRequest,
    size: usize,
}

impl RequestLog {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        RequestLog {
            entries: VecDeque::new(),
            bytes: 0,
            max_entries,
            max_bytes,
            counts: [0; Route::COUNT],
            body_bytes: [0; Route::COUNT],
        }
    }

    /// Counts the request and keeps it, dropping the oldest ones until both budgets hold.
    pub(crate) fn push(&mut self, prepared: Prepared) {
        let Prepared {
            request,
            size,
            body_len,
        } = prepared;
        let route = Route::of(&request.path) as usize;
        self.counts[route] += 1;
        self.body_bytes[route] += body_len;
        if self.max_entries == 0 || size > self.max_bytes {
            return;
        }
        self.entries.push_back(Kept { request, size });
        self.bytes += size;
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some(oldest) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= oldest.size;
        }
    }

    /// Parses `body` into `request` when the whole request fits in `max_bytes` (else the
    /// body stays `Value::Null`) and measures what keeping it costs. Separate from
    /// [`push`](RequestLog::push) so the parsing happens before the caller takes the lock.
    pub(crate) fn prepare(max_bytes: usize, mut request: RecordedRequest, body: &[u8]) -> Prepared {
        let body_len = body.len() as u64;
        let meta = ENTRY_OVERHEAD
            + request.method.len()
            + request.path.len()
            + request.query.as_ref().map_or(0, String::len)
            + request
                .headers
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>();
        if meta.saturating_add(body.len()) > max_bytes {
            return Prepared {
                request,
                size: meta,
                body_len,
            };
        }
        let parsed = serde_json::from_slice(body).unwrap_or(Value::Null);
        // A parsed body can take several times its text (`[1,1,1…]`), so that is what is
        // charged, and what decides whether it is kept.
        let parsed_size = json_size(&parsed);
        if meta.saturating_add(parsed_size) > max_bytes {
            return Prepared {
                request,
                size: meta,
                body_len,
            };
        }
        request.body = parsed;
        Prepared {
            request,
            size: meta + parsed_size,
            body_len,
        }
    }

    /// Requests that hit the route of `path` since the start or the last [`clear`].
    ///
    /// [`clear`]: RequestLog::clear
    pub(crate) fn count(&self, path: &str) -> usize {
        self.count_route(Route::of(path))
    }

    /// Body bytes of those requests, as they arrived.
    pub(crate) fn body_bytes(&self, path: &str) -> u64 {
        self.body_bytes_route(Route::of(path))
    }

    /// Requests that reached `route`.
    pub(crate) fn count_route(&self, route: Route) -> usize {
        self.counts[route as usize]
    }

    /// Body bytes of the requests that reached `route`.
    pub(crate) fn body_bytes_route(&self, route: Route) -> u64 {
        self.body_bytes[route as usize]
    }

    /// The kept requests, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.entries.iter().map(|kept| &kept.request)
    }

    /// Forgets the kept requests and zeroes the counters.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.counts = [0; Route::COUNT];
        self.body_bytes = [0; Route::COUNT];
    }

    /// Bytes charged for the kept requests (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Approximate heap and inline bytes of a parsed JSON value: one `Value` per node, the
/// text of strings and keys, and a map entry's own overhead.
fn json_size(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    const ENTRY: usize = std::mem::size_of::<String>() + 16;
    NODE + match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(json_size).sum(),
        Value::Object(map) => map
            .iter()
            .map(|(key, item)| ENTRY + key.len() + json_size(item))
            .sum(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// A request measured and ready to be kept.
pub(crate) struct Prepared {
    request: RecordedRequest,
    size: usize,
    /// Bytes of the body as received, for the counters.
    body_len: u64,
}

#[cfg(test)]
mod unit {
    use super::*;

    fn request(path: &str) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: path.into(),
            query: None,
            headers: vec![("authorization".into(), "Bearer t".into())],
            body: Value::Null,
        }
    }

    fn push(log: &mut RequestLog, path: &str, body: &str) {
        let prepared = RequestLog::prepare(log.max_bytes, request(path), body.as_bytes());
        log.push(prepared);
    }

    #[test]
    fn fake_log_ring_drops_the_oldest_and_keeps_counting() {
        let mut log = RequestLog::new(3, usize::MAX);
        for i in 0..5 {
            push(
                &mut log,
                crate::COMPLETIONS_PATH,
                &format!("{{\"n\": {i}}}"),
            );
        }
        push(&mut log, "/api/v2/chats/new", "{}");
        let kept: Vec<&Value> = log.iter().map(|r| &r.body).collect();
        assert_eq!(kept, [&json(3), &json(4), &serde_json::json!({})]);
        assert_eq!(
            log.count(crate::COMPLETIONS_PATH),
            5,
            "dropped ones still count"
        );
        assert_eq!(log.count("/api/v2/chats/new"), 1);
        assert_eq!(
            log.body_bytes(crate::COMPLETIONS_PATH),
            5 * 8,
            "every body, kept or not"
        );
        assert_eq!(log.body_bytes("/api/v2/chats/new"), 2);
        log.clear();
        assert_eq!(log.iter().count(), 0);
        assert_eq!(log.count(crate::COMPLETIONS_PATH), 0);
        assert_eq!(log.body_bytes(crate::COMPLETIONS_PATH), 0);
        assert_eq!(log.bytes(), 0);
    }

    fn json(n: u64) -> Value {
        serde_json::json!({ "n": n })
    }

    #[test]
    fn fake_log_ring_is_bounded_by_bytes() {
        let body = format!("\"{}\"", "x".repeat(1000));
        let mut log = RequestLog::new(usize::MAX, 4000);
        for _ in 0..10 {
            push(&mut log, crate::COMPLETIONS_PATH, &body);
        }
        assert_eq!(
            log.iter().count(),
            3,
            "three requests of ~1.2 KB fit in 4,000 bytes"
        );
        assert!(log.bytes() <= 4000, "{}", log.bytes());
        assert_eq!(log.count(crate::COMPLETIONS_PATH), 10);

        // A request larger than the whole budget is kept without its body.
        let huge = format!("\"{}\"", "y".repeat(10_000));
        push(&mut log, crate::COMPLETIONS_PATH, &huge);
        let last = log.iter().last().unwrap();
        assert_eq!(last.body, Value::Null);
        assert_eq!(last.header("Authorization"), Some("Bearer t"));
        assert!(log.bytes() <= 4000, "{}", log.bytes());

        // So is one whose parsed form would not fit, though its text does.
        let dense = format!("[{}1]", "1,".repeat(1000));
        push(&mut log, crate::COMPLETIONS_PATH, &dense);
        assert_eq!(log.iter().last().unwrap().body, Value::Null);
        assert!(log.bytes() <= 4000, "{}", log.bytes());
    }

    #[test]
    fn fake_log_counts_routes_not_paths() {
        let mut log = RequestLog::new(0, 0);
        for path in ["/nope/1", "/nope/2", "/api/v2/chats/a", "/api/v2/chats/b"] {
            push(&mut log, path, "");
        }
        push(&mut log, "/api/v2/chats/", "");
        assert_eq!(log.iter().count(), 0, "nothing kept with a zero budget");
        assert_eq!(
            log.count("/anything/else"),
            2,
            "unknown paths share one bucket"
        );
        assert_eq!(
            log.count("/api/v2/chats/c"),
            2,
            "chat ids share the chat route"
        );
        assert_eq!(log.count("/api/v2/chats/"), 1);
        assert_eq!(log.count("/api/v2/chats/new"), 0);
        assert_eq!(log.count("/api/v2/chats/a/b"), 2, "not a chat route: other");
    }
}
