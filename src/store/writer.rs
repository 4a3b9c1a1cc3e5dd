//! The single writer: one OS thread that owns the only write connection.
//!
//! SQLite allows one writer at a time, and a transaction's cost is dominated by its commit
//! (the WAL sync), so writes are funnelled through a bounded channel to this thread, which
//! commits them in groups: it blocks for one job, drains whatever else is already queued (up
//! to [`GROUP_MAX`]) and runs the lot in one transaction. Under load many exchanges share one
//! commit; when idle a job commits alone at once. One bad row (a constraint failure) is
//! logged and reported to its waiter without undoing its neighbours or stopping the thread:
//! a group of an exchange's writes runs straight, and should one of them fail on its own it
//! is rolled back and run again with a savepoint per job (other ops always get one); a failure of the store itself (a full disk, a
//! read-only file, an I/O error) fails the whole group and is reported to `health` instead.
//! Waiters are acknowledged only after the commit, which is what lets `record_response`
//! promise durability. The thread never touches the server's async runtime except through
//! the channel and the oneshot acks; it keeps a clock of its own (a current-thread runtime
//! with only a timer) to wait for the channel with a deadline, because when it is idle it
//! also brings the full-text indexes up to date, off every acknowledged commit (`fts`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::health::{Health, WriteFailure};
use super::planner::Statistics;
use super::{
    ConvNode, Error, Fingerprint, NewRequest, NewResponse, NewSession, Result, fts, writes,
};

/// Jobs that may wait in the channel; senders wait (backpressure) beyond this.
pub(crate) const QUEUE_CAPACITY: usize = 1024;
/// Most jobs committed in one transaction.
pub(crate) const GROUP_MAX: usize = 256;

/// One write.
#[derive(Debug)]
pub(crate) enum Op {
    CreateSession(NewSession),
    RecordRequest(Box<NewRequest>),
    RecordResponse(Box<NewResponse>),
    Remember(ConvNode),
    TouchNode {
        fingerprint: Fingerprint,
        at_ms: i64,
    },
    DeleteSession {
        id: String,
    },
    WithdrawResponse {
        id: String,
        at_ms: i64,
    },
    Prune {
        older_than_ms: i64,
    },
    /// Nothing to write: acknowledged once everything queued before it has committed.
    Flush,
    /// Brings the full-text indexes up to date (a search is about to read them); outside
    /// any transaction, like a vacuum.
    Index,
    /// Runs outside any transaction, so it ends the current group.
    Vacuum,
    /// Makes later writes fail (or succeed again), for tests; outside any transaction.
    Fault(Option<WriteFault>),
}

impl Op {
    /// Whether the op is one of an exchange's writes (or a flush), which answer nothing but
    /// success and can share a transaction without savepoints ([`commit_straight`]).
    fn is_exchange_write(&self) -> bool {
        matches!(
            self,
            Op::CreateSession(_)
                | Op::RecordRequest(_)
                | Op::RecordResponse(_)
                | Op::Remember(_)
                | Op::TouchNode { .. }
                | Op::Flush
        )
    }

    /// A name for logs; never the content of the op.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Op::CreateSession(_) => "create_session",
            Op::RecordRequest(_) => "record_request",
            Op::RecordResponse(_) => "record_response",
            Op::Remember(_) => "remember",
            Op::TouchNode { .. } => "touch_node",
            Op::DeleteSession { .. } => "delete_session",
            Op::WithdrawResponse { .. } => "withdraw_response",
            Op::Prune { .. } => "prune",
            Op::Flush => "flush",
            Op::Index => "index",
            Op::Vacuum => "vacuum",
            Op::Fault(_) => "fault",
        }
    }
}

/// What an op reports back to its waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Unit,
    /// Whether the row existed (delete).
    Found(bool),
    /// Rows removed (prune).
    Count(u64),
}

/// An op and, when the caller waits for the commit, where to say it happened.
pub(crate) struct Job {
    pub op: Op,
    pub ack: Option<oneshot::Sender<Result<Done>>>,
}

