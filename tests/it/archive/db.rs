//! `db backup/vacuum/prune`, and how the database grows with a long conversation.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test]
async fn db_backup_vacuum_and_prune() {
    let s = TestServer::start().await;
    converse(&s, "qwen3-max", &["keep me", "and me"]).await;
    converse(&s, "qwen3-max", &["another"]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = &s.db_path;

    let dest = dir.path().join("backups/copy.db");
    let out = cli(dir.path(), db, &["db", "backup", dest.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(dest.to_str().unwrap()), "{text}");
    assert!(text.contains("KiB") || text.contains(" B)"), "{text}");
    {
        let copy = rusqlite::Connection::open(&dest).unwrap();
        let check: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let sessions: i64 = copy
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sessions, 2);
    }
    let onto_itself = cli(dir.path(), db, &["db", "backup", db.to_str().unwrap()]).await;
    assert_eq!(
        onto_itself.status.code(),
        Some(2),
        "{}",
        stderr(&onto_itself)
    );

    let out = cli(dir.path(), db, &["db", "vacuum"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Vacuumed "), "{}", stdout(&out));

    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "abc"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--older-than"), "{}", stderr(&out));
    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "30d"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Pruned 0 "), "{}", stdout(&out));
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    assert_eq!(list.as_array().unwrap().len(), 2);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "1ms"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Pruned 2 "), "{}", stdout(&out));
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_long_conversation_grows_the_database_linearly() {
    let s = TestServer::start().await;
    // ~1 KB per user message, distinct per turn so deduplication cannot hide anything.
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(23);
    let mut history: Vec<Value> = Vec::new();
    let mut sizes = std::collections::BTreeMap::new();
    for turn in 1..=50 {
        history.push(json!({"role": "user", "content": format!("turn {turn}: {filler}")}));
        let (status, body) = s.chat("qwen3-max", &Value::Array(history.clone())).await;
        assert_eq!(status, 200, "{body}");
        let answer = body["choices"][0]["message"]["content"].clone();
        history.push(json!({"role": "assistant", "content": answer}));
        if [1, 10, 25, 50].contains(&turn) {
            s.store.flush().await.unwrap();
            sizes.insert(turn, db_bytes(&s.db_path));
        }
    }
    let sent = serde_json::to_vec(&history).unwrap().len();
    let first = (sizes[&10] - sizes[&1]) as f64 / 9.0;
    let last = (sizes[&50] - sizes[&25]) as f64 / 25.0;
    eprintln!(
        "database growth over 50 turns (~1 KB user message each, history resent; the last \
         request carried {sent} bytes of messages): sizes {sizes:?}; turns 2-10: {first:.0} \
         bytes/turn, turns 26-50: {last:.0} bytes/turn, whole: {:.0} bytes/turn",
        sizes[&50] as f64 / 50.0
    );
    assert!(first > 0.0, "{sizes:?}");
    assert!(
        last < 2.0 * first,
        "storage grows faster than linearly: {first:.0} → {last:.0} bytes/turn"
    );
    // Storing each resent history again would cost the sum of all histories, about 25 times
    // the last one; what the 49 turns after the first added must stay far below that.
    assert!(
        sizes[&50] - sizes[&1] < (sent as i64) * 10,
        "{sizes:?} vs {sent}"
    );
}
