//! Full-text indexing off the write path: the writer brings the FTS5 indexes up to date in
//! transactions of their own, when it has nothing else to do.
//!
//! An exchange's commit is what a client's last byte waits for, so it must not pay for
//! tokenizing text and writing index segments (migration 0008 says what that cost). The
//! indexes are complete up to a watermark per index (`fts_progress`); rows above it are
//! new. The writer indexes them once no job is waiting and [`Indexer::due`] says so: at once
//! after a quiet spell, at most once per [`DELAY`] under steady writes (so one transaction
//! indexes many exchanges, which is what makes it cheap), and after [`MAX_LAG`] even when
//! jobs keep coming. A search asks for the rest first (`Op::Index`), so the data API and
//! `sessions search` on a store that writes never miss a recorded exchange; a read-only
//! reader (`qwenctl sessions search` beside a running `serve`) sees the index as of the
//! writer's last pass, at most about a second behind. The writer also catches up when it
//! opens a file (rows a killed process left unindexed) and before it stops.
//!
//! What may remove entries (deletes, replaced and edited answers) is the triggers' job,
//! under the same watermark (see the migration), whoever writes the file.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};

/// How long new rows may wait for the index while writes keep coming.
pub(crate) const DELAY: Duration = Duration::from_secs(1);
/// How long they may wait when the writer is never idle.
pub(crate) const MAX_LAG: Duration = Duration::from_secs(5);
/// Most rows of each table indexed in one transaction: bounds how long a write that comes
/// in meanwhile waits (a few milliseconds), the rest follows on the next pass.
pub(crate) const BATCH: i64 = 2_000;

/// The two indexes: the table's rows, what of them is indexed, and how.
struct Index {
    /// Its name in `fts_progress`.
    name: &'static str,
    /// The largest and the number of the next `?2` row keys above `?1`.
    bound: &'static str,
    /// Indexes the rows in `(?1, ?2]`.
    fill: &'static str,
}

