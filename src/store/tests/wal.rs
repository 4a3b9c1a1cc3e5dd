//! The WAL beside long reads (issue 18, finding 11): bounded while an export reads every
//! session, because each session is one short read transaction; unbounded beside one read
//! transaction that lasts; truncated once the writer is idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::ProgressBar;

use super::*;
use crate::export::{self, Format, Selection};

/// WAL pages after which the checkpoint thread restarts the WAL in these tests.
const RESTART_AFTER: i64 = 64;
/// Requests per burst, and the size of the message each carries.
const BURST: usize = 128;
const MESSAGE: usize = 4096;
const BURSTS: usize = 6;

fn wal_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(super::super::wal_path(path)).map_or(0, |m| m.len())
}

/// A store of 200 five-turn sessions opened with a short restart limit.
fn filled_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    super::super::migrations::migrate(&mut conn).unwrap();
    super::plans::grow(&mut conn, 0..200, 5);
    drop(conn);
    let store = Store::from(Sqlite::open_with_restart_limit(&path, RESTART_AFTER).unwrap());
    (dir, path, store)
}

/// Writes `BURSTS` bursts of requests, each committed and followed by a pause longer than
/// the checkpoint thread's interval, while the largest WAL seen is recorded in `max`.
async fn write_bursts(store: &Store, path: &std::path::Path, max: &AtomicU64, tag: &str) {
    let mut n = 0_usize;
    for _ in 0..BURSTS {
        for _ in 0..BURST {
            n += 1;
            let text = format!("{tag} {n} {}", "x".repeat(MESSAGE));
            let id = format!("{tag}-{n}");
            let req = request(&id, None, None, vec![msg("user", &text)], 1);
            store.record_request(req).await.unwrap();
        }
        store.flush().await.unwrap();
        max.fetch_max(wal_len(path), Ordering::Relaxed);
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            max.fetch_max(wal_len(path), Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // The figures, for `--nocapture`.
async fn the_wal_stays_bounded_while_an_export_reads_everything_and_is_truncated_when_idle() {
    let (_dir, path, store) = filled_store();

    // Writes beside exports of every session, run back to back.
    let short_max = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let exporter = {
        let (store, stop) = (store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut exports = 0_u32;
            while !stop.load(Ordering::Relaxed) {
                let bar = ProgressBar::hidden();
                let out = std::io::sink();
                let n = export::write_sessions(&store, &Selection::All, Format::Jsonl, out, &bar)
                    .await
                    .unwrap();
                assert_eq!(n, 200);
                exports += 1;
            }
            exports
        })
    };
    write_bursts(&store, &path, &short_max, "short").await;
    stop.store(true, Ordering::Relaxed);
    let exports = exporter.await.unwrap();
    let short_max = short_max.load(Ordering::Relaxed);

    // The same writes beside one read transaction held throughout.
    let long_max = AtomicU64::new(0);
    let reader = rusqlite::Connection::open(&path).unwrap();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM requests;")
        .unwrap();
    write_bursts(&store, &path, &long_max, "long").await;
    let long_max = long_max.load(Ordering::Relaxed);
    eprintln!(
        "largest WAL: {short_max} bytes beside {exports} exports, \
         {long_max} bytes beside one long read"
    );
    assert!(exports >= 2, "only {exports} exports ran beside the writes");
    assert!(
        short_max * 2 < long_max,
        "the WAL beside short reads ({short_max} bytes) is not bounded \
         (one long read: {long_max} bytes)"
    );

    // Once the reader lets go and the writer is idle, the WAL is truncated.
    reader.execute_batch("COMMIT").unwrap();
    let mut waited = Duration::ZERO;
    while wal_len(&path) > 0 && waited < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(wal_len(&path), 0, "the idle WAL was not truncated");
    assert_eq!(
        count_committed(&store, "requests").await,
        1000 + 2 * (BURST * BURSTS) as i64
    );
}
