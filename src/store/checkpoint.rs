//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses the WAL size threshold,
//! so every ~1,000 pages one commit also copies the WAL into the database file and syncs it,
//! and every answer waiting for that commit (the proxy awaits its response row before the
//! last byte) waits for the checkpoint too. The writer therefore turns automatic
//! checkpoints off, and this thread runs PASSIVE checkpoints from its own connection ten
//! times a second: they proceed alongside the writer and readers and take no lock they need.
//! They still slow the writer down while they run, through the file system: a checkpoint
//! syncs the WAL and then the database file, and the writer's appends to the WAL wait on
//! that I/O. The wait grows with what the checkpoint copies, so small and frequent beats
//! large and rare (at 200 exchanges/s, the p99 of an answer's time: 1.65 ms with no
//! checkpoint during the run, 2-5 ms every 100 ms, 4-12 ms every 500 ms, ~95 ms every
//! 5 s; see docs/BENCHMARKS.md). With nothing to copy a checkpoint only reads the WAL
//! index and syncs nothing. A killed
//! process is as safe as before: the WAL is simply longer until the next checkpoint or open.
//!
//! PASSIVE checkpoints copy the WAL but never make it start over while writes keep coming
//! and readers keep snapshots open, so under sustained load the WAL file (and the
//! shared-memory index every connection maps, which counts in the process's memory) would
//! grow without bound: 400 MB of WAL for a 50 MB database after 20,000 exchanges. Once the
//! WAL holds more than [`RESTART_AFTER_PAGES`], the thread therefore asks for a RESTART
//! checkpoint, which waits briefly for the writer's transaction, copies the rest and makes
//! the next write start the WAL over from its beginning, so the file stops growing. It gives
//! up after [`RESTART_WAIT`] when readers are busy (the writer is held back no longer than
//! that) and tries again on the next tick. Under load it does not truncate the file:
//! truncating a 16 MiB WAL held the writer back for tens of milliseconds, which every answer
//! waiting on a commit then saw (p99 +26 ms at 200 requests/s); the file keeps its size and
//! is reused.
//!
//! A read transaction that lasts keeps every checkpoint from passing the snapshot it reads,
//! so while it lasts the WAL grows with whatever is written (5.9 GB under load beside an
//! export that read the whole archive in one transaction). The store's reads are short (an
//! export reads one session per transaction), and two things give the disk back after such
//! an excursion: the writer's `journal_size_limit` ([`JOURNAL_SIZE_LIMIT`]) cuts the WAL
//! down to that size on the first commit after it starts over, and once no write has been
//! committed for [`IDLE_AFTER`] this thread runs a TRUNCATE checkpoint, which leaves the WAL
//! empty (it waits at most [`RESTART_WAIT`] for readers, and tries again on later ticks
//! while it cannot).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(100);
/// How often the thread looks at the stop flag while waiting.
const POLL: Duration = Duration::from_millis(50);
/// WAL length past which the WAL is restarted: 4,096 pages (16 MiB at SQLite's 4 KiB
/// pages), one page of the shared-memory index.
pub(crate) const RESTART_AFTER_PAGES: i64 = 4096;
/// The longest a RESTART checkpoint waits for the writer and readers (and so holds back new
/// writes) before it gives up until the next tick.
const RESTART_WAIT: Duration = Duration::from_millis(100);
/// The WAL size the writer cuts the file down to when it starts the WAL over
/// (`PRAGMA journal_size_limit`): twice the length at which it is restarted, so a WAL
/// that stays within its usual length is reused, never truncated under load.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 2 * RESTART_AFTER_PAGES * 4096;
/// How long without a commit before the WAL is truncated.
const IDLE_AFTER: Duration = Duration::from_secs(2);

/// What the checkpoint thread watches.
pub(crate) struct Watch {
    /// The writer's commit count: unchanged for [`IDLE_AFTER`] means idle.
    pub commits: Arc<AtomicU64>,
    /// The WAL file (`<database>-wal`).
    pub wal: PathBuf,
}

