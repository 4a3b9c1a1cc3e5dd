//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses the WAL size threshold,
//! so every ~1,000 pages one commit also copies the WAL into the database file and syncs it,
//! and every answer waiting for that commit (the proxy awaits its response row before the
//! last byte) waits for the checkpoint too. The writer therefore turns automatic
//! checkpoints off, and this thread runs PASSIVE checkpoints from its own connection twice a
//! second: they proceed alongside the writer and readers and never block them. A killed
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
//! that) and tries again on the next tick. It does not truncate the file: truncating a
//! 16 MiB WAL held the writer back for tens of milliseconds, which every answer waiting on a
//! commit then saw (p99 +26 ms at 200 requests/s); the file keeps its size and is reused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(500);
/// How often the thread looks at the stop flag while waiting.
const POLL: Duration = Duration::from_millis(50);
/// WAL length past which the WAL is restarted: 4,096 pages (16 MiB at SQLite's 4 KiB
/// pages), one page of the shared-memory index.
pub(crate) const RESTART_AFTER_PAGES: i64 = 4096;
/// The longest a RESTART checkpoint waits for the writer and readers (and so holds back new
/// writes) before it gives up until the next tick.
const RESTART_WAIT: Duration = Duration::from_millis(100);

/// A running checkpoint thread; stops (after a last checkpoint) when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Checkpoints through `conn`, restarting the WAL once it holds `restart_after` pages.
    pub(crate) fn spawn(conn: Connection, restart_after: i64) -> std::io::Result<Checkpointer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("qwenctl-store-checkpoint".to_owned())
            .spawn(move || run(&conn, &flag, restart_after))?;
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

fn run(conn: &Connection, stop: &AtomicBool, restart_after: i64) {
    if let Err(e) = conn.busy_timeout(RESTART_WAIT) {
        tracing::debug!(error = %e, "cannot set the checkpoint's busy timeout");
    }
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
