//! Opening the store read-only (issue 18, item 13): a file nobody may write is read, and
//! reading never changes the file.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// The file's bytes, and whether a WAL with anything in it lies beside it.
fn snapshot(path: &std::path::Path) -> (Vec<u8>, bool) {
    let wal = super::super::wal_path(path);
    let wal_used = std::fs::metadata(wal).is_ok_and(|m| m.len() > 0);
    (std::fs::read(path).unwrap(), wal_used)
}

fn set_mode(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A store of two sessions, closed (its WAL checkpointed away).
async fn two_sessions(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("q.db");
    let store = Store::open(&path).unwrap();
    for (id, at) in [("a", 1), ("b", 2)] {
        store.create_session(session(id, "m", at)).await.unwrap();
        let req = request(
            &format!("{id}-r"),
            Some(id),
            None,
            vec![msg("user", id)],
            at,
        );
        store.record_request(req).await.unwrap();
        let resp = response(&format!("{id}-p"), &format!("{id}-r"), Some(id), at);
        store.record_response(resp).await.unwrap();
    }
    drop(store);
    path
}

#[tokio::test]
async fn a_read_only_file_is_read_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = two_sessions(dir.path()).await;
    let before = snapshot(&path);
    set_mode(&path, 0o444);

    let store = Store::open_read_only(&path).unwrap();
    assert!(store.is_read_only());
    assert_eq!(
        store.schema_version(),
        super::super::migrations::latest_version()
    );
    let sessions = store.list_sessions(&ListQuery::default()).await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].turns, 1);
    let read = store.session_export("a").await.unwrap().unwrap();
    assert_eq!(read.conversation.len(), 2);
    let usage = store.usage_stats(None, None).await.unwrap();
    assert_eq!(usage.groups[0].requests, 2);
    store.ping().await.unwrap();
    assert!(matches!(
        store.create_session(session("c", "m", 3)).await,
        Err(Error::ReadOnlyStore)
    ));
    drop(store);

    set_mode(&path, 0o644);
    assert!(
        snapshot(&path) == before,
        "reading changed the file or wrote a WAL"
    );
}

#[tokio::test]
async fn a_missing_file_reads_as_an_empty_archive_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none/q.db");
    let store = Store::open_read_only(&path).unwrap();
    assert!(
        store
            .list_sessions(&ListQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.usage_stats(None, None).await.unwrap().groups[0].requests,
        0
    );
    drop(store);
    assert!(!path.exists() && !path.parent().unwrap().exists());
}

/// A file of an older schema is read through an upgraded copy; the file stays as it was.
#[tokio::test]
async fn an_older_file_is_read_through_an_upgraded_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &super::super::migrations::MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO sessions VALUES ('old', 'c', 'm', 'an old session', 'serve', 1, 1)",
            [],
        )
        .unwrap();
    }
    let before = snapshot(&path);
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(
        store.schema_version(),
        super::super::migrations::latest_version()
    );
    let sessions = store.list_sessions(&ListQuery::default()).await.unwrap();
    assert_eq!(sessions[0].title, "an old session");
    drop(store);
    assert!(snapshot(&path) == before, "the old file was changed");
}

/// What a read-only directory without a `-shm` gets: the file read as immutable.
#[tokio::test]
async fn an_immutable_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = two_sessions(dir.path()).await;
    let location = super::super::conn::Location::ReadOnly {
        path: path.clone(),
        immutable: true,
    };
    let conn = location.open(false).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    drop(conn);
    let shm = path.with_extension("db-shm");
    assert!(!shm.exists(), "an immutable read set up a WAL index");
}

/// Reading while `serve` writes: the read-only store sees what is committed.
#[tokio::test]
async fn a_read_only_store_reads_beside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let writer = Store::open(&path).unwrap();
    writer.create_session(session("a", "m", 1)).await.unwrap();
    writer.flush().await.unwrap();
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.count_sessions().await.unwrap(), 1);
    writer.create_session(session("b", "m", 2)).await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(reader.count_sessions().await.unwrap(), 2);
}
