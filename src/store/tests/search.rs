//! Full-text search (migrations 0007 and 0008): what is found, how the indexes follow every
//! write (replaced responses, deleted sessions, pruning, vacuum), when the writer indexes,
//! filters, words taken literally, and databases written before the indexes existed or
//! while triggers kept them.

use super::*;

/// Records one exchange: a session (when new), a request with `user` as its new message,
/// and a response answering `answer` with `reasoning`.
async fn exchange(store: &Store, sid: &str, n: i64, user: &str, answer: &str, reasoning: &str) {
    let at = n * 1000;
    if n == 1 || store.get_session(sid).await.unwrap().is_none() {
        store
            .create_session(session(sid, "qwen3-max", at))
            .await
            .unwrap();
    }
    let rid = format!("{sid}-r{n}");
    store
        .record_request(request(&rid, Some(sid), None, vec![msg("user", user)], at))
        .await
        .unwrap();
    let mut resp = response(&format!("{sid}-p{n}"), &rid, Some(sid), at);
    resp.content = answer.to_owned();
    resp.reasoning = reasoning.to_owned();
    store.record_response(resp).await.unwrap();
}

async fn ids(store: &Store, text: &str, q: &ListQuery) -> Vec<String> {
    store
        .search_sessions(text, q)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.session.id)
        .collect()
}

fn matched(m: &SessionMatch) -> Vec<String> {
    m.snippet
        .iter()
        .filter(|s| s.matched)
        .map(|s| s.text.to_lowercase())
        .collect()
}

