//! Planner statistics that stay true as the store grows.
//!
//! SQLite's planner reads `sqlite_stat1`, which `ANALYZE` fills with row counts and index
//! selectivities. Statistics taken while the store held a conversation or two say that every
//! session has all the requests, so the planner prefers scanning a table to its index, and
//! `PRAGMA optimize` refreshes them only once a table has grown tenfold, and only for tables
//! the closing connection had queried: after a short first run they stayed frozen while the
//! store grew to thousands of exchanges, and reads went quadratic.
//!
//! The store's own reads name their indexes and do not depend on statistics (see
//! `queries.rs`); these keep the writer's statements (cascading deletes, pruning) and anyone's
//! ad-hoc SQL on good plans. The writer keeps no statistics while `requests` has fewer than
//! [`MIN_ROWS`] rows (SQLite's defaults, which assume large tables and selective indexes, are
//! right for this schema), and otherwise analyzes whenever the number of requests has doubled
//! or halved since the last analysis, checked at open and every [`CHECK_EVERY`] committed
//! writes. `analysis_limit` bounds each index's sample, so an analysis costs milliseconds
//! whatever the size of the file. Read connections load statistics when they open; the
//! store's reads do not need them refreshed.

use rusqlite::{Connection, OptionalExtension};

/// Fewest requests for which statistics are kept.
pub(crate) const MIN_ROWS: i64 = 1000;
/// Committed writes between two checks of the table size.
pub(crate) const CHECK_EVERY: u64 = 1000;
/// Rows of each index `ANALYZE` samples (`PRAGMA analysis_limit`).
const ANALYSIS_LIMIT: i64 = 1000;

/// What the writer knows of the statistics in the file.
#[derive(Debug)]
pub(crate) struct Statistics {
    /// Requests at the last analysis; 0 when the file holds none.
    analyzed_rows: i64,
    /// Writes committed since the last check.
    since_check: u64,
}

impl Statistics {
    /// Reads what the file's statistics describe and brings them up to date.
    pub(crate) fn at_open(conn: &Connection) -> Statistics {
        let mut stats = Statistics {
            analyzed_rows: analyzed_rows(conn).unwrap_or(0),
            since_check: 0,
        };
        stats.check(conn);
        stats
    }

    /// Counts `writes` committed writes and checks the statistics every [`CHECK_EVERY`].
    pub(crate) fn committed(&mut self, conn: &Connection, writes: usize) {
        self.since_check = self
            .since_check
            .saturating_add(u64::try_from(writes).unwrap_or(u64::MAX));
        if self.since_check >= CHECK_EVERY {
            self.check(conn);
        }
    }

    /// Drops statistics of a small store, or analyzes when the size has doubled or halved.
    fn check(&mut self, conn: &Connection) {
        self.since_check = 0;
        if let Err(e) = self.refresh(conn) {
            tracing::debug!(error = %e, "cannot refresh the planner statistics");
        }
    }

    fn refresh(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let rows: i64 = conn.query_row("SELECT count(*) FROM requests", [], |r| r.get(0))?;
        if rows < MIN_ROWS {
            if has_statistics(conn)? {
                // Reloading the schema makes this connection forget what it had loaded.
                conn.execute_batch("DELETE FROM sqlite_stat1; ANALYZE sqlite_schema;")?;
                tracing::debug!(rows, "dropped the planner statistics of a small store");
            }
            self.analyzed_rows = 0;
            return Ok(());
        }
        let stale = self.analyzed_rows == 0
            || rows >= self.analyzed_rows.saturating_mul(2)
            || rows.saturating_mul(2) <= self.analyzed_rows;
        if stale {
            conn.pragma_update(None, "analysis_limit", ANALYSIS_LIMIT)?;
            conn.execute_batch("ANALYZE")?;
            tracing::debug!(
                rows,
                before = self.analyzed_rows,
                "refreshed the planner statistics"
            );
            self.analyzed_rows = rows;
        }
        Ok(())
    }
}

/// Whether `sqlite_stat1` exists and holds a row.
fn has_statistics(conn: &Connection) -> rusqlite::Result<bool> {
    let table = conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'",
            [],
            |_| Ok(()),
        )
        .optional()?;
    if table.is_none() {
        return Ok(false);
    }
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_stat1)", [], |r| {
        r.get(0)
    })
}

/// The number of requests the file's statistics describe: the first figure of an index of
/// `requests` in `sqlite_stat1`; 0 without one.
fn analyzed_rows(conn: &Connection) -> rusqlite::Result<i64> {
    if !has_statistics(conn)? {
        return Ok(0);
    }
    let stat: Option<String> = conn
        .query_row(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'requests' AND idx = 'requests_session'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stat
        .as_deref()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::store::migrations;
    use crate::store::tests::plans::grow;

    fn stat(conn: &Connection) -> Option<String> {
        conn.query_row(
            "SELECT stat FROM sqlite_stat1 WHERE idx = 'requests_session'",
            [],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten()
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("q.db")).unwrap();
        migrations::migrate(&mut conn).unwrap();
        (dir, conn)
    }

    /// A short first run leaves no statistics, however often it is checked.
    #[test]
    fn a_small_store_keeps_no_statistics() {
        let (_dir, mut conn) = store();
        grow(&mut conn, 0..2, 3);
        let mut stats = Statistics::at_open(&conn);
        stats.committed(&conn, 5000);
        assert_eq!(stat(&conn), None);
    }

    /// Statistics taken when the store was tiny are dropped while it is small and replaced
    /// once it is not; they follow it as it doubles, not at every check.
    #[test]
    fn statistics_follow_the_store_as_it_grows() {
        let (_dir, mut conn) = store();
        grow(&mut conn, 0..1, 2);
        conn.execute_batch("ANALYZE").unwrap();
        assert_eq!(stat(&conn).as_deref(), Some("2 2 1"));
        let mut stats = Statistics::at_open(&conn);
        assert_eq!(stat(&conn), None, "tiny statistics dropped at open");

        grow(&mut conn, 1..121, 10);
        stats.committed(&conn, 10);
        assert_eq!(stat(&conn), None, "checked before CHECK_EVERY writes");
        stats.committed(&conn, 2000);
        assert_eq!(stat(&conn).as_deref(), Some("1202 10 1"));

        grow(&mut conn, 121..200, 10);
        stats.committed(&conn, 2000);
        assert_eq!(stat(&conn).as_deref(), Some("1202 10 1"), "not yet doubled");
        grow(&mut conn, 200..260, 10);
        stats.committed(&conn, 2000);
        assert_eq!(stat(&conn).as_deref(), Some("2592 10 1"), "doubled");
    }

    /// A store grown under an older qwenctl with frozen statistics gets true ones at open.
    #[test]
    fn stale_statistics_of_a_grown_store_are_refreshed_at_open() {
        let (_dir, mut conn) = store();
        grow(&mut conn, 0..1, 2);
        conn.execute_batch("ANALYZE").unwrap();
        grow(&mut conn, 1..201, 10);
        Statistics::at_open(&conn);
        assert_eq!(stat(&conn).as_deref(), Some("2002 10 1"));
    }
}