/// A running checkpoint thread; stops (after a last checkpoint) when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Checkpoints through `conn`, restarting the WAL once it holds `restart_after` pages
    /// and truncating it once the writer is idle.
    pub(crate) fn spawn(
        conn: Connection,
        restart_after: i64,
        watch: Watch,
    ) -> std::io::Result<Checkpointer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("qwenctl-store-checkpoint".to_owned())
            .spawn(move || run(&conn, &flag, restart_after, &watch))?;
        Ok(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn run(conn: &Connection, stop: &AtomicBool, restart_after: i64, watch: &Watch) {
    if let Err(e) = conn.busy_timeout(RESTART_WAIT) {
        tracing::debug!(error = %e, "cannot set the checkpoint's busy timeout");
    }
    let mut idle = Idle::default();
    loop {
        let mut waited = Duration::ZERO;
        while waited < INTERVAL {
            if stop.load(Ordering::Relaxed) {
                checkpoint(conn, "PASSIVE");
                return;
            }
            std::thread::sleep(POLL);
            waited += POLL;
        }
        tick(conn, restart_after);
        if idle.after_tick(watch.commits.load(Ordering::Relaxed)) {
            idle.truncated = truncate(conn, &watch.wal);
        }
    }
}

/// Whether the writer has been idle long enough for the WAL to be truncated.
#[derive(Default)]
struct Idle {
    commits: u64,
    quiet: Duration,
    /// The WAL was truncated since the last commit.
    truncated: bool,
}

impl Idle {
    /// Notes the commit count after a tick; whether to truncate now.
    fn after_tick(&mut self, commits: u64) -> bool {
        if commits != self.commits {
            *self = Idle {
                commits,
                ..Idle::default()
            };
            return false;
        }
        self.quiet += INTERVAL;
        self.quiet >= IDLE_AFTER && !self.truncated
    }
}

/// Truncates a non-empty WAL to nothing; whether it is empty now.
fn truncate(conn: &Connection, wal: &std::path::Path) -> bool {
    let len = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return true;
    }
    let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    });
    match done {
        Ok(0) => {
            tracing::debug!(bytes = len, "truncated the idle WAL");
            true
        }
        // Busy: a reader still uses the WAL; the next tick tries again.
        Ok(_) => false,
        Err(e) => {
            tracing::debug!(error = %e, "WAL truncation failed");
            false
        }
    }
}

/// One round: a PASSIVE checkpoint, and a RESTART when the WAL is past `restart_after`
/// pages. Returns whether it restarted.
fn tick(conn: &Connection, restart_after: i64) -> bool {
    let long = checkpoint(conn, "PASSIVE").is_some_and(|wal_pages| wal_pages > restart_after);
    long && checkpoint(conn, "RESTART").is_some()
}

/// Runs one checkpoint; the WAL's length in pages before it, or `None` when it failed.
fn checkpoint(conn: &Connection, mode: &str) -> Option<i64> {
    // Returns (busy, wal pages, checkpointed pages).
    let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get::<_, i64>(1)
    });
    match result {
        Ok(pages) => Some(pages),
        Err(e) => {
            tracing::debug!(error = %e, mode, "WAL checkpoint failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewSession, Store};

    /// Writes reach the database file itself without any commit doing a checkpoint: the
    /// writer has automatic checkpoints off, so only this thread can have copied them.
    #[tokio::test]
    async fn the_wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let store = Store::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        for i in 0..300 {
            store
                .create_session(NewSession {
                    account: None,
                    id: format!("s{i}"),
                    chat_id: "c".repeat(200),
                    model: "m".into(),
                    title: "t".repeat(500),
                    source: "serve".into(),
                    api_key_id: None,
                    created_at: i,
                })
                .await
                .unwrap();
        }
        store.flush().await.unwrap();
        let mut grew = false;
        for _ in 0..40 {
            if std::fs::metadata(&path).unwrap().len() > before {
                grew = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(grew, "the database file never received the WAL's pages");
    }

    /// A round restarts the WAL only past its limit, and the write after it begins the WAL
    /// anew. (That PASSIVE rounds alone let the WAL grow under sustained load is a matter of
    /// timing, measured by `scripts/fake-rss.sh`, not something a unit test can force.)
    #[test]
    fn a_long_wal_is_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x TEXT);",
            )
            .unwrap();
        let write = |rows: usize| {
            for _ in 0..rows {
                writer
                    .execute("INSERT INTO t VALUES (?1)", [&"x".repeat(3000)])
                    .unwrap();
            }
        };
        let checkpointer = rusqlite::Connection::open(&path).unwrap();
        let wal_pages = || super::checkpoint(&checkpointer, "PASSIVE").unwrap();

        write(50);
        assert!(
            !super::tick(&checkpointer, 10_000),
            "restarted below the limit"
        );
        write(50);
        let appended = wal_pages();
        assert!(
            appended > 100,
            "the WAL holds {appended} pages after two bursts"
        );

        assert!(super::tick(&checkpointer, 16), "no restart past the limit");
        write(1);
        let after = wal_pages();
        assert!(
            after < 16,
            "the write after a restart appended: {after} pages"
        );
    }
}