on_both_backends! {
    #[tokio::test]
    async fn finds_sessions_by_what_was_asked_answered_or_thought(backend) {
        let (_keep, store) = store_on(&backend).await;
        exchange(
            &store,
            "a",
            1,
            "How do I bake sourdough bread?",
            "Use a starter.",
            "",
        )
        .await;
        exchange(
            &store,
            "b",
            2,
            "Tell me about Paris",
            "Paris is the capital.",
            "",
        )
        .await;
        exchange(
            &store,
            "c",
            3,
            "Plan a trip",
            "Go by train.",
            "Maybe a café in Lyon",
        )
        .await;
        store.flush().await.unwrap();
        let all = ListQuery::default();
        assert_eq!(ids(&store, "sourdough", &all).await, ["a"]);
        assert_eq!(
            ids(&store, "CAPITAL", &all).await,
            ["b"],
            "case-insensitive"
        );
        assert_eq!(
            ids(&store, "cafe lyon", &all).await,
            ["c"],
            "reasoning, diacritics"
        );
        assert_eq!(ids(&store, "paris bread", &all).await, Vec::<String>::new());
        let found = store.search_sessions("bake bread", &all).await.unwrap();
        assert_eq!(matched(&found[0]), ["bake", "bread"]);
        let text: String = found[0].snippet.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(text, "How do I bake sourdough bread?");
        assert_eq!(found[0].session.turns, 1, "totals come with the session");

        // Newest session first; the snippet is of the newest match.
        exchange(
            &store,
            "a",
            4,
            "More on the crust",
            "Paris bakers steam it.",
            "",
        )
        .await;
        store.flush().await.unwrap();
        let found = store.search_sessions("paris", &all).await.unwrap();
        let order: Vec<&str> = found.iter().map(|m| m.session.id.as_str()).collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(matched(&found[0]), ["paris"]);
        assert!(found[0].snippet.iter().any(|s| s.text.contains("bakers")));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn query_syntax_is_taken_as_words_and_never_fails(backend) {
        let (_keep, store) = store_on(&backend).await;
        exchange(
            &store,
            "a",
            1,
            "NEAR the col:umn AND \"quotes\" (parens) -minus",
            "ok",
            "",
        )
        .await;
        store.flush().await.unwrap();
        let all = ListQuery::default();
        for query in [
            "\"",
            "\"\"",
            "*",
            "col:",
            "(",
            ")",
            "-",
            "NEAR",
            "AND",
            "OR",
            "NOT",
            "^",
            "+",
            "{a}",
            "NEAR(",
            "a OR",
            "\"unterminated",
            "col:umn",
            "-minus",
            "(parens)",
            "quotes\"",
            "'",
            ";",
            "\\",
            "%",
            "_",
            "NEAR/2",
            "*:*",
            "\u{e000}",
            "\0",
        ] {
            let result = store.search_sessions(query, &all).await;
            assert!(result.is_ok(), "{query:?}: {result:?}");
        }
        for query in [
            "NEAR",
            "AND",
            "col:umn",
            "(parens)",
            "-minus",
            "\"quotes\"",
            "near and",
        ] {
            assert_eq!(ids(&store, query, &all).await, ["a"], "{query:?}");
        }
        assert_eq!(ids(&store, "OR", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "* --", &all).await, Vec::<String>::new());
    }
}

on_both_backends! {
    #[tokio::test]
    async fn filters_and_paging_apply_to_the_matching_sessions(backend) {
        let (_keep, store) = store_on(&backend).await;
        for (i, sid) in ["s1", "s2", "s3"].iter().enumerate() {
            let n = i64::try_from(i).unwrap() + 1;
            exchange(&store, sid, n, "the shared word zebra", "answer", "").await;
        }
        let mut other = session("plus", "qwen-plus", 10_000);
        other.api_key_id = Some("key-2".into());
        store.create_session(other).await.unwrap();
        let mut req = request(
            "plus-r",
            Some("plus"),
            None,
            vec![msg("user", "zebra")],
            10_000,
        );
        req.api_key_id = Some("key-2".into());
        store.record_request(req).await.unwrap();
        store.flush().await.unwrap();
        let q = |f: fn(&mut ListQuery)| {
            let mut q = ListQuery::default();
            f(&mut q);
            q
        };
        assert_eq!(
            ids(&store, "zebra", &ListQuery::default()).await,
            ["plus", "s3", "s2", "s1"],
            "a request without an answer is found too"
        );
        assert_eq!(
            ids(&store, "zebra", &q(|q| q.model = Some("qwen-plus".into()))).await,
            ["plus"]
        );
        assert_eq!(
            ids(&store, "zebra", &q(|q| q.api_key_id = Some("key-2".into()))).await,
            ["plus"],
            "a key sees only its own sessions"
        );
        assert_eq!(
            ids(&store, "zebra", &q(|q| q.since_ms = Some(2_000))).await,
            ["plus", "s3", "s2"]
        );
        assert_eq!(
            ids(
                &store,
                "zebra",
                &q(|q| {
                    q.limit = 2;
                    q.offset = 1;
                })
            )
            .await,
            ["s3", "s2"]
        );
    }
}

on_both_backends! {
    #[tokio::test]
    async fn the_indexes_follow_replacements_deletes_pruning_and_vacuum(backend) {
        let (_keep, store) = store_on(&backend).await;
        exchange(
            &store,
            "a",
            1,
            "first question alpha",
            "first answer bravo",
            "",
        )
        .await;
        exchange(
            &store,
            "b",
            2,
            "second question charlie",
            "second answer delta",
            "",
        )
        .await;
        // A request's second outcome replaces the first (INSERT OR REPLACE).
        let mut again = response("a-p1-again", "a-r1", Some("a"), 1_500);
        again.content = "replaced answer echo".into();
        store.record_response(again).await.unwrap();
        store.flush().await.unwrap();
        let all = ListQuery::default();
        assert_eq!(ids(&store, "bravo", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "echo", &all).await, ["a"]);

        // Withdrawn responses stay in the archive, and so in the search.
        assert!(store.withdraw_response("b-p2").await.unwrap());
        assert_eq!(ids(&store, "delta", &all).await, ["b"]);

        assert!(store.delete_session("a").await.unwrap());
        assert_eq!(ids(&store, "echo", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "alpha", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "charlie", &all).await, ["b"]);

        store.vacuum().await.unwrap();
        // Rowids of `responses` key `answers_fts`: VACUUM must keep them.
        assert_eq!(
            ids(&store, "second answer delta", &all).await,
            ["b"],
            "after VACUUM"
        );
        assert_eq!(
            ids(&store, "second question", &all).await,
            ["b"],
            "after VACUUM"
        );

        assert_eq!(store.prune(i64::MAX).await.unwrap(), 1);
        assert_eq!(ids(&store, "charlie", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "delta", &all).await, Vec::<String>::new());
        // PostgreSQL's indexes are indexes: nothing to check beside the table.
        let Some(path) = store.path().map(std::path::Path::to_path_buf) else {
            return;
        };
        assert_eq!(store.integrity_check().await.unwrap(), "ok");
        drop(store);
        let conn = rusqlite::Connection::open(path).unwrap();
        for table in ["messages_fts", "answers_fts"] {
            // Checked against the content tables: nothing indexed that is gone.
            let rows: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}_docsize"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(rows, 0, "{table} keeps entries of deleted rows");
        }
    }
}

/// A file written by qwenctl before migration 0007 (schema of 0001–0005): its rows are
/// found once it is opened, and new rows are indexed as they come.
#[tokio::test]
async fn a_database_from_before_the_indexes_is_indexed_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        // Every migration before the search indexes (0007, the seventh).
        for sql in &crate::store::migrations::MIGRATIONS[..6] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 6).unwrap();
        crate::store::writes::insert_session(&tx, &session("old", "qwen3-max", 1_000)).unwrap();
        let system = msg("system", "You are a pirate");
        let req = request(
            "old-r1",
            Some("old"),
            None,
            vec![system, msg("user", "Where is the treasure?")],
            1_000,
        );
        crate::store::writes::insert_request(&tx, &req).unwrap();
        let mut resp = response("old-p1", "old-r1", Some("old"), 1_000);
        resp.content = "Buried under the palm tree".into();
        resp.reasoning = "Arr, think like a parrot".into();
        crate::store::writes::insert_response(&tx, &resp).unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version(),
        crate::store::migrations::latest_version()
    );
    let all = ListQuery::default();
    for query in ["treasure", "pirate", "palm tree", "parrot"] {
        assert_eq!(ids(&store, query, &all).await, ["old"], "{query}");
    }
    exchange(
        &store,
        "new",
        5,
        "Where is the map?",
        "In the treasure chest",
        "",
    )
    .await;
    store.flush().await.unwrap();
    assert_eq!(ids(&store, "treasure", &all).await, ["new", "old"]);
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
}

