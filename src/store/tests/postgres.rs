//! What only the PostgreSQL store has: migrations that several replicas may run at once,
//! read-only opening of an older schema, and two stores (two replicas) sharing one
//! database.

use super::*;

/// The PostgreSQL test server with a fresh schema, or `None` when the test is skipped.
async fn fresh(test: &str) -> Option<String> {
    match Backend::postgres(test)? {
        Backend::Postgres(url) => Some(fresh_schema(&url).await),
        Backend::Sqlite => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_migrate_once() {
    let Some(url) = fresh("replicas_starting_together_migrate_once").await else {
        return;
    };
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in opened {
        stores.push(task.await.expect("join").expect("connect"));
    }
    let latest = crate::store::pg::migrations::latest_version();
    assert!(stores.iter().all(|s| s.schema_version() == latest));
    let pg = stores[0].postgres().expect("postgres");
    let client = pg.pool().get().await.expect("connection");
    let applied: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(applied, latest, "each migration is recorded once");
    let version: String = client
        .query_one(
            "SELECT value FROM metadata WHERE key = 'schema_version'",
            &[],
        )
        .await
        .expect("metadata")
        .get(0);
    assert_eq!(version, latest.to_string());
}

#[tokio::test]
async fn a_read_only_open_refuses_an_unmigrated_database_and_never_writes() {
    let Some(url) = fresh("a_read_only_open_refuses_an_unmigrated_database").await else {
        return;
    };
    let err = Store::connect_read_only(&url).await.unwrap_err();
    assert!(matches!(err, Error::OldSchema { found: 0, .. }), "{err:?}");
    assert!(err.to_string().contains("qwenctl db migrate"), "{err}");
    let writer = Store::connect(&url).await.expect("migrate");
    writer
        .create_session(session("s", "m", 1))
        .await
        .expect("create");
    writer.flush().await.expect("flush");
    let reader = Store::connect_read_only(&url).await.expect("read-only");
    assert!(reader.is_read_only());
    assert!(reader.get_session("s").await.expect("read").is_some());
    assert!(matches!(
        reader.create_session(session("t", "m", 1)).await,
        Err(Error::ReadOnlyStore)
    ));
}

/// Two stores on one database are two replicas: what one commits, the other reads, and
/// the conversation index is one.
#[tokio::test]
async fn two_replicas_share_the_record_and_the_conversation_index() {
    let Some(url) = fresh("two_replicas_share_the_record").await else {
        return;
    };
    let a = Store::connect(&url).await.expect("a");
    let b = Store::connect(&url).await.expect("b");
    a.create_session(session("s", "qwen3-max", 1))
        .await
        .unwrap();
    let req = request("r1", Some("s"), None, vec![msg("user", "hi")], 2);
    a.record_request(req).await.unwrap();
    a.remember(node(7, "s", 2, 3)).await.unwrap();
    a.record_response(response("p1", "r1", Some("s"), 3))
        .await
        .unwrap();
    // Committed before `record_response` resolved: the other replica sees it at once.
    let found = b.lookup_prefix(&[[9; 16], [7; 16]], None).await.unwrap();
    assert_eq!(found.map(|n| n.session_id), Some("s".to_owned()));
    let summary = b.get_session("s").await.unwrap().expect("session");
    assert_eq!(summary.turns, 1);
    let req = request("r2", Some("s"), Some("r1"), vec![msg("user", "again")], 4);
    b.record_request(req).await.unwrap();
    b.record_response(response("p2", "r2", Some("s"), 5))
        .await
        .unwrap();
    let detail = a.get_request("r2").await.unwrap().expect("request");
    let texts: Vec<&str> = detail.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["hi", "answer p1", "again"]);
}

#[tokio::test]
async fn an_unreachable_server_fails_with_one_line_and_its_cause_without_the_password() {
    // A port nothing listens on: connection refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgres://qwen:s3cret@127.0.0.1:{port}/q?sslmode=disable");
    let err = Store::connect(&url).await.unwrap_err().to_string();
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(
        err.contains("Connection refused"),
        "the cause is given: {err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

/// A group whose statements go to the server at once, with one bad row among them: the
/// group is run again op by op, the bad row fails alone and the others are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_row_in_a_pipelined_group_fails_alone() {
    let Some(url) = fresh("a_bad_row_in_a_pipelined_group_fails_alone").await else {
        return;
    };
    let store = Store::connect(&url).await.expect("connect");
    store.create_session(session("s", "m", 1)).await.unwrap();
    store.flush().await.unwrap();
    let before = store.commits();
    // Another connection holds the sessions table, so what follows queues behind the first
    // write and goes out as one group.
    let (blocker, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    blocker
        .batch_execute("BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let first = tokio::spawn({
        let store = store.clone();
        async move { store.create_session(session("t", "m", 2)).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut writes = Vec::new();
    for i in 0..5 {
        let store = store.clone();
        writes.push(tokio::spawn(async move {
            let id = format!("r{i}");
            let req = request(&id, Some("s"), None, vec![msg("user", &id)], 10 + i);
            store.record_request(req).await?;
            // The third response names a request that does not exist.
            let of = if i == 2 { "missing".to_owned() } else { id };
            store
                .record_response(response(&format!("p{i}"), &of, Some("s"), 10 + i))
                .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    blocker.batch_execute("COMMIT").await.unwrap();
    drop(blocker);
    let _ = driver.await;
    first.await.unwrap().unwrap();
    let outcomes: Vec<bool> = futures_util::future::join_all(writes)
        .await
        .into_iter()
        .map(|r| r.unwrap().is_ok())
        .collect();
    assert_eq!(outcomes, [true, true, false, true, true]);
    store.flush().await.unwrap();
    let commits = store.commits() - before;
    assert!(
        commits <= 3,
        "{commits} commits: the writes were not one group"
    );
    assert_eq!(count_committed(&store, "requests").await, 5);
    assert_eq!(count_committed(&store, "responses").await, 4);
    assert_eq!(count_committed(&store, "sessions").await, 2);
}