const INDEXES: [Index; 2] = [
    Index {
        name: "messages",
        bound: "SELECT max(id), count(*) FROM
                    (SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2)",
        // Assistant messages are the answers clients send back, indexed as responses.
        fill: "INSERT INTO messages_fts (rowid, content)
                   SELECT id, content FROM messages
                   WHERE id > ?1 AND id <= ?2 AND role <> 'assistant'",
    },
    Index {
        name: "answers",
        bound: "SELECT max(rowid), count(*) FROM
                    (SELECT rowid FROM responses WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        fill: "INSERT INTO answers_fts (rowid, content, reasoning)
                   SELECT rowid, content, reasoning FROM responses
                   WHERE rowid > ?1 AND rowid <= ?2",
    },
];

/// Indexes up to `limit` new rows of each table in one transaction; returns whether rows
/// are left (the limit was reached).
pub(crate) fn index_pending(conn: &mut Connection, limit: i64) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut more = false;
    for index in &INDEXES {
        let upto: i64 = tx
            .prepare_cached("SELECT upto FROM fts_progress WHERE name = ?1")?
            .query_row([index.name], |row| row.get(0))?;
        let (bound, taken): (Option<i64>, i64) = tx
            .prepare_cached(index.bound)?
            .query_row(params![upto, limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let Some(bound) = bound else { continue };
        tx.prepare_cached(index.fill)?
            .execute(params![upto, bound])?;
        tx.prepare_cached("UPDATE fts_progress SET upto = ?2 WHERE name = ?1")?
            .execute(params![index.name, bound])?;
        // Fewer rows than asked for means none are left above `bound`.
        more |= taken >= limit;
    }
    tx.commit()?;
    Ok(more)
}

/// Indexes every row not yet indexed.
pub(crate) fn catch_up(conn: &mut Connection) -> rusqlite::Result<()> {
    while index_pending(conn, BATCH)? {}
    Ok(())
}

/// Catches the indexes of the file at `path` up from a connection of its own, for a
/// reading command (`sessions search`) beside a writer that has not reached the newest rows
/// yet: the only write a reading command makes, and only to the derived index. A file that
/// cannot be written, or has another schema version, is left as it is.
pub(crate) fn catch_up_file(path: &std::path::Path) -> rusqlite::Result<()> {
    use rusqlite::OpenFlags;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(2))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version != super::migrations::latest_version() {
        return Ok(());
    }
    catch_up(&mut conn)
}

/// When the writer should index: it knows whether it wrote since its last pass and when
/// that was.
#[derive(Debug)]
pub(crate) struct Indexer {
    /// Rows may be waiting (always at open: a killed process may have left some).
    dirty: bool,
    /// The last pass, or when writes began after a quiet spell.
    last: Instant,
}

impl Indexer {
    pub(crate) fn new() -> Indexer {
        Indexer {
            dirty: true,
            last: Instant::now()
                .checked_sub(DELAY)
                .unwrap_or_else(Instant::now),
        }
    }

    /// Something was committed: rows may be waiting.
    pub(crate) fn wrote(&mut self) {
        self.dirty = true;
    }

    /// How long the writer may wait for a job before it should index; `None` when nothing
    /// is waiting to be indexed.
    pub(crate) fn wait(&self) -> Option<Duration> {
        self.dirty
            .then(|| DELAY.saturating_sub(self.last.elapsed()))
    }

    /// Whether to index now, given whether jobs are waiting.
    pub(crate) fn due(&self, jobs_waiting: bool) -> bool {
        let waited = self.last.elapsed();
        self.dirty && (waited >= MAX_LAG || (!jobs_waiting && waited >= DELAY))
    }

    /// Runs one pass (up to [`BATCH`] rows of each table), or every pass when `all`.
    pub(crate) fn run(&mut self, conn: &mut Connection, all: bool) {
        let result = if all {
            catch_up(conn).map(|()| false)
        } else {
            index_pending(conn, BATCH)
        };
        self.last = Instant::now();
        match result {
            Ok(more) => self.dirty = more,
            // The rows stay above the watermark and are indexed on a later pass; a full
            // disk or a read-only file is reported by the writes themselves.
            Err(e) => tracing::warn!(error = %e, "full-text indexing failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{msg, request, response, session};
    use crate::store::writes;

    fn migrated() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("q.db")).unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        (dir, conn)
    }

    fn exchange(conn: &Connection, n: i64, user: &str, answer: &str) {
        let rid = format!("r{n}");
        writes::insert_request(
            conn,
            &request(&rid, Some("s"), None, vec![msg("user", user)], n),
        )
        .unwrap();
        let mut resp = response(&format!("p{n}"), &rid, Some("s"), n);
        resp.content = answer.to_owned();
        writes::insert_response(conn, &resp).unwrap();
    }

    fn hits(conn: &Connection, table: &str, word: &str) -> i64 {
        conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE {table} MATCH ?1"),
            [word],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// FTS5's own check of both indexes against their content tables, once every row is
    /// indexed (the check wants all of them): an entry for a row that is gone, or a
    /// 'delete' of a row never indexed, fails it.
    fn intact(conn: &mut Connection) {
        catch_up(conn).unwrap();
        for table in ["messages_fts", "answers_fts"] {
            conn.execute(
                &format!("INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"),
                [],
            )
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
    }

    #[test]
    fn writes_leave_the_index_alone_until_a_pass_indexes_them() {
        let (_dir, mut conn) = migrated();
        writes::insert_session(&conn, &session("s", "m", 1)).unwrap();
        exchange(&conn, 1, "kumquat question", "persimmon answer");
        assert_eq!(hits(&conn, "messages_fts", "kumquat"), 0);
        assert_eq!(hits(&conn, "answers_fts", "persimmon"), 0);
        assert!(!index_pending(&mut conn, BATCH).unwrap());
        assert_eq!(hits(&conn, "messages_fts", "kumquat"), 1);
        assert_eq!(hits(&conn, "answers_fts", "persimmon"), 1);
        // A second pass indexes nothing twice.
        assert!(!index_pending(&mut conn, BATCH).unwrap());
        assert_eq!(hits(&conn, "messages_fts", "kumquat"), 1);
        intact(&mut conn);
    }

    #[test]
    fn a_pass_takes_at_most_its_limit_and_says_more_are_left() {
        let (_dir, mut conn) = migrated();
        writes::insert_session(&conn, &session("s", "m", 1)).unwrap();
        for n in 1..=4 {
            exchange(&conn, n, &format!("question number{n}"), "same answer");
        }
        assert!(index_pending(&mut conn, 2).unwrap());
        assert_eq!(hits(&conn, "answers_fts", "answer"), 2);
        // Exactly the limit taken: some may be left, and a pass finds out.
        assert!(index_pending(&mut conn, 2).unwrap());
        assert!(!index_pending(&mut conn, 2).unwrap());
        assert_eq!(hits(&conn, "answers_fts", "answer"), 4);
        for n in 1..=4 {
            assert_eq!(hits(&conn, "messages_fts", &format!("number{n}")), 1);
        }
        intact(&mut conn);
    }

    /// Deletes of rows never indexed must not reach FTS5, and a deleted newest row must not
    /// leave its id counted as indexed when SQLite hands it to the next row.
    #[test]
    fn deletes_replacements_and_reused_ids_keep_the_index_exact() {
        let (_dir, mut conn) = migrated();
        writes::insert_session(&conn, &session("s", "m", 1)).unwrap();
        exchange(&conn, 1, "alpha", "bravo");
        catch_up(&mut conn).unwrap();
        // Unindexed rows deleted before any pass (the response goes with its request).
        exchange(&conn, 2, "charlie", "delta");
        conn.execute("DELETE FROM requests WHERE id = 'r2'", [])
            .unwrap();
        conn.execute("DELETE FROM messages WHERE content = 'charlie'", [])
            .unwrap();
        intact(&mut conn);
        // The newest indexed rows deleted: their ids come back for the next rows.
        catch_up(&mut conn).unwrap();
        conn.execute("DELETE FROM requests WHERE id = 'r1'", [])
            .unwrap();
        conn.execute("DELETE FROM messages WHERE content = 'alpha'", [])
            .unwrap();
        intact(&mut conn);
        exchange(&conn, 3, "echo", "foxtrot");
        catch_up(&mut conn).unwrap();
        assert_eq!(hits(&conn, "messages_fts", "echo"), 1);
        assert_eq!(hits(&conn, "answers_fts", "foxtrot"), 1);
        assert_eq!(hits(&conn, "messages_fts", "alpha"), 0);
        intact(&mut conn);
        // A request's second outcome replaces an indexed answer, and then an unindexed one.
        let mut again = response("p3-again", "r3", Some("s"), 4);
        again.content = "golf".into();
        writes::insert_response(&conn, &again).unwrap();
        let mut third = response("p3-third", "r3", Some("s"), 5);
        third.content = "hotel".into();
        writes::insert_response(&conn, &third).unwrap();
        catch_up(&mut conn).unwrap();
        assert_eq!(hits(&conn, "answers_fts", "foxtrot"), 0);
        assert_eq!(hits(&conn, "answers_fts", "golf"), 0);
        assert_eq!(hits(&conn, "answers_fts", "hotel"), 1);
        // An indexed answer whose text changes is found by its new text only.
        conn.execute(
            "UPDATE responses SET content = 'india' WHERE id = 'p3-third'",
            [],
        )
        .unwrap();
        assert_eq!(hits(&conn, "answers_fts", "hotel"), 0);
        assert_eq!(hits(&conn, "answers_fts", "india"), 1);
        intact(&mut conn);
    }

    #[test]
    fn the_indexer_waits_for_a_quiet_moment_but_not_forever() {
        let mut indexer = Indexer::new();
        // At open: rows a killed process left are indexed at the first quiet moment.
        assert!(indexer.due(false));
        assert!(!indexer.due(true));
        assert_eq!(indexer.wait(), Some(Duration::ZERO));
        indexer.dirty = false;
        indexer.last = Instant::now();
        assert_eq!(indexer.wait(), None);
        assert!(!indexer.due(false));
        indexer.wrote();
        assert!(!indexer.due(false), "indexed again within DELAY");
        assert!(indexer.wait().unwrap() > Duration::ZERO);
        indexer.last = Instant::now().checked_sub(DELAY).unwrap();
        assert!(indexer.due(false));
        assert!(!indexer.due(true));
        indexer.last = Instant::now().checked_sub(MAX_LAG).unwrap();
        assert!(indexer.due(true));
    }
}
