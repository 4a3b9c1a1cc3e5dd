//! The writer: opening, ordering, group commit, durability, cascades and failures.

use super::*;

#[tokio::test]
async fn open_creates_directories_and_migrates_once() {
    let (dir, store) = temp_store();
    let path = dir.path().join("nested/dir/qwen_proxy.db");
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(store.schema_version(), migrations::latest_version());
    assert_eq!(store.integrity_check().await.expect("check"), "ok");
    store
        .create_session(session("s1", "m", 1))
        .await
        .expect("create");
    store.flush().await.expect("flush");
    drop(store);

    // Reopening runs no migration again and keeps the data.
    let again = Store::open(&path).expect("reopen");
    assert_eq!(again.schema_version(), migrations::latest_version());
    assert!(again.get_session("s1").await.expect("get").is_some());
    let conn = rusqlite::Connection::open(&path).expect("open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
}

on_both_backends! {
    #[tokio::test]
    async fn record_response_is_committed_when_it_resolves(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("s1", "m", 1))
            .await
            .expect("create");
        let req = request("r1", Some("s1"), None, vec![msg("user", "hi")], 2);
        store.record_request(req).await.expect("request");
        store
            .record_response(response("p1", "r1", Some("s1"), 3))
            .await
            .expect("response");
        // No flush: the ack itself promises the commit.
        assert_eq!(count_committed(&store, "responses").await, 1);
        assert_eq!(count_committed(&store, "requests").await, 1);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn a_failed_write_is_reported_and_the_writer_carries_on(backend) {
        let (_keep, store) = store_on(&backend).await;
        // No such request: the foreign key fails, only for this op.
        let err = store
            .record_response(response("p0", "missing", None, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(err, Error::Sqlite(_) | Error::Postgres(_)),
            "{err:?}"
        );
        store
            .create_session(session("s1", "m", 1))
            .await
            .expect("create");
        // A request naming an unknown session is kept, without the session.
        let req = request("r1", Some("nope"), None, vec![msg("user", "x")], 2);
        store.record_request(req).await.expect("request");
        store
            .record_response(response("p1", "r1", None, 2))
            .await
            .expect("response");
        let detail = store.get_request("r1").await.expect("get").expect("exists");
        assert_eq!(detail.summary.session_id, None);
        assert!(store.get_session("s1").await.expect("get").is_some());
    }
}

on_both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_concurrent_writers_are_all_committed(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("s", "m", 1))
            .await
            .expect("create");
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let id = format!("r{i}");
                    let content = format!("message {}", i % 7);
                    let req = request(&id, Some("s"), None, vec![msg("user", &content)], i);
                    store.record_request(req).await?;
                    store
                        .record_response(response(&format!("p{i}"), &id, Some("s"), i))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("write");
        }
        assert_eq!(count_committed(&store, "requests").await, 300);
        assert_eq!(count_committed(&store, "responses").await, 300);
        // Seven distinct contents, each stored once.
        assert_eq!(count_committed(&store, "messages").await, 7);
        let summary = store.get_session("s").await.expect("get").expect("exists");
        assert_eq!(summary.turns, 300);
        assert_eq!(summary.total_tokens, 300 * 15);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn session_activity_only_moves_forward(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("s", "m", 100))
            .await
            .expect("create");
        // Recording a request marks its session used; a late write of an older request (two
        // racing turns) must not move `updated_at` back.
        let late = request("r1", Some("s"), None, Vec::new(), 500);
        store.record_request(late).await.expect("request");
        let early = request("r2", Some("s"), None, Vec::new(), 200);
        store.record_request(early).await.expect("request");
        store.flush().await.expect("flush");
        let s = store.get_session("s").await.expect("get").expect("exists");
        assert_eq!((s.created_at, s.updated_at), (100, 500));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn delete_session_cascades_but_keeps_messages(backend) {
        let (_keep, store) = store_on(&backend).await;
        for id in ["a", "b"] {
            store
                .create_session(session(id, "m", 1))
                .await
                .expect("create");
            let req = request(
                &format!("r{id}"),
                Some(id),
                None,
                vec![msg("user", "same")],
                2,
            );
            store.record_request(req).await.expect("request");
            store
                .record_response(response(&format!("p{id}"), &format!("r{id}"), Some(id), 3))
                .await
                .expect("response");
            store.remember(node(1, id, 2, 4)).await.expect("remember");
        }
        assert!(store.delete_session("a").await.expect("delete"));
        assert!(!store.delete_session("a").await.expect("delete again"));
        assert!(store.get_session("a").await.expect("get").is_none());
        assert!(store.get_request("ra").await.expect("get").is_none());
        assert!(store.get_response("pa").await.expect("get").is_none());
        // The node was re-pointed to `b` by the second remember; `b` is intact.
        assert!(
            store
                .lookup_prefix(&[[1; 16]], None)
                .await
                .expect("lookup")
                .is_some()
        );
        assert_eq!(count_committed(&store, "messages").await, 1);
        let b = store.get_request("rb").await.expect("get").expect("exists");
        assert_eq!(b.messages, vec![msg("user", "same")]);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn prune_removes_old_sessions_and_orphans(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("old", "m", 10))
            .await
            .expect("create");
        store
            .create_session(session("new", "m", 1000))
            .await
            .expect("create");
        let old = request(
            "r-old",
            Some("old"),
            None,
            vec![msg("user", "old only")],
            10,
        );
        store.record_request(old).await.expect("request");
        let loose = request("r-loose", None, None, vec![msg("user", "shared")], 20);
        store.record_request(loose).await.expect("request");
        let kept = request(
            "r-new",
            Some("new"),
            None,
            vec![msg("user", "shared")],
            1000,
        );
        store.record_request(kept).await.expect("request");
        store
            .remember(node(9, "old", 2, 10))
            .await
            .expect("remember");

        assert_eq!(store.prune(500).await.expect("prune"), 2);
        assert!(store.get_session("old").await.expect("get").is_none());
        assert!(store.get_request("r-loose").await.expect("get").is_none());
        assert!(store.get_request("r-new").await.expect("get").is_some());
        assert!(
            store
                .lookup_prefix(&[[9; 16]], None)
                .await
                .expect("lookup")
                .is_none()
        );
        // "old only" lost its last reference; "shared" is still used by r-new.
        assert_eq!(count_committed(&store, "messages").await, 1);
    }
}

