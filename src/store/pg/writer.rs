//! The PostgreSQL writer: one task that commits the store's writes in groups, as the SQLite
//! writer thread does.
//!
//! Writes arrive through the same bounded channel and as the same ops. The task waits for
//! one, drains whatever else is queued (up to [`GROUP_MAX`]) and runs the lot in one
//! transaction on one pooled connection; when an op fails on its own row (a constraint),
//! the group is run again with each op in a savepoint, so a bad row fails alone (savepoints
//! for every op would double the round trips of every group). Waiters hear back only after
//! the commit, which is what lets `record_response`
//! promise that a completed exchange is in the database before the client's last byte.
//!
//! A failure of the database itself fails the whole group and opens an incident in
//! `health` (shown by `/health` and counted in `/metrics`): most often the server cannot be
//! reached (stopped, restarting, the network). While that lasts the writer does not try
//! every group against a dead server (each try could wait out a connect timeout while an
//! answer waits for its commit): groups fail at once, and once a second it checks whether
//! the server answers again, which ends the incident. Nothing is retried: a commit whose
//! acknowledgement was lost may have happened, and an exchange recorded twice is worse than
//! one counted as lost. Nothing here ever blocks the async workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Pool, Transaction};
use tokio::sync::mpsc;

use super::failure::{Failure, classify};
use super::writes;
use crate::store::health::{Health, WriteFailure};
use crate::store::writer::{Done, GROUP_MAX, Job, Op};
use crate::store::{Error, Result};

/// How long one group may take, connection included, before it counts as failed.
const GROUP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often an unreachable server is checked while no write comes.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// What the writer task shares with the store's handles.
pub(crate) struct Shared {
    pub pool: Pool,
    pub commits: Arc<AtomicU64>,
    pub health: Arc<Health>,
}

/// Starts the writer task; it ends when every sender is gone and the queue is drained.
pub(crate) fn spawn(rx: mpsc::Receiver<Job>, shared: Shared) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(rx, shared))
}

async fn run(mut rx: mpsc::Receiver<Job>, shared: Shared) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job,
                None => break,
            },
            _ = probe.tick() => {
                if unreachable(&shared.health) {
                    check_reachable(&shared).await;
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
        if unreachable(&shared.health) {
            check_reachable(&shared).await;
        }
        commit_group(std::mem::take(&mut group), &shared).await;
    }
    tracing::debug!("store writer stopped");
}

/// Whether an incident says the server cannot be reached.
fn unreachable(health: &Health) -> bool {
    health
        .degraded()
        .is_some_and(|d| d.reason == WriteFailure::Unreachable)
}

/// Ends an "unreachable" incident once the server answers again.
pub(crate) async fn check_reachable(shared: &Shared) {
    let answered = tokio::time::timeout(GROUP_TIMEOUT, async {
        let client = shared.pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok()
    })
    .await;
    if matches!(answered, Ok(Some(_))) {
        shared.health.succeeded();
    }
}

/// Runs `jobs` in one transaction and acknowledges them once it has committed (or failed).
async fn commit_group(jobs: Vec<Job>, shared: &Shared) {
    if jobs.iter().all(|job| matches!(job.op, Op::Flush)) {
        for job in jobs {
            finish(job, Ok(Done::Unit));
        }
        return;
    }
    if unreachable(&shared.health) {
        let detail = shared
            .health
            .degraded()
            .map(|d| d.detail)
            .unwrap_or_default();
        return fail_all(jobs, WriteFailure::Unreachable, &detail, &shared.health);
    }
    let mut pending: Vec<(Job, Option<Result<Done>>)> =
        jobs.into_iter().map(|job| (job, None)).collect();
    let outcome = tokio::time::timeout(GROUP_TIMEOUT, run_group(&mut pending, shared)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(failure)) => Some(failure),
        Err(_) => Some(Failure {
            reason: WriteFailure::Unreachable,
            detail: format!(
                "the database did not commit within {} s",
                GROUP_TIMEOUT.as_secs()
            ),
        }),
    };
    let jobs = pending.into_iter();
    if let Some(failure) = failure {
        let jobs = jobs.map(|(job, _)| job).collect();
        return fail_all(jobs, failure.reason, &failure.detail, &shared.health);
    }
    shared.commits.fetch_add(1, Ordering::Relaxed);
    let mut wrote = false;
    let mut done = Vec::new();
    for (job, result) in jobs {
        let result = result.unwrap_or(Ok(Done::Unit));
        wrote |= result.is_ok() && !matches!(job.op, Op::Flush);
        done.push((job, result));
    }
    if wrote {
        shared.health.succeeded();
    }
    let incident = shared.health.degraded().is_some();
    for (job, result) in done {
        if let (Err(e), Op::RecordResponse(response)) = (&result, &job.op) {
            tracing::warn!(
                request_id = %response.request_id,
                error = %e,
                "an exchange could not be recorded"
            );
            crate::store::health::exchange_lost("rejected");
        }
        if let Err(e) = &result {
            // The error names the op and the database's reason, never a message's content.
            if incident {
                tracing::debug!(op = job.op.kind(), error = %e, "store write failed");
            } else {
                tracing::warn!(op = job.op.kind(), error = %e, "store write failed");
            }
        }
        finish(job, result);
    }
}

