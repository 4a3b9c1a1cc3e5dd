//! The queries: lists and filters, reconstruction, transcripts, statistics, the index.

use super::*;

/// Records a conversation of `turns` turns in which every request continues the previous
/// one and adds a single user message, as the proxy does for a client resending its history.
async fn chained_conversation(store: &Store, session_id: &str, turns: i64) {
    store
        .create_session(session(session_id, "qwen3-max", 0))
        .await
        .expect("create");
    let mut prior: Option<String> = None;
    for turn in 1..=turns {
        let id = format!("{session_id}-r{turn}");
        let mut req = request(
            &id,
            Some(session_id),
            prior.as_deref(),
            vec![msg("user", &format!("question {turn}"))],
            turn * 10,
        );
        req.message_count = 2 * turn - 1;
        store.record_request(req).await.expect("request");
        let mut resp = response(
            &format!("{session_id}-p{turn}"),
            &id,
            Some(session_id),
            turn * 10,
        );
        resp.content = format!("answer {turn}");
        store.record_response(resp).await.expect("response");
        prior = Some(id);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn a_resent_history_grows_the_store_linearly(backend) {
        let (_keep, store) = store_on(&backend).await;
        chained_conversation(&store, "s", 50).await;
        assert_eq!(count_committed(&store, "request_messages").await, 50);
        // One row per distinct user message; answers live in `responses`, not duplicated here.
        assert_eq!(count_committed(&store, "messages").await, 50);

        let last = store
            .get_request("s-r50")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(last.new_messages, vec![msg("user", "question 50")]);
        assert_eq!(last.messages.len(), 99);
        assert_eq!(
            i64::try_from(last.messages.len()).ok(),
            Some(last.summary.message_count)
        );
        for (i, m) in last.messages.iter().enumerate() {
            let turn = i / 2 + 1;
            let expected = if i % 2 == 0 {
                msg("user", &format!("question {turn}"))
            } else {
                msg("assistant", &format!("answer {turn}"))
            };
            assert_eq!(m, &expected, "message {i}");
        }
        assert_eq!(last.params["temperature"], 0.5);
        assert_eq!(
            last.upstream_request.as_ref().map(|u| &u["chat_id"]),
            Some(&"c".into())
        );

        let conversation = store.conversation("s").await.expect("get").expect("exists");
        assert_eq!(conversation.len(), 100);
        assert_eq!(conversation.last(), Some(&msg("assistant", "answer 50")));
        assert!(store.conversation("nope").await.expect("get").is_none());
    }
}

on_both_backends! {
    #[tokio::test]
    async fn transcript_lists_turns_in_order(backend) {
        let (_keep, store) = store_on(&backend).await;
        chained_conversation(&store, "s", 3).await;
        // A turn still waiting for its answer.
        let pending = request("s-r4", Some("s"), Some("s-r3"), vec![msg("user", "q4")], 40);
        store.record_request(pending).await.expect("request");
        store.flush().await.expect("flush");

        let t = store.transcript("s").await.expect("get").expect("exists");
        assert_eq!(t.session.id, "s");
        assert_eq!(t.session.turns, 4);
        let ids: Vec<_> = t
            .turns
            .iter()
            .map(|turn| turn.request_id.as_str())
            .collect();
        assert_eq!(ids, ["s-r1", "s-r2", "s-r3", "s-r4"]);
        assert_eq!(t.turns[1].messages, vec![msg("user", "question 2")]);
        assert_eq!(t.turns[1].content.as_deref(), Some("answer 2"));
        assert_eq!(t.turns[1].total_tokens, Some(15));
        assert_eq!(t.turns[3].status, None);
        assert!(store.transcript("nope").await.expect("get").is_none());
    }
}

on_both_backends! {
    #[tokio::test]
    async fn lists_page_filter_and_sort_newest_first(backend) {
        let (_keep, store) = store_on(&backend).await;
        chained_conversation(&store, "a", 2).await; // requests at 10, 20
        store
            .create_session(session("b", "qwen-plus", 5))
            .await
            .expect("create");
        let mut req = request("b-r1", Some("b"), None, vec![msg("user", "hello")], 30);
        req.model = "qwen-plus".to_owned();
        store.record_request(req).await.expect("request");
        store.flush().await.expect("flush");

        let all = store
            .list_sessions(&ListQuery::default())
            .await
            .expect("list");
        let ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(
            (all[1].turns, all[1].prompt_tokens, all[1].total_tokens),
            (2, 20, 30)
        );
        assert_eq!((all[0].turns, all[0].total_tokens), (1, 0));

        let q = |f: fn(&mut ListQuery)| {
            let mut q = ListQuery::default();
            f(&mut q);
            q
        };
        let by_model = store
            .list_sessions(&q(|q| q.model = Some("qwen-plus".into())))
            .await
            .expect("list");
        assert_eq!(by_model.len(), 1);
        let paged = store
            .list_requests(&q(|q| q.limit = 1))
            .await
            .expect("list");
        assert_eq!(paged[0].id, "b-r1");
        assert_eq!(paged[0].status, None);
        let second = store
            .list_requests(&q(|q| {
                q.limit = 1;
                q.offset = 1;
            }))
            .await
            .expect("list");
        assert_eq!(second[0].id, "a-r2");
        assert_eq!(second[0].status.as_deref(), Some("ok"));
        let window = store
            .list_requests(&q(|q| {
                q.since_ms = Some(15);
                q.until_ms = Some(25);
            }))
            .await
            .expect("list");
        assert_eq!(
            window.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["a-r2"]
        );
        let in_a = store
            .list_requests(&q(|q| q.session_id = Some("a".into())))
            .await
            .expect("list");
        assert_eq!(in_a.len(), 2);

        let responses = store
            .list_responses(&ListQuery::default())
            .await
            .expect("list");
        assert_eq!(
            responses.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["a-p2", "a-p1"]
        );
        assert_eq!(responses[0].model, "qwen3-max");
        let one = store
            .get_response("a-p1")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!((one.total_tokens, one.request_id.as_str()), (15, "a-r1"));
        let by_req = store.response_for_request("a-r2").await.expect("get");
        assert_eq!(by_req.map(|r| r.id), Some("a-p2".to_owned()));
        assert!(
            store
                .response_for_request("b-r1")
                .await
                .expect("get")
                .is_none()
        );
        assert!(store.get_response("nope").await.expect("get").is_none());
        assert!(store.get_request("nope").await.expect("get").is_none());
        let ids = store.session_ids(&ListQuery::default()).await.expect("ids");
        assert_eq!(ids, ["b", "a"]);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn statistics_sum_and_average(backend) {
        let (_keep, store) = store_on(&backend).await;
        chained_conversation(&store, "a", 2).await;
        let mut failed = response("a-p3", "a-r3", Some("a"), 30);
        let req = request("a-r3", Some("a"), Some("a-r2"), vec![msg("user", "q3")], 30);
        store.record_request(req).await.expect("request");
        failed.status = "error".to_owned();
        failed.error_kind = Some("rate_limited".to_owned());
        failed.first_token_ms = None;
        failed.duration_ms = 100;
        (failed.prompt_tokens, failed.completion_tokens) = (0, 0);
        store.record_response(failed).await.expect("response");
        let unanswered = request("x", None, None, vec![msg("user", "q")], 40);
        store.record_request(unanswered).await.expect("request");
        store.flush().await.expect("flush");

        let s = store
            .response_stats(&ListQuery::default())
            .await
            .expect("stats");
        assert_eq!(
            (s.total_requests, s.total_responses, s.ok, s.errors),
            (4, 3, 2, 1)
        );
        assert_eq!(
            (s.prompt_tokens, s.completion_tokens, s.total_tokens),
            (20, 10, 30)
        );
        assert_eq!(s.avg_duration_ms, 300.0);
        assert_eq!(s.avg_first_token_ms, 100.0);
        let per_session = store
            .session_stats("a")
            .await
            .expect("stats")
            .expect("exists");
        assert_eq!(per_session.statistics.total_requests, 3);
        assert!(store.session_stats("nope").await.expect("stats").is_none());

        let all = store.usage_stats(None, None).await.expect("usage");
        assert_eq!(all.groups.len(), 1);
        let g = &all.groups[0];
        assert_eq!((g.key.as_str(), g.requests, g.ok), ("all", 4, 2));
        assert_eq!(g.errors_by_kind.get("rate_limited"), Some(&1));
        assert_eq!(
            (g.duration_ms.p50, g.duration_ms.p95),
            (Some(400), Some(400))
        );
        assert_eq!(g.first_token_ms.samples, 2);
        let by_day = store
            .usage_stats(Some(0), Some(GroupBy::Day))
            .await
            .expect("usage");
        assert_eq!(by_day.groups[0].key, "1970-01-01");
        let since = store
            .usage_stats(Some(35), Some(GroupBy::Model))
            .await
            .expect("usage");
        assert_eq!((since.groups.len(), since.groups[0].requests), (1, 1));
    }
}

on_both_backends! {
    #[tokio::test]
    async fn lookup_prefix_prefers_the_longest_then_the_freshest(backend) {
        let (_keep, store) = store_on(&backend).await;
        store
            .create_session(session("s", "m", 1))
            .await
            .expect("create");
        store
            .remember(node(1, "s", 2, 100))
            .await
            .expect("remember");
        store
            .remember(node(2, "s", 4, 100))
            .await
            .expect("remember");
        store.remember(node(3, "s", 4, 50)).await.expect("remember");
        store.flush().await.expect("flush");

        let fps = [[1; 16], [2; 16], [3; 16], [7; 16]];
        let best = store
            .lookup_prefix(&fps, None)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(best.fingerprint, [2; 16]);
        store.touch_node([3; 16], 200).await.expect("touch");
        store.flush().await.expect("flush");
        let best = store
            .lookup_prefix(&fps, None)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!((best.fingerprint, best.last_used_at), ([3; 16], 200));
        assert_eq!(
            store
                .lookup_prefix(&[[1; 16]], None)
                .await
                .expect("lookup")
                .map(|n| n.message_count),
            Some(2)
        );
        assert!(
            store
                .lookup_prefix(&[[9; 16]], None)
                .await
                .expect("lookup")
                .is_none()
        );
        assert!(
            store
                .lookup_prefix(&[], None)
                .await
                .expect("lookup")
                .is_none()
        );

        // More fingerprints than fit one statement still find the best.
        let many: Vec<Fingerprint> = (0..1200_u32)
            .map(|i| {
                let mut fp = [0xEE; 16];
                fp[..4].copy_from_slice(&i.to_be_bytes());
                fp
            })
            .chain([[2; 16]])
            .collect();
        let best = store
            .lookup_prefix(&many, None)
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(best.fingerprint, [2; 16]);
    }
}

on_both_backends! {
    /// The one-pass read of an export agrees with `transcript` and `conversation`: the history
    /// of the latest answered turn (not a later failed one) plus its answer, a history that
    /// continues a request of another session, and a session without an answer.
    #[tokio::test]
    async fn an_export_read_agrees_with_the_transcript_and_the_conversation(backend) {
        let (_keep, store) = store_on(&backend).await;
        chained_conversation(&store, "a", 4).await;
        // A fifth turn of `a` that failed: the conversation ends at the fourth answer.
        store
            .record_request(request(
                "a-r5",
                Some("a"),
                Some("a-r4"),
                vec![msg("user", "q5")],
                60,
            ))
            .await
            .unwrap();
        let mut failed = response("a-p5", "a-r5", Some("a"), 60);
        failed.status = "error".into();
        store.record_response(failed).await.unwrap();
        // `b` continues `a`'s third request (a file edited by hand; qwenctl keeps chains within
        // a session), then its own.
        store.create_session(session("b", "m", 100)).await.unwrap();
        for (id, prior, at) in [("b-r1", "a-r3", 110), ("b-r2", "b-r1", 120)] {
            let req = request(id, Some("b"), Some(prior), vec![msg("user", id)], at);
            store.record_request(req).await.unwrap();
            let resp = response(&id.replace("-r", "-p"), id, Some("b"), at);
            store.record_response(resp).await.unwrap();
        }
        // `c` has a request and no answer.
        store.create_session(session("c", "m", 200)).await.unwrap();
        store
            .record_request(request(
                "c-r1",
                Some("c"),
                None,
                vec![msg("user", "hello")],
                210,
            ))
            .await
            .unwrap();
        store.create_session(session("d", "m", 300)).await.unwrap();
        store.flush().await.unwrap();

        for id in ["a", "b", "c", "d"] {
            let read = store.session_export(id).await.unwrap().unwrap();
            let transcript = store.transcript(id).await.unwrap().unwrap();
            let conversation = store.conversation(id).await.unwrap().unwrap();
            assert_eq!(read.transcript, transcript, "{id}");
            assert_eq!(read.conversation, conversation, "{id}");
        }
        let a = store.session_export("a").await.unwrap().unwrap();
        assert_eq!(a.conversation.len(), 8);
        assert_eq!(a.conversation.last(), Some(&msg("assistant", "answer 4")));
        let b = store.session_export("b").await.unwrap().unwrap();
        assert_eq!(b.conversation.len(), 10, "{:?}", b.conversation);
        assert_eq!(b.conversation[6], msg("user", "b-r1"));
        let c = store.session_export("c").await.unwrap().unwrap();
        assert_eq!(c.conversation, vec![msg("user", "hello")]);
        assert!(store.session_export("nope").await.unwrap().is_none());
    }
}

on_both_backends! {
    /// Paging by creation visits every session once, newest first, and the count agrees.
    #[tokio::test]
    async fn sessions_page_by_creation_newest_first(backend) {
        let (_keep, store) = store_on(&backend).await;
        for (id, at) in [("x", 5), ("w", 5), ("v", 3), ("u", 9), ("t", 1)] {
            store.create_session(session(id, "m", at)).await.unwrap();
        }
        store.flush().await.unwrap();
        assert_eq!(store.count_sessions().await.unwrap(), 5);
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.sessions_by_creation(after.take(), 2).await.unwrap();
            assert!(page.len() <= 2);
            seen.extend(page.iter().map(|k| k.id.clone()));
            match page.into_iter().last() {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        assert_eq!(seen, ["u", "x", "w", "v", "t"]);
    }
}

/// A history put together from requests of several messages each, one of them unanswered
/// (its answer failed), reads in order: each request's messages by position, then its
/// answer, oldest request first. A damaged chain that loops back on itself ends where it
/// comes back to a request already read, instead of reading forever.
#[tokio::test]
async fn a_history_reads_in_order_and_a_looping_chain_ends() {
    let (dir, store) = temp_store();
    store
        .create_session(session("s", "qwen3-max", 0))
        .await
        .unwrap();
    let turns = [
        (
            "r1",
            None,
            vec![msg("system", "be brief"), msg("user", "one")],
            true,
        ),
        (
            "r2",
            Some("r1"),
            vec![msg("user", "two"), msg("user", "two more")],
            false,
        ),
        ("r3", Some("r2"), vec![msg("user", "three")], true),
        (
            "r4",
            Some("r3"),
            vec![msg("tool", "result"), msg("user", "four")],
            true,
        ),
    ];
    for (at, (id, prior, messages, answered)) in (0_i64..).zip(turns) {
        store
            .record_request(request(id, Some("s"), prior, messages, at * 10))
            .await
            .unwrap();
        if answered {
            let mut answer = response(&format!("p-{id}"), id, Some("s"), at * 10);
            answer.content = format!("answer {id}");
            store.record_response(answer).await.unwrap();
        }
    }
    let expected = vec![
        msg("system", "be brief"),
        msg("user", "one"),
        msg("assistant", "answer r1"),
        msg("user", "two"),
        msg("user", "two more"),
        msg("user", "three"),
        msg("assistant", "answer r3"),
        msg("tool", "result"),
        msg("user", "four"),
    ];
    let r4 = store.get_request("r4").await.unwrap().unwrap();
    assert_eq!(r4.messages, expected);
    assert_eq!(
        r4.new_messages,
        vec![msg("tool", "result"), msg("user", "four")]
    );
    drop(store);

    // r1 now names r3 as its prior: r4 → r3 → r2 → r1 → r3 → …
    let path = dir.path().join("nested/dir/qwen_proxy.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; UPDATE requests SET prior_request_id = 'r3' WHERE id = 'r1';",
    )
    .unwrap();
    assert_eq!(
        crate::store::history::full_messages(&conn, "r4").unwrap(),
        expected
    );
}