/// A write failure the writer can be made to meet, for tests of the store's health
/// reporting ([`super::Store::inject_write_fault`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFault {
    /// Every commit fails with `SQLITE_FULL` and is rolled back. That is how a full disk
    /// shows: the statements of a WAL transaction only change pages in memory, and the
    /// commit cannot append them to the WAL (checked on a 1 MiB tmpfs, see docs/STORE.md).
    DiskFull,
    /// Writes are refused (`PRAGMA query_only`): every write statement fails with
    /// `SQLITE_READONLY`, as on a read-only file.
    ReadOnly,
}

/// What the writer thread keeps besides its connection.
pub(crate) struct Shared {
    /// Transactions committed.
    pub commits: Arc<AtomicU64>,
    /// Whether writes succeed.
    pub health: Arc<Health>,
    /// Kept up to date as the store grows.
    pub statistics: Statistics,
}

/// Starts the writer thread. It returns when every sender is gone and the queue is drained.
pub(crate) fn spawn(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    shared: Shared,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("qwenctl-store-writer".to_owned())
        .spawn(move || run(conn, rx, shared))
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, mut shared: Shared) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    let mut fault = None;
    let mut indexer = fts::Indexer::new();
    // Only for waiting on the channel with a deadline (the next indexing pass).
    let clock = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(clock) => Some(clock),
        Err(e) => {
            tracing::warn!(error = %e, "store writer: no timer, indexing only between writes");
            None
        }
    };
    loop {
        let next = match (indexer.wait(), &clock) {
            (Some(wait), Some(clock)) => {
                clock.block_on(async { tokio::time::timeout(wait, rx.recv()).await })
            }
            _ => Ok(rx.blocking_recv()),
        };
        let first = match next {
            Ok(Some(job)) => job,
            Ok(None) => break,
            // Quiet for as long as new rows may wait: index them.
            Err(_) => {
                if fault.is_none() {
                    indexer.run(&mut conn, false);
                }
                continue;
            }
        };
        group.push(first);
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let group_len = group.len();
        let mut segment = Vec::new();
        for job in group.drain(..) {
            // A vacuum, an index pass or a fault runs outside any transaction: commit what
            // came before it, then run it alone.
            match job.op {
                Op::Vacuum => {
                    commit_group(&mut conn, std::mem::take(&mut segment), &shared, fault);
                    let result = conn.execute_batch("VACUUM");
                    if result.is_ok() {
                        shared.health.succeeded();
                    }
                    // A failed vacuum is its caller's error, not an incident: it needs room
                    // for a second copy that ordinary writes do not.
                    finish(job, result.map(|()| Done::Unit).map_err(Error::from));
                }
                Op::Index => {
                    commit_group(&mut conn, std::mem::take(&mut segment), &shared, fault);
                    if fault.is_none() {
                        indexer.run(&mut conn, true);
                    }
                    finish(job, Ok(Done::Unit));
                }
                Op::Fault(new) => {
                    commit_group(&mut conn, std::mem::take(&mut segment), &shared, fault);
                    fault = new;
                    let result =
                        conn.pragma_update(None, "query_only", new == Some(WriteFault::ReadOnly));
                    finish(job, result.map(|()| Done::Unit).map_err(Error::from));
                }
                _ => {
                    if !matches!(job.op, Op::Flush) {
                        indexer.wrote();
                    }
                    segment.push(job);
                }
            }
        }
        commit_group(&mut conn, segment, &shared, fault);
        shared.statistics.committed(&conn, group_len);
        if fault.is_none() && indexer.due(!rx.is_empty()) {
            indexer.run(&mut conn, false);
        }
    }
    if fault.is_none()
        && let Err(e) = fts::catch_up(&mut conn)
    {
        tracing::warn!(error = %e, "full-text indexing failed at close");
    }
    // No `PRAGMA optimize` on close: after a short first run it froze statistics of one or
    // two rows per table (see `planner`).
    tracing::debug!("store writer stopped");
}

