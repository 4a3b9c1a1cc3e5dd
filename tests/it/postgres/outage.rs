//! The database goes away under load and comes back: `serve` keeps answering, says so on
//! `/health`, counts what it could not record, continues conversations by refolding while
//! it cannot look them up, and records again once the server is back, without a restart
//! and without recording anything twice.

use std::time::Duration;

use qwen_fake::FakeOptions;
use serde_json::{Value, json};

use super::{Cluster, eventually, query};
use crate::common::{ServerOptions, TestServer, parent_id, sent_content};

const STREAMS: usize = 50;

/// `database` and `status` of `/health`.
async fn health(server: &TestServer) -> (String, String) {
    let body: Value = server.get("/health").await.json().await.unwrap();
    (
        body["checks"]["database"].as_str().unwrap_or("").to_owned(),
        body["status"].as_str().unwrap_or("").to_owned(),
    )
}

/// The sum of a counter over its labels in the Prometheus text.
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One streamed chat: `Ok(text)` when it ended with `[DONE]`, `Err(code)` when it failed
/// with a classified error (an error status with a code, or an error event in the stream).
async fn stream(http: reqwest::Client, url: String, i: usize) -> Result<String, String> {
    let body = json!({
        "model": "qwen3-max",
        "stream": true,
        "messages": [{"role": "user", "content": format!("Load stream {i}: say something.")}],
    });
    let resp = http
        .post(format!("{url}/v1/chat/completions"))
        .header("x-request-id", format!("load-{i}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("transport: {e}"))?;
    if !status.is_success() {
        let error: Value = serde_json::from_str(&text).map_err(|_| format!("{status}: {text}"))?;
        return Err(error["error"]["code"]
            .as_str()
            .unwrap_or("unclassified")
            .to_owned());
    }
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if let Ok(event) = serde_json::from_str::<Value>(line)
            && let Some(code) = event["error"]["code"].as_str()
        {
            return Err(code.to_owned());
        }
    }
    if text.trim_end().ends_with("data: [DONE]") {
        Ok(text)
    } else {
        Err(format!("unfinished stream: {text}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_killed_and_restarted_under_load_loses_no_answer() {
    let Some(cluster) = Cluster::start("a_database_killed_and_restarted_under_load") else {
        return;
    };
    let server = TestServer::start_with(ServerOptions {
        env: vec![("DATABASE_URL", cluster.url())],
        fake: FakeOptions {
            chunk_delay: Duration::from_millis(25),
            answer_chunks: Some(24),
            ..FakeOptions::default()
        },
        ..ServerOptions::default()
    })
    .await;
    assert_eq!(health(&server).await.0, "ok");

    // A conversation begun while the database is there.
    let first = json!([{"role": "user", "content": "My name is Before."}]);
    let (status, body) = server.chat("qwen3-max", &first).await;
    assert_eq!(status, 200, "{body}");
    let answer = body["choices"][0]["message"]["content"].clone();

    // 50 streams, started 60 ms apart over 3 s; the server is killed 400 ms in and back
    // about a second later, so streams begin and end before, during and after.
    let load: Vec<_> = (0..STREAMS)
        .map(|i| {
            let (http, url) = (server.http.clone(), server.url.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(60 * i as u64)).await;
                stream(http, url, i).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    cluster.kill();

    // While it is down: /health says so, and a conversation goes on by refolding.
    let seen = eventually(Duration::from_secs(10), || async {
        let (database, status) = health(&server).await;
        (database == "degraded: unreachable" && status == "degraded").then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "/health never said the database is unreachable"
    );
    let second = json!([
        {"role": "user", "content": "My name is Before."},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "What is my name?"},
    ]);
    let (status, body) = server.chat("qwen3-max", &second).await;
    assert_eq!(status, 200, "{body}");
    let refolded = server
        .fake
        .completions()
        .into_iter()
        .rev()
        .find(|c| sent_content(c).contains("What is my name?"))
        .expect("the turn went upstream");
    assert_eq!(
        parent_id(&refolded),
        None,
        "a new chat, since nothing could be looked up"
    );
    assert!(sent_content(&refolded).contains("My name is Before."));

    tokio::time::sleep(Duration::from_millis(600)).await;
    cluster.pg_ctl_start();

    let mut answered = 0;
    for (i, task) in load.into_iter().enumerate() {
        match task.await.expect("a stream task panicked") {
            Ok(_) => answered += 1,
            Err(code) => assert!(
                !code.starts_with("unfinished")
                    && !code.starts_with("transport")
                    && code != "unclassified",
                "stream {i} failed without a classified error: {code}"
            ),
        }
    }
    // Store failures never fail a chat.
    assert_eq!(answered, STREAMS);

    // Back to healthy by itself, and recording again.
    let healthy = eventually(Duration::from_secs(20), || async {
        (health(&server).await == ("ok".to_owned(), "healthy".to_owned())).then_some(())
    })
    .await;
    assert!(
        healthy.is_some(),
        "/health did not return to healthy: {:?}",
        health(&server).await
    );
    let after = json!([{"role": "user", "content": "My name is After."}]);
    let (status, _) = server.chat("qwen3-max", &after).await;
    assert_eq!(status, 200);
    server.store.flush().await.expect("flush");
    let recorded = query(
        &cluster.url(),
        "SELECT count(*) FROM requests r JOIN messages m ON true
         JOIN request_messages rm ON rm.request_id = r.id AND rm.message_id = m.id
         WHERE m.content = 'My name is After.'",
    )
    .await;
    assert_eq!(
        recorded[0].get::<_, i64>(0),
        1,
        "nothing recorded after the restart"
    );

    // Nothing twice; every exchange either recorded or counted as lost.
    let twice = query(
        &cluster.url(),
        "SELECT client_request_id FROM requests WHERE client_request_id LIKE 'load-%'
         GROUP BY client_request_id HAVING count(*) > 1",
    )
    .await;
    assert!(twice.is_empty(), "{} requests recorded twice", twice.len());
    let kept = query(
        &cluster.url(),
        "SELECT count(*) FROM responses p JOIN requests r ON r.id = p.request_id
         WHERE r.client_request_id LIKE 'load-%'",
    )
    .await[0]
        .get::<_, i64>(0);
    let metrics = server.get("/metrics").await.text().await.unwrap();
    let lost = counter(&metrics, "store_unrecorded_exchanges_total");
    eprintln!("{kept} of {STREAMS} exchanges recorded, {lost} counted as lost");
    assert!(kept as usize <= STREAMS);
    assert!(
        kept as f64 + lost >= STREAMS as f64,
        "{kept} recorded + {lost} counted lost < {STREAMS}: an exchange went missing silently"
    );
    let (_fake, result, _dir) = server.stop().await;
    result.expect("serve ended with an error");
}

#[tokio::test]
async fn serve_refuses_to_start_without_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = crate::common::qwenctl(dir.path());
    cmd.env(
        "DATABASE_URL",
        format!("postgres://qwen:s3cret@127.0.0.1:{port}/q?sslmode=disable"),
    )
    .env("LOG_LEVEL", "warn")
    .args(["serve", "--fake-upstream", "--port", "0"]);
    let out = crate::common::run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = crate::common::stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
