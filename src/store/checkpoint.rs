//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses the WAL size threshold,
//! so every ~1,000 pages one commit also copies the WAL into the database file and syncs it,
//! and every answer waiting for that commit (the proxy awaits its response row before the
//! last byte) waits for the checkpoint too. The writer therefore turns automatic
//! checkpoints off, and this thread runs PASSIVE checkpoints from its own connection twice a
//! second: they proceed alongside the writer and readers and never block them. A killed
//! process is as safe as before: the WAL is simply longer until the next checkpoint or open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(500);
/// How often the thread looks at the stop flag while waiting.
const POLL: Duration = Duration::from_millis(50);

/// A running checkpoint thread; stops (after a last checkpoint) when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(conn: Connection) -> std::io::Result<Checkpointer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("qwenctl-store-checkpoint".to_owned())
            .spawn(move || run(&conn, &flag))?;
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

fn run(conn: &Connection, stop: &AtomicBool) {
    loop {
        let mut waited = Duration::ZERO;
        while waited < INTERVAL {
            if stop.load(Ordering::Relaxed) {
                checkpoint(conn);
                return;
            }
            std::thread::sleep(POLL);
            waited += POLL;
        }
        checkpoint(conn);
    }
}

fn checkpoint(conn: &Connection) {
    // Returns (busy, wal pages, checkpointed pages); only failures matter here.
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        row.get::<_, i64>(0)
    });
    if let Err(e) = result {
        tracing::debug!(error = %e, "WAL checkpoint failed");
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
}