/// How many rows of `table` (an FTS5 index) match `word`, read beside the store.
fn indexed(path: &std::path::Path, table: &str, word: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {table} MATCH ?1"),
        [word],
        |r| r.get(0),
    )
    .unwrap()
}

/// Migration 0008: the acknowledged commit of an exchange no longer indexes it; the writer
/// does, on its own, when idle (no search needed), and before it stops.
#[tokio::test]
async fn the_writer_indexes_new_rows_after_their_commit_when_idle_and_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let store = Store::open(&path).unwrap();
    // Let the pass made at open (rows a killed process left) go by.
    store.flush().await.unwrap();
    exchange(&store, "s", 1, "quince question", "tamarind answer", "").await;
    // Indexed some time after the commit; the commit itself did not wait for it. Polled, so
    // the test does not depend on how long "idle" is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while indexed(&path, "answers_fts", "tamarind") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle writer never indexed the exchange"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(indexed(&path, "messages_fts", "quince"), 1);
    // Closing right after a write indexes it before the writer stops.
    exchange(&store, "s", 2, "loquat question", "rambutan answer", "").await;
    drop(store);
    assert_eq!(indexed(&path, "messages_fts", "loquat"), 1);
    assert_eq!(indexed(&path, "answers_fts", "rambutan"), 1);
}

/// A reading command beside a writer that has not indexed the newest rows yet (here: rows
/// above the watermark, as a killed `serve` leaves them) brings the index up to date
/// before it searches; a file it cannot write is searched as it is.
#[tokio::test]
async fn a_read_only_search_catches_the_index_up_when_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        crate::store::writes::insert_session(&conn, &session("s", "qwen3-max", 1_000)).unwrap();
        let req = request(
            "r1",
            Some("s"),
            None,
            vec![msg("user", "mangosteen?")],
            1_000,
        );
        crate::store::writes::insert_request(&conn, &req).unwrap();
    }
    assert_eq!(indexed(&path, "messages_fts", "mangosteen"), 0);
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(
        ids(&reader, "mangosteen", &ListQuery::default()).await,
        ["s"]
    );
    drop(reader);
    assert_eq!(indexed(&path, "messages_fts", "mangosteen"), 1);
}

/// A file indexed by 0007's triggers: 0008 counts its rows as indexed (they are), and
/// later deletes and replacements keep the index exact.
#[tokio::test]
async fn a_database_indexed_by_triggers_keeps_its_index_when_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &crate::store::migrations::MIGRATIONS[..7] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        crate::store::writes::insert_session(&tx, &session("v7", "qwen3-max", 1_000)).unwrap();
        let req = request(
            "v7-r1",
            Some("v7"),
            None,
            vec![msg("user", "durian?")],
            1_000,
        );
        crate::store::writes::insert_request(&tx, &req).unwrap();
        let mut resp = response("v7-p1", "v7-r1", Some("v7"), 1_000);
        resp.content = "jackfruit".into();
        crate::store::writes::insert_response(&tx, &resp).unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let all = ListQuery::default();
    assert_eq!(ids(&store, "durian", &all).await, ["v7"]);
    assert_eq!(ids(&store, "jackfruit", &all).await, ["v7"]);
    let mut again = response("v7-p1-again", "v7-r1", Some("v7"), 2_000);
    again.content = "lychee".into();
    store.record_response(again).await.unwrap();
    assert_eq!(ids(&store, "jackfruit", &all).await, Vec::<String>::new());
    assert_eq!(ids(&store, "lychee", &all).await, ["v7"]);
    assert!(store.delete_session("v7").await.unwrap());
    assert_eq!(ids(&store, "durian", &all).await, Vec::<String>::new());
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for table in ["messages_fts", "answers_fts"] {
        conn.execute(
            &format!("INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"),
            [],
        )
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn assistant_messages_a_client_resends_are_not_indexed_twice(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("a", "qwen3-max", 1))
            .await
            .unwrap();
        let req = request(
            "a-r1",
            Some("a"),
            None,
            vec![
                msg("assistant", "an invented answer kiwi"),
                msg("user", "fig"),
            ],
            1,
        );
        store.record_request(req).await.unwrap();
        store.flush().await.unwrap();
        let all = ListQuery::default();
        assert_eq!(ids(&store, "kiwi", &all).await, Vec::<String>::new());
        assert_eq!(ids(&store, "fig", &all).await, ["a"]);
    }
}
