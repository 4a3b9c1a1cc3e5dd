//! The read commands on a database nobody may write (issue 18, item 13): `sessions list`,
//! `show`, `export`, `stats` and `db backup` open it read-only, answer as usual, and leave
//! the file exactly as it was (no migration, nothing in a WAL).

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::common::*;

#[tokio::test]
async fn read_commands_read_a_read_only_database_and_leave_it_as_it_was() {
    let s = TestServer::start().await;
    converse(
        &s,
        "qwen3-max",
        &["Hi, my name is Alice.", "What is my name?"],
    )
    .await;
    converse(&s, "qwen3-max", &["another one"]).await;
    let keep = tempfile::tempdir().unwrap();
    let db = keep.path().join("backup.db");
    s.store.backup(&db).await.unwrap();
    drop(s);
    let before = std::fs::read(&db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let list = json_out(&cli(dir.path(), &db, &["sessions", "list", "--json"]).await);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let id = session_with_title(&list, "Hi, my name is Alice.");
    let shown = json_out(&cli(dir.path(), &db, &["sessions", "show", &id, "--json"]).await);
    assert_eq!(shown["turns"].as_array().unwrap().len(), 2, "{shown}");
    let out = cli(dir.path(), &db, &["sessions", "export", "--all"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    let stats = json_out(&cli(dir.path(), &db, &["stats", "--json"]).await);
    assert_eq!(stats["groups"][0]["requests"], 3, "{stats}");
    let copy = dir.path().join("copy.db");
    let out = cli(dir.path(), &db, &["db", "backup", copy.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Byte for byte what it was, and no WAL with anything in it beside it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        std::fs::read(&db).unwrap() == before,
        "a read command changed the file"
    );
    let wal = keep.path().join("backup.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "a read command wrote to the WAL"
    );
}

#[tokio::test]
async fn read_commands_on_a_missing_database_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nothing/here.db");
    let list = json_out(&cli(dir.path(), &db, &["sessions", "list", "--json"]).await);
    assert_eq!(list, serde_json::json!([]));
    let stats = json_out(&cli(dir.path(), &db, &["stats", "--json"]).await);
    assert_eq!(stats["groups"][0]["requests"], 0);
    assert!(!db.parent().unwrap().exists());
}