#[tokio::test]
async fn in_memory_stores_work_and_are_private() {
    let one = Store::open_in_memory().expect("open");
    let two = Store::open_in_memory().expect("open");
    assert_eq!(one.path(), None);
    one.create_session(session("s", "m", 1))
        .await
        .expect("create");
    let req = request("r", Some("s"), None, vec![msg("user", "hi")], 2);
    one.record_request(req).await.expect("request");
    one.record_response(response("p", "r", Some("s"), 3))
        .await
        .expect("response");
    one.remember(node(3, "s", 2, 4)).await.expect("remember");
    one.flush().await.expect("flush");
    let found = one.lookup_prefix(&[[3; 16]], None).await.expect("lookup");
    assert_eq!(found.map(|n| n.response_id), Some("resp-3".to_owned()));
    assert_eq!(
        one.get_session("s").await.expect("get").map(|s| s.turns),
        Some(1)
    );
    assert!(two.get_session("s").await.expect("get").is_none());
    assert_eq!(one.integrity_check().await.expect("check"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_reads_and_writes_interleave() {
    let store = Store::open_in_memory().expect("open");
    store
        .create_session(session("s", "m", 1))
        .await
        .expect("create");
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let id = format!("r{i}");
                let req = request(&id, Some("s"), None, vec![msg("user", &id)], i);
                store.record_request(req).await?;
                store
                    .record_response(response(&format!("p{i}"), &id, Some("s"), i))
                    .await?;
            }
            Ok::<_, Error>(())
        })
    };
    for _ in 0..100 {
        store
            .list_requests(&ListQuery::default())
            .await
            .expect("read while writing");
    }
    writer.await.expect("join").expect("writes");
    assert_eq!(
        store.get_session("s").await.expect("get").map(|s| s.turns),
        Some(200)
    );
}