/// Runs `jobs` in one transaction and acknowledges them once it has committed (or failed).
///
/// A job that fails for a reason of its own (a constraint) is rolled back alone and the
/// others commit. A failure of the store itself (see [`WriteFailure`]) fails the whole
/// group: SQLite may already have rolled the transaction back, so nothing of it is taken
/// for committed, and the health report opens an incident instead of a line per job. A
/// group of flushes alone writes nothing and says nothing about the store's health.
fn commit_group(conn: &mut Connection, jobs: Vec<Job>, shared: &Shared, fault: Option<WriteFault>) {
    if jobs.iter().all(|job| matches!(job.op, Op::Flush)) {
        for job in jobs {
            finish(job, Ok(Done::Unit));
        }
        return;
    }
    if jobs.iter().all(|job| job.op.is_exchange_write()) {
        match commit_straight(conn, &jobs, fault) {
            Straight::Committed => {
                shared.commits.fetch_add(1, Ordering::Relaxed);
                shared.health.succeeded();
                for job in jobs {
                    finish(job, Ok(Done::Unit));
                }
                return;
            }
            Straight::StoreFailed(e) => return fail_all(jobs, &e, &shared.health),
            // Rolled back whole: run again below, each job in its savepoint.
            Straight::JobFailed => {}
        }
    }
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(jobs, &e, &shared.health),
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut pending = jobs.into_iter();
    while let Some(job) = pending.next() {
        let result = apply_in_savepoint(&mut tx, &job.op);
        if let Err(Error::Sqlite(e)) = &result
            && WriteFailure::of(e).is_some()
        {
            drop(tx);
            let failed = outcomes
                .into_iter()
                .map(|(job, _)| job)
                .chain(std::iter::once(job))
                .chain(pending)
                .collect();
            return fail_all(failed, e, &shared.health);
        }
        outcomes.push((job, result));
    }
    let committed = if fault == Some(WriteFault::DiskFull) {
        drop(tx);
        Err(injected_full())
    } else {
        tx.commit()
    };
    match committed {
        Ok(()) => {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            // Only a write that went in shows the store can write: a group whose every op
            // failed on its own (a response whose request was lost to a full disk) or was a
            // flush commits nothing.
            let wrote = outcomes
                .iter()
                .any(|(job, result)| result.is_ok() && !matches!(job.op, Op::Flush));
            if wrote {
                shared.health.succeeded();
            }
            let incident = shared.health.degraded().is_some();
            for (job, result) in outcomes {
                if let Err(e) = &result {
                    // The error names the op and SQLite's reason, never a message's content.
                    // During an incident such failures follow from the writes it lost, and
                    // the incident is what is logged.
                    if incident {
                        tracing::debug!(op = job.op.kind(), error = %e, "store write failed");
                    } else {
                        tracing::warn!(op = job.op.kind(), error = %e, "store write failed");
                    }
                }
                finish(job, result);
            }
        }
        Err(e) => {
            let jobs = outcomes.into_iter().map(|(job, _)| job).collect();
            fail_all(jobs, &e, &shared.health);
        }
    }
}

/// How a group run without savepoints ended.
enum Straight {
    Committed,
    /// A failure of the store itself (see [`WriteFailure`]): nothing was committed.
    StoreFailed(rusqlite::Error),
    /// A job failed on its own (a constraint); the transaction was rolled back.
    JobFailed,
}

/// Runs the writes of exchanges in one transaction without a savepoint per job.
///
/// They nearly always succeed, and a savepoint makes SQLite copy every page a job changes
/// into its sub-journal first (a temporary file once the transaction's copies pass
/// 64 KiB): half of the writer's page writes and a file created per commit. When a job
/// fails on its own, the whole transaction is rolled back and [`commit_group`] runs the
/// group again with savepoints, so only that job is lost, as before.
fn commit_straight(conn: &mut Connection, jobs: &[Job], fault: Option<WriteFault>) -> Straight {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return Straight::StoreFailed(e),
    };
    for job in jobs {
        match apply(&tx, &job.op) {
            Ok(_) => {}
            Err(Error::Sqlite(e)) if WriteFailure::of(&e).is_some() => {
                return Straight::StoreFailed(e);
            }
            Err(_) => return Straight::JobFailed,
        }
    }
    if fault == Some(WriteFault::DiskFull) {
        drop(tx);
        return Straight::StoreFailed(injected_full());
    }
    match tx.commit() {
        Ok(()) => Straight::Committed,
        Err(e) => Straight::StoreFailed(e),
    }
}

