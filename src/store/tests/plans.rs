//! Query plans (issue 18, finding 1): every read the data API and the CLI make uses its
//! indexes however stale the planner statistics in the file are.
//!
//! The store is grown after a short first run whose statistics say every table holds one or
//! two rows (what the writer's `PRAGMA optimize` at close used to leave), then every read is
//! run with a trace on and each statement it ran is put through `EXPLAIN QUERY PLAN`. A read
//! of one session (or request, or response) may not scan `requests`, `responses` or any other
//! table, not even through an index; a read of the whole archive may scan one index as its
//! outer loop but never a table, nor anything inside a loop. The same holds with no
//! statistics and with fresh ones, on a connection opened read-only as the CLI opens a file.

use std::sync::{Arc, Mutex};

use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{Connection, OpenFlags};

use super::*;
use crate::store::{history, migrations, queries, search, stats, writes};

/// Sessions and turns per session of the grown store.
const SESSIONS: i64 = 300;
const TURNS: i64 = 10;

/// What `sqlite_stat1` says when the reads run.
#[derive(Debug, Clone, Copy)]
enum Stats {
    /// Taken after a first run of one two-turn session, never refreshed.
    Stale,
    /// None at all.
    Missing,
    /// Taken on the grown store.
    Fresh,
}

/// Writes `sessions` of `TURNS` chained exchanges each (every request continues the one
/// before, as a client resending its history does), with their conversation nodes, in one
/// transaction through the writer's own statements.
pub(in crate::store) fn grow(conn: &mut Connection, sessions: std::ops::Range<i64>, turns: i64) {
    let tx = conn.transaction().expect("begin");
    for s in sessions {
        let sid = format!("s{s}");
        let model = if s % 3 == 0 { "qwen-plus" } else { "qwen3-max" };
        writes::insert_session(&tx, &session(&sid, model, s * 1000)).expect("session");
        let mut prior: Option<String> = None;
        for t in 0..turns {
            let rid = format!("{sid}-r{t}");
            let at = s * 1000 + t * 10;
            let question = msg("user", &format!("question {t} of {sid}"));
            let req = request(&rid, Some(&sid), prior.as_deref(), vec![question], at);
            writes::insert_request(&tx, &req).expect("request");
            let resp = response(&format!("{sid}-p{t}"), &rid, Some(&sid), at);
            writes::insert_response(&tx, &resp).expect("response");
            let mut fingerprint = [0_u8; 16];
            fingerprint[..8].copy_from_slice(&s.to_le_bytes());
            fingerprint[8..].copy_from_slice(&t.to_le_bytes());
            let node = ConvNode {
                account: None,
                fingerprint,
                request_id: Some(rid.clone()),
                ..node(0, &sid, 2 * t + 2, at)
            };
            writes::upsert_node(&tx, &node).expect("node");
            prior = Some(rid);
        }
    }
    tx.commit().expect("commit");
}

/// A store of `SESSIONS × TURNS` exchanges with `stats`, and its path.
fn grown_store(stats: Stats) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("grown.db");
    let mut conn = Connection::open(&path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    migrations::migrate(&mut conn).expect("migrate");
    grow(&mut conn, 0..1, 2);
    if let Stats::Stale = stats {
        conn.execute_batch("ANALYZE").expect("analyze");
        let requests: String = conn
            .query_row(
                "SELECT stat FROM sqlite_stat1 WHERE idx = 'requests_session'",
                [],
                |r| r.get(0),
            )
            .expect("stat");
        assert_eq!(requests, "2 2 1", "the first run's statistics");
    }
    grow(&mut conn, 1..SESSIONS, TURNS);
    if let Stats::Fresh = stats {
        conn.execute_batch("ANALYZE").expect("analyze");
    }
    (dir, path)
}

/// One read and whether it concerns a single session, request or response.
struct Read {
    name: &'static str,
    narrow: bool,
    run: Box<dyn Fn(&Connection)>,
}

fn read(name: &'static str, narrow: bool, run: impl Fn(&Connection) + 'static) -> Read {
    Read {
        name,
        narrow,
        run: Box::new(run),
    }
}