/// The group's transaction. First every op runs straight in it (its statements pipelined,
/// no savepoints); only when an op fails on its own row is that transaction rolled back and
/// the group run again with each op in a savepoint, so the bad row fails alone.
/// Returns a failure of the database itself (which fails the group), else `Ok` once
/// committed.
async fn run_group(
    pending: &mut [(Job, Option<Result<Done>>)],
    shared: &Shared,
) -> std::result::Result<(), Failure> {
    let mut client = shared.pool.get().await.map_err(|e| Failure {
        reason: WriteFailure::Unreachable,
        detail: super::describe(&e),
    })?;
    if let Some(outcomes) = straight(&mut client, pending).await? {
        for ((_, result), outcome) in pending.iter_mut().zip(outcomes) {
            *result = Some(outcome);
        }
        return Ok(());
    }
    let mut tx = client.transaction().await.map_err(|e| fatal(&e))?;
    for (job, result) in pending.iter_mut() {
        let outcome = match &job.op {
            Op::Flush => Ok(Done::Unit),
            Op::Vacuum | Op::Fault(_) => Err(unsupported()),
            op => in_savepoint(&mut tx, op).await?,
        };
        *result = Some(outcome);
    }
    let written = pending
        .iter()
        .filter(|(_, result)| matches!(result, Some(Ok(_))))
        .map(|(job, _)| job);
    announce(&tx, written).await?;
    tx.commit().await.map_err(|e| fatal(&e))?;
    Ok(())
}

/// Announces the responses among `jobs` on the events channel, in the transaction that
/// records them: listeners (every replica's `GET /v1/events`) hear of them on its commit.
async fn announce<'a>(
    tx: &Transaction<'_>,
    jobs: impl Iterator<Item = &'a Job>,
) -> std::result::Result<(), Failure> {
    let Some(statement) = announcement(jobs) else {
        return Ok(());
    };
    writes::run(tx, &[statement]).await.map_err(|e| fatal(&e))
}

fn unsupported() -> Error {
    Error::Unsupported("this operation is for the SQLite store only")
}

/// The `NOTIFY` of the responses among `jobs`, if any.
fn announcement<'a>(jobs: impl Iterator<Item = &'a Job>) -> Option<writes::Statement> {
    let payloads: Vec<String> = jobs
        .filter_map(|job| match &job.op {
            Op::RecordResponse(r) => Some(super::events::payload(&r.request_id, &r.id)),
            _ => None,
        })
        .collect();
    (!payloads.is_empty()).then(|| writes::Statement {
        sql: "SELECT pg_notify('qwenctl_recorded', payload) FROM unnest($1::text[]) AS payload",
        args: vec![Box::new(payloads)],
    })
}

/// Runs the group's ops in one transaction without savepoints and commits it: the
/// outcomes, or `None` (rolled back, nothing written) when an op failed on its own row.
/// When every op is one of an exchange's writes (the usual group), their statements go to
/// the server all at once (`writes::pipeline`).
async fn straight(
    client: &mut deadpool_postgres::Object,
    pending: &[(Job, Option<Result<Done>>)],
) -> std::result::Result<Option<Vec<Result<Done>>>, Failure> {
    let tx = client.transaction().await.map_err(|e| fatal(&e))?;
    let all: Option<Vec<writes::Statements>> =
        pending.iter().map(|(job, _)| statements(&job.op)).collect();
    let outcome = match all {
        Some(lists) => {
            let mut batch: writes::Statements = lists.into_iter().flatten().collect();
            batch.extend(announcement(pending.iter().map(|(job, _)| job)));
            writes::pipeline(&tx, &batch)
                .await
                .map(|()| pending.iter().map(|_| Ok(Done::Unit)).collect())
        }
        None => sequential(&tx, pending).await,
    };
    match outcome {
        Ok(outcomes) => {
            tx.commit().await.map_err(|e| fatal(&e))?;
            Ok(Some(outcomes))
        }
        Err(e) => {
            if let Some(failure) = classify(&e) {
                return Err(failure);
            }
            tx.rollback().await.map_err(|e| fatal(&e))?;
            Ok(None)
        }
    }
}

