//! Opening connections and the small pool of read connections.
//!
//! Every connection gets the same pragmas at open (design.md §8 item 6): WAL so readers never
//! block the writer and a killed process leaves a consistent file, `synchronous=NORMAL`
//! (durable at each WAL checkpoint, consistent always, much cheaper than FULL), foreign keys
//! on, and a busy timeout so a second process (`qwenctl sessions` beside `serve`) waits for a
//! lock instead of failing. Readers are plain connections behind std mutexes, used only from
//! blocking threads, and never held across an `.await`.

use std::path::Path;
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Error, Result};

/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections; two let a slow export and the proxy's lookups proceed side by side.
const READERS: usize = 2;

/// Where the database lives.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    File(std::path::PathBuf),
    /// A URI naming a private shared-cache in-memory database.
    Memory(String),
    /// A file opened read-only (`SQLITE_OPEN_READ_ONLY`) by the commands that only read.
    /// `immutable` when its directory is read-only too and no WAL lies beside it: SQLite
    /// then cannot set up the WAL index, and since nothing can be writing the file it is
    /// read as it is (`immutable=1`), with no locks and no `-shm`.
    ReadOnly {
        path: std::path::PathBuf,
        immutable: bool,
    },
}

impl Location {
    /// A fresh in-memory database that only this store's connections can reach.
    pub(crate) fn memory() -> Location {
        Location::Memory(format!(
            "file:qwenctl-mem-{}?mode=memory&cache=shared",
            uuid::Uuid::new_v4().simple()
        ))
    }

    pub(crate) fn open(&self, writer: bool) -> Result<Connection> {
        let read_only = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = writer && !matches!(self, Location::ReadOnly { .. });
        let conn = match self {
            Location::File(path) => Connection::open(path)?,
            Location::Memory(uri) => Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
            Location::ReadOnly {
                path,
                immutable: false,
            } => Connection::open_with_flags(path, read_only)?,
            Location::ReadOnly {
                path,
                immutable: true,
            } => Connection::open_with_flags(
                format!("file:{}?immutable=1", uri_path(path)),
                read_only | OpenFlags::SQLITE_OPEN_URI,
            )?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Plans that never depend on the values bound to a statement. Without this, SQLite
        // marks nearly every `column = ?` statement as worth re-planning whenever a bound
        // value changes to or from 0 or 1, and `sqlite3_clear_bindings`, which rusqlite calls
        // whenever a cached statement goes back to its cache, then expires it: every cached
        // statement was parsed and planned again on each use (18% of `serve`'s CPU on the
        // chained Responses load, docs/BENCHMARKS.md). The store's reads name their indexes
        // (queries.rs), so the plans that value-based planning could pick differently do
        // not exist here.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 512 KiB of pages per connection instead of SQLite's 2 MiB: the kernel's page cache
        // holds the file anyway, and four private caches filling up as the database grows
        // were most of what a long-running `serve` gained in memory.
        conn.pragma_update(None, "cache_size", -512)?;
        if writer {
            // Persistent in the file, so the writer (opened first) sets it for everyone. An
            // in-memory database answers `memory`, which is fine.
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            tracing::trace!(mode, "journal mode");
        } else {
            conn.pragma_update(None, "query_only", true)?;
            if matches!(self, Location::Memory(_)) {
                // A shared cache locks tables, not files, and reports conflicts at once
                // instead of calling the busy handler; read-uncommitted readers take no table
                // locks, so they neither fail nor block the writer.
                conn.pragma_update(None, "read_uncommitted", true)?;
            }
        }
        Ok(conn)
    }
}

/// `path` as the path of an SQLite `file:` URI: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Creates the parent directories of a database file.
pub(crate) fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// The read connections.
pub(crate) struct Readers {
    conns: Vec<Mutex<Connection>>,
}

impl Readers {
    pub(crate) fn open(location: &Location) -> Result<Readers> {
        let conns = (0..READERS)
            .map(|_| location.open(false).map(Mutex::new))
            .collect::<Result<_>>()?;
        Ok(Readers { conns })
    }

    /// Runs `f` on an idle connection, or waits for one. Blocking: call from a blocking
    /// thread. Retries briefly when the in-memory shared cache reports a table lock.
    pub(crate) fn with<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            let result = self.with_any(&f);
            match &result {
                Err(Error::Sqlite(e))
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseLocked)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => return result,
            }
        }
    }

    fn with_any<T>(&self, f: &impl Fn(&Connection) -> Result<T>) -> Result<T> {
        for conn in &self.conns {
            match conn.try_lock() {
                Ok(guard) => return in_snapshot(&guard, f),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Poisoned(_)) => return Err(Error::Poisoned),
            }
        }
        // All busy: queue on a random one so waiters do not all pile up on the first.
        let conn = self
            .conns
            .get(fastrand::usize(..self.conns.len().max(1)))
            .ok_or(Error::Poisoned)?;
        let guard = conn.lock().map_err(|_| Error::Poisoned)?;
        in_snapshot(&guard, f)
    }
}

/// Runs `f` in one read transaction, so a read made of several statements (a transcript, a
/// rebuilt history) sees a single snapshot even while the writer commits.
fn in_snapshot<T>(conn: &Connection, f: &impl Fn(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn.unchecked_transaction()?;
    let out = f(&tx)?;
    // Nothing was written; ending the transaction only releases the snapshot.
    tx.rollback()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// A cached statement run with one value after another is planned once: it is neither
    /// parsed again when it goes back to rusqlite's cache (which clears its bindings) nor
    /// when a new value is bound.
    #[test]
    fn cached_statements_are_not_prepared_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::File(dir.path().join("q.db"));
        let conn = location.open(true).unwrap();
        // The shape of the store's message reads (history.rs).
        conn.execute_batch(
            "CREATE TABLE m (id INTEGER PRIMARY KEY, body TEXT);
             CREATE TABLE rm (request_id TEXT, position INTEGER, message_id INTEGER,
                              PRIMARY KEY (request_id, position));
             INSERT INTO m VALUES (1, 'one'), (2, 'two');
             INSERT INTO rm VALUES ('a', 0, 1), ('a', 1, 2), ('b', 0, 2);",
        )
        .unwrap();
        let sql = "SELECT m.body FROM rm CROSS JOIN m ON m.id = rm.message_id
                   WHERE rm.request_id = ?1 ORDER BY rm.position";
        for (id, rows) in [("a", 2), ("b", 1), ("c", 0), ("a", 2)] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let bodies: Vec<String> = stmt
                .query_map([id], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(bodies.len(), rows);
            assert_eq!(
                stmt.get_status(StatementStatus::RePrepare),
                0,
                "prepared again after binding {id}"
            );
        }
    }
}