/// Every read of the data API (`src/proxy/data.rs`, the Responses API's retrieval), the
/// proxy's conversation lookup and the CLI (`sessions list|show|export`, `stats`), with each
/// filter that picks a different index.
fn reads() -> Vec<Read> {
    let one = |id: &str| ListQuery {
        session_id: Some(id.to_owned()),
        ..ListQuery::default()
    };
    let model = ListQuery {
        model: Some("qwen-plus".into()),
        ..ListQuery::default()
    };
    let window = ListQuery {
        since_ms: Some(100_000),
        until_ms: Some(200_000),
        ..ListQuery::default()
    };
    let one_windowed = ListQuery {
        since_ms: Some(5_020),
        ..one("s5")
    };
    let key = SessionKey {
        created_at: 150_000,
        id: "s150".into(),
    };
    vec![
        read("lookup_prefix", true, |c| {
            let mut fp = [0_u8; 16];
            fp[..8].copy_from_slice(&5_i64.to_le_bytes());
            queries::lookup_prefix(c, &[fp, [9; 16]], None).unwrap();
        }),
        read("get_session", true, |c| {
            queries::get_session(c, "s5").unwrap().unwrap();
        }),
        read("session_stats", true, |c| {
            stats::session_stats(c, "s5").unwrap().unwrap();
        }),
        read("session_requests", true, move |c| {
            queries::list_requests(c, &one("s5")).unwrap();
        }),
        read("session_requests_since", true, move |c| {
            queries::list_requests(c, &one_windowed).unwrap();
        }),
        read("get_request", true, |c| {
            history::get_request(c, "s5-r9").unwrap().unwrap();
        }),
        read("request_response", true, |c| {
            queries::response_for_request(c, "s5-r9").unwrap().unwrap();
        }),
        read("get_response", true, |c| {
            queries::get_response(c, "s5-p9").unwrap().unwrap();
        }),
        read("session_responses", true, move |c| {
            queries::list_responses(c, &one("s5")).unwrap();
        }),
        read("session_response_stats", true, move |c| {
            stats::response_stats(c, &one("s5")).unwrap();
        }),
        read("transcript", true, |c| {
            history::transcript(c, "s5").unwrap().unwrap();
        }),
        read("conversation", true, |c| {
            history::conversation(c, "s5").unwrap().unwrap();
        }),
        read("session_export", true, |c| {
            history::session_export(c, "s5").unwrap().unwrap();
        }),
        read("list_sessions", false, |c| {
            queries::list_sessions(c, &ListQuery::default()).unwrap();
        }),
        read("list_sessions_model", false, {
            let model = model.clone();
            move |c| {
                queries::list_sessions(c, &model).unwrap();
            }
        }),
        read("session_ids", false, |c| {
            queries::session_ids(c, &ListQuery::default()).unwrap();
        }),
        read("sessions_by_creation", false, move |c| {
            queries::sessions_by_creation(c, None, 256).unwrap();
            queries::sessions_by_creation(c, Some(&key), 256).unwrap();
            queries::count_sessions(c).unwrap();
        }),
        read("list_requests", false, |c| {
            queries::list_requests(c, &ListQuery::default()).unwrap();
        }),
        read("list_requests_model", false, {
            let model = model.clone();
            move |c| {
                queries::list_requests(c, &model).unwrap();
            }
        }),
        read("list_requests_window", false, {
            let window = window.clone();
            move |c| {
                queries::list_requests(c, &window).unwrap();
            }
        }),
        read("list_responses", false, |c| {
            queries::list_responses(c, &ListQuery::default()).unwrap();
        }),
        read("list_responses_model", false, {
            let model = model.clone();
            move |c| {
                queries::list_responses(c, &model).unwrap();
            }
        }),
        read("list_responses_window", false, {
            let window = window.clone();
            move |c| {
                queries::list_responses(c, &window).unwrap();
            }
        }),
        read("response_stats", false, |c| {
            stats::response_stats(c, &ListQuery::default()).unwrap();
        }),
        read("response_stats_model", false, move |c| {
            stats::response_stats(c, &model).unwrap();
        }),
        read("response_stats_window", false, move |c| {
            stats::response_stats(c, &window).unwrap();
        }),
        read("search_sessions", false, |c| {
            let plus = ListQuery {
                model: Some("qwen-plus".into()),
                ..ListQuery::default()
            };
            search::search_sessions(c, "question s5", &ListQuery::default()).unwrap();
            search::search_sessions(c, "answer", &plus).unwrap();
        }),
        read("usage_stats", false, |c| {
            stats::usage_stats(c, None, None).unwrap();
            stats::usage_stats(c, Some(100_000), Some(GroupBy::Model)).unwrap();
            stats::usage_stats(c, None, Some(GroupBy::Day)).unwrap();
        }),
        read("active_sessions", false, |c| {
            // The query of `Store::active_sessions`.
            c.query_row(
                &format!(
                    "SELECT count(*) FROM sessions INDEXED BY {} WHERE updated_at >= ?1",
                    queries::index::SESSIONS_UPDATED
                ),
                [100_000],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        }),
    ]
}

/// The statements `run` executes on `conn`, with their parameters filled in.
fn statements(conn: &mut Connection, run: &dyn Fn(&Connection)) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_STMT,
        Some(move |event: TraceEvent<'_>| {
            // Statements a virtual table runs for itself (FTS5 reading its configuration and
            // shadow tables, traced as `-- …` comments or as reads of `'main'.'…'`) are its
            // business, not the read's.
            if let TraceEvent::Stmt(stmt, _) = event
                && let Some(sql) = stmt.expanded_sql()
                && !sql.starts_with("--")
                && !sql.contains(" FROM 'main'.")
            {
                sink.lock().unwrap().push(sql);
            }
        }),
    )
    .unwrap();
    run(conn);
    conn.trace_v2(TraceEventCodes::empty(), None::<fn(TraceEvent<'_>)>)
        .unwrap();
    let mut sqls = seen.lock().unwrap().clone();
    sqls.dedup();
    sqls
}

/// One line of a plan: its id, its parent's and the text.
type PlanLine = (i64, i64, String);

fn plan(conn: &Connection, sql: &str) -> Vec<PlanLine> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// What is wrong with `lines` for a read that is `narrow` (one session, request or
/// response) or not; empty when nothing is.
fn faults(lines: &[PlanLine], narrow: bool) -> Vec<String> {
    // The materialised common table expressions of `list_sessions` and `search_sessions`:
    // a page of sessions, a search's hits, scanned or indexed on the fly as SQLite likes.
    let small = ["page", "t", "hit", "best"];
    let mut faults = Vec::new();
    for (id, parent, text) in lines {
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let target = words.next().unwrap_or_default();
        if small.contains(&target) {
            continue;
        }
        if text.contains("AUTOMATIC") {
            faults.push(format!("an index built on the fly: {text}"));
        }
        if verb != "SCAN" {
            continue;
        }
        // A full-text MATCH: the FTS5 index is searched, not scanned (FTS5's index string,
        // `0:M1` or `0:=M1` with a rowid, says `M` for the query's argument).
        let fts_match = text
            .split_once(" VIRTUAL TABLE INDEX ")
            .and_then(|(_, index)| index.split_once(':'))
            .is_some_and(|(_, plan)| plan.contains('M'));
        if fts_match {
            continue;
        }
        if narrow {
            faults.push(format!("a scan in a read of one row or session: {text}"));
        } else if !text.contains(" USING ") {
            faults.push(format!("a table scan: {text}"));
        } else {
            // Only the outermost loop of its level may scan an index.
            let first_loop = lines.iter().find(|(_, p, t)| {
                p == parent && (t.starts_with("SCAN ") || t.starts_with("SEARCH "))
            });
            if first_loop.is_some_and(|(first, _, _)| first != id) {
                faults.push(format!("a scan inside a loop: {text}"));
            }
        }
    }
    faults
}

fn check_plans(stats: Stats) {
    let (_dir, path) = grown_store(stats);
    let mut conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut report = Vec::new();
    for read in reads() {
        let sqls = statements(&mut conn, &*read.run);
        assert!(!sqls.is_empty(), "{}: no statement traced", read.name);
        for sql in sqls {
            let lines = plan(&conn, &sql);
            for fault in faults(&lines, read.narrow) {
                let plan: Vec<&str> = lines.iter().map(|(_, _, t)| t.as_str()).collect();
                report.push(format!(
                    "{}: {fault}\n    {}\n    {}",
                    read.name,
                    sql.split_whitespace().collect::<Vec<_>>().join(" "),
                    plan.join("\n    ")
                ));
            }
        }
    }
    assert!(
        report.is_empty(),
        "{stats:?} statistics:\n{}",
        report.join("\n")
    );
}

#[test]
fn reads_use_their_indexes_under_the_statistics_of_a_short_first_run() {
    check_plans(Stats::Stale);
}

#[test]
fn reads_use_their_indexes_without_statistics() {
    check_plans(Stats::Missing);
}

#[test]
fn reads_use_their_indexes_under_fresh_statistics() {
    check_plans(Stats::Fresh);
}

/// The checker itself: the plans of the unpinned queries this store used to run are
/// faulted (a scan of the responses for every request).
#[test]
fn the_check_finds_the_scan_of_a_stale_plan() {
    let (_dir, path) = grown_store(Stats::Stale);
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let lines = plan(
        &conn,
        "SELECT r.id, p.status FROM requests r LEFT JOIN responses p ON p.request_id = r.id
         WHERE r.session_id = 's5'",
    );
    assert!(!faults(&lines, true).is_empty(), "{lines:?}");
    assert!(!faults(&lines, false).is_empty(), "{lines:?}");
}