/// The group's ops one after the other, then its announcement.
async fn sequential(
    tx: &Transaction<'_>,
    pending: &[(Job, Option<Result<Done>>)],
) -> std::result::Result<Vec<Result<Done>>, tokio_postgres::Error> {
    let mut outcomes = Vec::with_capacity(pending.len());
    for (job, _) in pending {
        outcomes.push(match &job.op {
            Op::Vacuum | Op::Fault(_) => Err(unsupported()),
            op => Ok(apply(tx, op).await?),
        });
    }
    if let Some(statement) = announcement(pending.iter().map(|(job, _)| job)) {
        writes::run(tx, &[statement]).await?;
    }
    Ok(outcomes)
}

/// Runs `op` in a savepoint. The outer error is a failure of the database (the group
/// fails); the inner one is the op's own (a constraint), rolled back alone.
async fn in_savepoint(
    tx: &mut Transaction<'_>,
    op: &Op,
) -> std::result::Result<Result<Done>, Failure> {
    // Two replicas touching the same rows in different orders may deadlock; the loser's op
    // is rolled back to its savepoint and tried once more.
    for attempt in 0..2 {
        let sp = tx.savepoint("op").await.map_err(|e| fatal(&e))?;
        match apply(&sp, op).await {
            Ok(done) => {
                sp.commit().await.map_err(|e| fatal(&e))?;
                return Ok(Ok(done));
            }
            Err(e) => {
                sp.rollback().await.map_err(|e| fatal(&e))?;
                match classify(&e) {
                    Some(failure) => return Err(failure),
                    None if attempt == 0 && is_deadlock(&e) => continue,
                    None => return Ok(Err(Error::Postgres(e))),
                }
            }
        }
    }
    Ok(Ok(Done::Unit))
}

fn is_deadlock(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// A failure of the whole transaction: what [`classify`] says, or, for an error that is
/// not about a row yet broke the transaction, a database failure all the same.
fn fatal(e: &tokio_postgres::Error) -> Failure {
    classify(e).unwrap_or_else(|| Failure {
        reason: WriteFailure::Other,
        detail: e.to_string(),
    })
}

/// The statements of `op`, when it is one of an exchange's writes (see `writes`); `None`
/// for the ops that answer with what they found and run alone.
fn statements(op: &Op) -> Option<writes::Statements> {
    Some(match op {
        Op::CreateSession(session) => writes::insert_session(session),
        Op::RecordRequest(request) => writes::insert_request(request),
        Op::RecordResponse(response) => writes::insert_response(response),
        Op::Remember(node) => writes::upsert_node(node),
        Op::TouchNode { fingerprint, at_ms } => writes::touch_node(fingerprint, *at_ms),
        // PostgreSQL indexes as it writes: nothing to catch up.
        Op::Flush | Op::Index => Vec::new(),
        Op::DeleteSession { .. }
        | Op::WithdrawResponse { .. }
        | Op::Prune { .. }
        | Op::Vacuum
        | Op::Fault(_) => return None,
    })
}

async fn apply(tx: &Transaction<'_>, op: &Op) -> std::result::Result<Done, tokio_postgres::Error> {
    if let Some(statements) = statements(op) {
        writes::run(tx, &statements).await?;
        return Ok(Done::Unit);
    }
    match op {
        Op::DeleteSession { id } => Ok(Done::Found(writes::delete_session(tx, id).await?)),
        Op::WithdrawResponse { id, at_ms } => Ok(Done::Found(
            writes::withdraw_response(tx, id, *at_ms).await?,
        )),
        Op::Prune { older_than_ms } => Ok(Done::Count(writes::prune(tx, *older_than_ms).await?)),
        _ => Ok(Done::Unit),
    }
}

/// Fails every job of a group that could not be written; a flush among them is acknowledged
/// (everything before it is settled). Lost responses are lost exchanges: they are counted
/// apart, since an exchange is what a user misses.
fn fail_all(jobs: Vec<Job>, reason: WriteFailure, detail: &str, health: &Health) {
    let (flushes, lost): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| matches!(job.op, Op::Flush));
    health.failed(reason, detail, lost.len());
    for job in flushes {
        finish(job, Ok(Done::Unit));
    }
    for job in lost {
        if let Op::RecordResponse(response) = &job.op {
            // The exchange was answered but is not in the record: say which, once each.
            tracing::warn!(
                request_id = %response.request_id,
                reason = reason.as_str(),
                "an exchange could not be recorded"
            );
            crate::store::health::exchange_lost(reason.label());
        }
        let error = Error::Unwritable {
            reason,
            detail: detail.to_owned(),
        };
        finish(job, Err(error));
    }
}

fn finish(job: Job, result: Result<Done>) {
    if let Some(ack) = job.ack {
        // The waiter may have given up (its future was dropped); the write stands regardless.
        let _ = ack.send(result);
    }
}