#[tokio::test]
async fn backup_and_vacuum_keep_the_data() {
    let (dir, store) = temp_store();
    store
        .create_session(session("s", "m", 1))
        .await
        .expect("create");
    store.vacuum().await.expect("vacuum");
    let copy = dir.path().join("backups/copy.db");
    store.backup(&copy).await.expect("backup");
    let restored = Store::open(&copy).expect("open copy");
    assert!(restored.get_session("s").await.expect("get").is_some());
    assert_eq!(restored.integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn queued_writes_share_one_commit() {
    let (_dir, store) = temp_store();
    store
        .create_session(session("s", "m", 1))
        .await
        .expect("create");
    store.flush().await.expect("flush");
    // Another connection holds the write lock, so everything below queues up behind it.
    let blocker = rusqlite::Connection::open(store.path().expect("file")).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let before = store.commits();
    for i in 0..200 {
        let id = format!("r{i}");
        let req = request(&id, Some("s"), None, vec![msg("user", &id)], i);
        store.record_request(req).await.expect("queue");
    }
    let flushed = tokio::spawn({
        let store = store.clone();
        async move { store.flush().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    blocker.execute_batch("COMMIT").expect("unlock");
    flushed.await.expect("join").expect("flush");
    // The op taken before the lock was seen, then the rest in one group.
    let commits = store.commits() - before;
    assert!(commits <= 3, "{commits} commits for 200 queued writes");
    assert_eq!(count_committed(&store, "requests").await, 200);
}

/// A group of exchange writes runs without savepoints; when one of them fails on its own
/// (a response to a request that does not exist), the group is run again with a savepoint
/// per job and only that one is lost.
#[tokio::test]
async fn one_bad_write_in_a_group_loses_only_itself() {
    let (_dir, store) = temp_store();
    store.flush().await.expect("flush");
    let blocker = rusqlite::Connection::open(store.path().expect("file")).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    store
        .create_session(session("s", "m", 1))
        .await
        .expect("queue");
    let first = request("r1", Some("s"), None, vec![msg("user", "one")], 2);
    store.record_request(first).await.expect("queue");
    let bad = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .record_response(response("p0", "missing", None, 3))
                .await
        }
    });
    let good = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .record_request(request("r2", Some("s"), None, vec![msg("user", "two")], 4))
                .await?;
            store
                .record_response(response("p2", "r2", Some("s"), 5))
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    blocker.execute_batch("COMMIT").expect("unlock");
    let err = bad.await.expect("join").expect_err("no such request");
    assert!(matches!(err, Error::Sqlite(_)), "{err:?}");
    good.await.expect("join").expect("the neighbours commit");
    assert_eq!(count_committed(&store, "requests").await, 2);
    assert_eq!(count_committed(&store, "responses").await, 1);
    assert!(store.get_session("s").await.expect("get").is_some());
}

on_both_backends! {
    #[tokio::test]
    async fn a_withdrawn_response_stays_in_the_archive(backend) {
        let (_keep, store) = store_on(&backend).await;
        store.create_session(session("s1", "m", 1)).await.unwrap();
        store
            .record_request(request("r1", Some("s1"), None, vec![msg("user", "hi")], 2))
            .await
            .unwrap();
        store
            .record_response(response("resp_1", "r1", Some("s1"), 3))
            .await
            .unwrap();
        assert_eq!(
            store
                .get_response("resp_1")
                .await
                .unwrap()
                .unwrap()
                .withdrawn_at,
            None
        );
        assert!(store.withdraw_response("resp_1").await.unwrap());
        assert!(!store.withdraw_response("resp_1").await.unwrap(), "once");
        assert!(!store.withdraw_response("resp_nobody").await.unwrap());
        let row = store
            .get_response("resp_1")
            .await
            .unwrap()
            .expect("still archived");
        assert!(row.withdrawn_at.is_some());
        assert_eq!(
            store
                .list_responses(&ListQuery::default())
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// A full disk: commits fail with `SQLITE_FULL`, waiters hear why, nothing of the failed
/// group is written, the store is degraded with that reason, and the first commit after
/// space returns ends it.
#[tokio::test]
async fn a_full_disk_degrades_the_store_until_a_write_succeeds() {
    let (_dir, store) = temp_store();
    store.create_session(session("s", "m", 1)).await.unwrap();
    store.flush().await.unwrap();
    store
        .inject_write_fault(Some(WriteFault::DiskFull))
        .await
        .unwrap();
    store.create_session(session("t", "m", 2)).await.unwrap();
    let req = request("r1", Some("s"), None, vec![msg("user", "hello")], 2);
    store.record_request(req).await.unwrap();
    let err = store
        .record_response(response("p1", "r1", Some("s"), 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unwritable {
                reason: WriteFailure::DiskFull,
                ..
            }
        ),
        "{err}"
    );
    store.flush().await.expect("a flush is not a lost write");
    let incident = store.degraded().expect("degraded");
    assert_eq!(incident.reason, WriteFailure::DiskFull);
    assert_eq!(incident.failures, 3, "{incident:?}");
    for table in ["requests", "responses"] {
        assert_eq!(count_committed(&store, table).await, 0, "{table}");
    }
    assert_eq!(count_committed(&store, "sessions").await, 1);

    store.inject_write_fault(None).await.unwrap();
    assert!(
        store.degraded().is_some(),
        "ended before any write succeeded"
    );
    let req = request("r2", Some("s"), None, vec![msg("user", "hello")], 3);
    store.record_request(req).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.degraded(), None);
    assert_eq!(count_committed(&store, "requests").await, 1);
}

/// A read-only file: every write statement fails with `SQLITE_READONLY`; the store is
/// degraded until a write succeeds.
#[tokio::test]
async fn a_read_only_file_degrades_the_store() {
    let (_dir, store) = temp_store();
    store
        .inject_write_fault(Some(WriteFault::ReadOnly))
        .await
        .unwrap();
    let err = store
        .record_response(response("p1", "r1", None, 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unwritable {
                reason: WriteFailure::ReadOnly,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.degraded().map(|d| d.reason),
        Some(WriteFailure::ReadOnly)
    );
    store.inject_write_fault(None).await.unwrap();
    store.create_session(session("s", "m", 1)).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.degraded(), None);
    assert_eq!(count_committed(&store, "sessions").await, 1);
}
