//! The Prometheus recorder. The `metrics` recorder is process-global, so it is installed
//! once and shared by every server in the process (tests start many).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder if no one did yet, and describes the series so they show (at zero)
/// before the first event.
pub fn install() {
    static DESCRIBED: OnceLock<()> = OnceLock::new();
    if handle().is_none() {
        return;
    }
    DESCRIBED.get_or_init(|| {
        metrics::describe_counter!("http_requests_total", "HTTP requests by route and status");
        metrics::describe_histogram!(
            "http_request_duration_seconds",
            metrics::Unit::Seconds,
            "Time to the response head (a stream's body continues after it)"
        );
        metrics::describe_counter!(
            "qwen_api_calls_total",
            "Upstream calls of conversation turns (new chats, completions) by account and outcome"
        );
        metrics::describe_counter!(
            "qwen_upstream_errors_total",
            "Upstream failures by account and kind"
        );
        metrics::describe_counter!(
            "qwen_account_cooldowns_total",
            "Times an account was rate-limited and began to cool down, by account"
        );
        metrics::describe_histogram!(
            "qwen_time_to_first_token_seconds",
            metrics::Unit::Seconds,
            "From receiving a request to the first answer or reasoning token"
        );
        metrics::describe_gauge!("inflight_streams", "SSE streams being relayed now");
        metrics::describe_gauge!(
            "active_sessions",
            "Conversations used within SESSION_TIMEOUT"
        );
        metrics::describe_gauge!(
            "process_resident_memory_bytes",
            metrics::Unit::Bytes,
            "Resident set size of the process"
        );
        metrics::describe_counter!(
            "store_write_failures_total",
            "Writes the store lost because it could not write (disk_full, read_only, io, \
             locked, corrupt, other)"
        );
        metrics::describe_gauge!(
            "store_degraded",
            "1 while the store cannot write (since its last failed write, until one succeeds)"
        );
        metrics::describe_gauge!("http_connections_open", "Client connections held now");
        metrics::describe_counter!(
            "http_connections_closed_total",
            "Client connections closed by serve: header_timeout, keepalive_timeout, evicted \
             (the longest idle one, to admit a new one over MAX_CONNECTIONS), shutdown"
        );
        metrics::describe_counter!(
            "http_connections_refused_total",
            "Connections closed unread: MAX_CONNECTIONS held and every one busy"
        );
        metrics::gauge!("inflight_streams").set(0.0);
        metrics::gauge!("active_sessions").set(0.0);
        metrics::gauge!("store_degraded").set(0.0);
    });
}

fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), seconds)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!("metrics are disabled: {err}");
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text exposition, with process memory sampled now.
pub fn render() -> String {
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(rss as f64);
    }
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

/// Resident set size from `/proc/self/statm` (Linux); `None` elsewhere.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Sets the `active_sessions` gauge.
pub fn gauge_active_sessions(n: u64) {
    metrics::gauge!("active_sessions").set(n as f64);
}

/// Drains histogram samples into their buckets. Without it they pile up between scrapes.
pub fn upkeep() {
    if let Some(handle) = handle() {
        handle.run_upkeep();
    }
}
