//! The single writer: one OS thread that owns the only write connection.
//!
//! SQLite allows one writer at a time, and a transaction's cost is dominated by its commit
//! (the WAL sync), so writes are funnelled through a bounded channel to this thread, which
//! commits them in groups: it blocks for one job, drains whatever else is already queued (up
//! to [`GROUP_MAX`]) and runs the lot in one transaction. Under load many exchanges share one
//! commit; when idle a job commits alone at once. Each job runs in its own savepoint, so one
//! bad row (a constraint failure) is logged and reported to its waiter without undoing its
//! neighbours or stopping the thread. Waiters are acknowledged only after the commit, which
//! is what lets `record_response` promise durability. The thread never touches the async
//! runtime except through the channel and the oneshot acks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::planner::Statistics;
use super::{ConvNode, Error, Fingerprint, NewRequest, NewResponse, NewSession, Result, writes};

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
    /// Runs outside any transaction, so it ends the current group.
    Vacuum,
}

impl Op {
    /// A name for logs; never the content of the op.
    fn kind(&self) -> &'static str {
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
            Op::Vacuum => "vacuum",
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

/// Starts the writer thread. It returns when every sender is gone and the queue is drained.
/// `commits` counts the transactions it commits; `statistics` are kept up to date as the
/// store grows.
pub(crate) fn spawn(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    commits: Arc<AtomicU64>,
    statistics: Statistics,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("qwenctl-store-writer".to_owned())
        .spawn(move || run(conn, rx, &commits, statistics))
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    commits: &AtomicU64,
    mut statistics: Statistics,
) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while let Some(first) = rx.blocking_recv() {
        group.push(first);
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let group_len = group.len();
        let mut jobs = group.drain(..).peekable();
        while jobs.peek().is_some() {
            // Commit everything up to the next vacuum, then the vacuum alone.
            let mut segment = Vec::new();
            for job in jobs.by_ref() {
                if matches!(job.op, Op::Vacuum) {
                    commit_group(&mut conn, std::mem::take(&mut segment), commits);
                    let result = conn.execute_batch("VACUUM").map(|()| Done::Unit);
                    finish(job, result.map_err(Error::from));
                    break;
                }
                segment.push(job);
            }
            commit_group(&mut conn, segment, commits);
        }
        statistics.committed(&conn, group_len);
    }
    // No `PRAGMA optimize` on close: after a short first run it froze statistics of one or
    // two rows per table (see `planner`).
    tracing::debug!("store writer stopped");
}

/// Runs `jobs` in one transaction and acknowledges them once it has committed (or failed).
fn commit_group(conn: &mut Connection, jobs: Vec<Job>, commits: &AtomicU64) {
    if jobs.is_empty() {
        return;
    }
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, jobs = jobs.len(), "cannot begin a store transaction");
            let message = e.to_string();
            for job in jobs {
                finish(job, Err(Error::Commit(message.clone())));
            }
            return;
        }
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let result = apply_in_savepoint(&mut tx, &job.op);
        if let Err(e) = &result {
            // The error names the op and SQLite's reason, never a message's content.
            tracing::warn!(op = job.op.kind(), error = %e, "store write failed");
        }
        outcomes.push((job, result));
    }
    match tx.commit() {
        Ok(()) => {
            commits.fetch_add(1, Ordering::Relaxed);
            for (job, result) in outcomes {
                finish(job, result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot commit a store transaction");
            let message = e.to_string();
            for (job, _) in outcomes {
                finish(job, Err(Error::Commit(message.clone())));
            }
        }
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
        Op::Flush | Op::Vacuum => {}
    }
    Ok(Done::Unit)
}

fn finish(job: Job, result: Result<Done>) {
    if let Some(ack) = job.ack {
        // The waiter may have given up (its future was dropped); the write stands regardless.
        let _ = ack.send(result);
    }
}