fn injected_full() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some("database or disk is full (injected)".to_owned()),
    )
}

/// Fails every job of a group that could not be written because of `e`; a flush among them
/// is acknowledged (everything before it is settled).
fn fail_all(jobs: Vec<Job>, e: &rusqlite::Error, health: &Health) {
    let reason = WriteFailure::of(e).unwrap_or(WriteFailure::Other);
    let detail = e.to_string();
    let (flushes, lost): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| matches!(job.op, Op::Flush));
    health.failed(reason, &detail, lost.len());
    for job in flushes {
        finish(job, Ok(Done::Unit));
    }
    for job in lost {
        if matches!(job.op, Op::RecordResponse(_)) {
            super::health::exchange_lost(reason.label());
        }
        let error = Error::Unwritable {
            reason,
            detail: detail.clone(),
        };
        finish(job, Err(error));
    }
}

fn apply_in_savepoint(tx: &mut rusqlite::Transaction<'_>, op: &Op) -> Result<Done> {
    let sp = tx.savepoint()?;
    // An error drops `sp`, which rolls back just this op.
    let done = apply(&sp, op)?;
    sp.commit()?;
    Ok(done)
}

fn apply(conn: &Connection, op: &Op) -> Result<Done> {
    match op {
        Op::CreateSession(session) => writes::insert_session(conn, session)?,
        Op::RecordRequest(request) => writes::insert_request(conn, request)?,
        Op::RecordResponse(response) => writes::insert_response(conn, response)?,
        Op::Remember(node) => writes::upsert_node(conn, node)?,
        Op::TouchNode { fingerprint, at_ms } => writes::touch_node(conn, fingerprint, *at_ms)?,
        Op::DeleteSession { id } => return Ok(Done::Found(writes::delete_session(conn, id)?)),
        Op::WithdrawResponse { id, at_ms } => {
            return Ok(Done::Found(writes::withdraw_response(conn, id, *at_ms)?));
        }
        Op::Prune { older_than_ms } => {
            return Ok(Done::Count(writes::prune(conn, *older_than_ms)?));
        }
        // Handled by the loop; here only so the match stays exhaustive.
        Op::Flush | Op::Index | Op::Vacuum | Op::Fault(_) => {}
    }
    Ok(Done::Unit)
}

fn finish(job: Job, result: Result<Done>) {
    if let Some(ack) = job.ack {
        // The waiter may have given up (its future was dropped); the write stands regardless.
        let _ = ack.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{msg, request, session};

    /// A group in which one write succeeds and the next meets a full file (`SQLITE_FULL`
    /// from the statement itself, here through `max_page_count`) is rolled back whole: the
    /// first write is not committed without the second, and both waiters hear why.
    #[test]
    fn a_store_failure_in_a_group_rolls_the_whole_group_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("q.db")).unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .unwrap();
        let shared = Shared {
            commits: Arc::default(),
            health: Arc::default(),
            statistics: Statistics::at_open(&conn),
        };
        let (ack_small, small) = oneshot::channel();
        let (ack_big, big) = oneshot::channel();
        let huge = msg("user", &"x".repeat(200_000));
        let jobs = vec![
            Job {
                op: Op::CreateSession(session("s", "m", 1)),
                ack: Some(ack_small),
            },
            Job {
                op: Op::RecordRequest(Box::new(request("r", Some("s"), None, vec![huge], 2))),
                ack: Some(ack_big),
            },
        ];
        commit_group(&mut conn, jobs, &shared, None);
        for outcome in [small, big] {
            let err = outcome.blocking_recv().unwrap().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Unwritable {
                        reason: WriteFailure::DiskFull,
                        ..
                    }
                ),
                "{err}"
            );
        }
        let sessions: i64 = conn
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sessions, 0, "half of the group was committed");
        assert!(conn.is_autocommit(), "a transaction was left open");
        assert_eq!(shared.health.degraded().unwrap().failures, 2);
    }
}
