//! A store that cannot write (issue 18, finding 10): chats go on, `/health` says degraded
//! with the reason, `/metrics` counts the lost writes, and all is well again by itself once
//! a write succeeds. The failures are injected into the store's writer: every commit fails
//! with `SQLITE_FULL`, as on a full disk (the WAL cannot grow), or every write statement
//! with `SQLITE_READONLY` (`PRAGMA query_only`).

use serde_json::Value;

use qwenctl::store::WriteFault;

use crate::common::*;

async fn health(s: &TestServer) -> Value {
    let resp = s.get("/health").await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn metrics(s: &TestServer) -> String {
    s.get("/metrics").await.text().await.unwrap()
}

/// The value of the first series of `metrics` that starts with `series`.
fn series(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// A chat that must succeed whatever the store does.
async fn long_chat(s: &TestServer, tag: &str) {
    let prompt = format!("{tag} {}", "many words ".repeat(300));
    let (status, body) = s.chat("qwen3-max", &msgs(&[("user", &prompt)])).await;
    assert_eq!(status, 200, "a store failure failed a chat: {body}");
}

#[tokio::test]
async fn a_full_disk_shows_in_health_and_metrics_and_passes_by_itself() {
    let s = TestServer::start().await;
    long_chat(&s, "before").await;
    s.store.flush().await.unwrap();
    assert_eq!(health(&s).await["status"], "healthy");
    let sessions_before = s.store.count_sessions().await.unwrap();

    s.store
        .inject_write_fault(Some(WriteFault::DiskFull))
        .await
        .unwrap();
    long_chat(&s, "during one").await;
    long_chat(&s, "during two").await;
    s.store.flush().await.unwrap();
    let h = health(&s).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["checks"]["database"], "degraded: disk full", "{h}");
    let m = metrics(&s).await;
    let lost = series(&m, "store_write_failures_total{reason=\"disk_full\"}");
    assert!(lost.is_some_and(|n| n >= 2.0), "{m}");
    assert_eq!(series(&m, "store_degraded"), Some(1.0), "{m}");
    let incident = s.store.degraded().unwrap();
    assert!(incident.failures >= 2, "{incident:?}");
    assert!(incident.detail.contains("full"), "{incident:?}");
    // Nothing of the exchanges that failed was half-written.
    assert_eq!(s.store.count_sessions().await.unwrap(), sessions_before);
    assert_eq!(s.store.integrity_check().await.unwrap(), "ok");

    // Space again: the next write succeeds and the incident is over.
    s.store.inject_write_fault(None).await.unwrap();
    long_chat(&s, "after").await;
    s.store.flush().await.unwrap();
    let h = health(&s).await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["checks"]["database"], "ok", "{h}");
    assert_eq!(series(&metrics(&s).await, "store_degraded"), Some(0.0));
    assert_eq!(s.store.count_sessions().await.unwrap(), sessions_before + 1);
}

#[tokio::test]
async fn a_read_only_database_shows_in_health() {
    let s = TestServer::start().await;
    s.store
        .inject_write_fault(Some(WriteFault::ReadOnly))
        .await
        .unwrap();
    let answer = s.answer(&msgs(&[("user", "hello")])).await;
    assert!(!answer.is_empty());
    s.store.flush().await.unwrap();
    let h = health(&s).await;
    assert_eq!(h["checks"]["database"], "degraded: read-only", "{h}");
    let m = metrics(&s).await;
    assert!(
        series(&m, "store_write_failures_total{reason=\"read_only\"}").is_some_and(|n| n >= 1.0),
        "{m}"
    );
    s.store.inject_write_fault(None).await.unwrap();
    s.answer(&msgs(&[("user", "hello again")])).await;
    s.store.flush().await.unwrap();
    assert_eq!(health(&s).await["checks"]["database"], "ok");
}
