//! The PostgreSQL store: the same record and conversation index as the SQLite store, in a
//! database several `serve` replicas share (issue 19), selected by
//! `DATABASE_URL=postgres://…`.
//!
//! Shared means: any replica continues any conversation (the conversation index is one
//! table), and every replica's data API, `sessions` and `stats` see every exchange. The
//! promises are the SQLite store's: all writes go through one writer per process that
//! commits them in groups off the request path (`writer`), `record_response` resolves only
//! after the commit, migrations are numbered and append-only and run under an advisory lock
//! (`migrations`), every read that takes several statements reads one snapshot (`reads`).
//! What differs is failure: a server can go away while `serve` runs. Then writes fail at
//! once and are counted and logged as lost (never retried, so never recorded twice), reads
//! fail at once (the engine opens a new chat with the folded history instead of continuing
//! one), `/health` says `degraded: unreachable`, and the pool reconnects by itself once the
//! server answers again (`failure`, `writer`). The connection and TLS settings come from
//! the URL (`connect`).

mod connect;
pub(crate) mod copy;
mod events;
mod failure;
pub(crate) mod migrations;
mod reads;
mod writer;
mod writes;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::IsolationLevel;

pub use connect::redacted;

/// Whether `url` is a `DATABASE_URL` qwenctl can use; the problem otherwise, without the
/// password.
pub(crate) fn check_url(url: &str) -> std::result::Result<(), String> {
    connect::config(url).map(|_| ()).map_err(|e| match e {
        Error::Url(problem) => problem,
        other => other.to_string(),
    })
}

use super::health::{Degraded, Health, WriteFailure};
use super::writer::{Done, Job, Op, QUEUE_CAPACITY, WriteFault};
use super::{
    ConvNode, DbSize, Error, Exchange, Fingerprint, GroupBy, ListQuery, NewRequest, NewResponse,
    NewSession, Recorded, RequestDetail, RequestSummary, ResponseRow, Result, SessionExport,
    SessionKey, SessionMatch, SessionStats, SessionSummary, Statistics, StoredMessage, Transcript,
    UsageReport,
};

/// Why no connection could be had, in one line: the pool's words and each cause's (the
/// pool's own message leaves out that the connection was refused, or why).
fn describe(e: &deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::PoolError;
    let mut parts = match e {
        PoolError::Timeout(_) => vec!["no connection within the timeout".to_owned()],
        PoolError::Backend(e) => vec![e.to_string()],
        other => vec![other.to_string()],
    };
    let mut source = match e {
        PoolError::Backend(e) => std::error::Error::source(e),
        _ => None,
    };
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The longest one read may take before it counts as failed (a server that stopped
/// answering without closing the connection).
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `/health` waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Handle on the PostgreSQL store; cheap to clone. The writer task stops, after committing
/// what is queued, when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Postgres {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// `None` for a store opened read-only.
    sender: Option<mpsc::Sender<Job>>,
    /// The URL without its password, for `Debug` and messages.
    shown: String,
    schema_version: i64,
    commits: Arc<AtomicU64>,
    health: Arc<Health>,
    /// The responses every replica commits, for `GET /v1/events`.
    events: Arc<events::Events>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("url", &self.inner.shown)
            .field("schema_version", &self.inner.schema_version)
            .finish_non_exhaustive()
    }
}

/// Runs `$body` (an expression using `$tx`) in one read-only REPEATABLE READ transaction,
/// bounded by [`READ_TIMEOUT`]; a failure of the server opens the incident.
macro_rules! in_snapshot {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let read = async {
            let txn = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let $tx: &tokio_postgres::Transaction<'_> = &txn;
            let out = $body.await;
            // Nothing was written; ending the transaction only releases the snapshot.
            txn.rollback().await?;
            out
        };
        $self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }};
}

impl Postgres {
    /// Connects to `url`, and migrates the database when `migrate` (else refuses one whose
    /// schema is older than this qwenctl reads, and starts no writer).
    pub(crate) async fn connect(url: &str, migrate: bool) -> Result<Postgres> {
        let shown = redacted(url);
        let config = connect::config(url)?;
        let tls = connect::tls_for(&config)?;
        let pool = connect::pool(config.clone(), tls.clone())?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| Error::Unreachable(describe(&e)))?;
        let schema_version = if migrate {
            migrations::migrate(&mut client).await?
        } else {
            let found = migrations::version(&**client).await?;
            let needed = migrations::latest_version();
            if found < needed {
                return Err(Error::OldSchema { found, needed });
            }
            found
        };
        drop(client);
        let commits = Arc::new(AtomicU64::new(0));
        let health = Arc::new(Health::default());
        let sender = migrate.then(|| {
            let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
            let shared = writer::Shared {
                pool: pool.clone(),
                commits: Arc::clone(&commits),
                health: Arc::clone(&health),
            };
            // The task ends by itself once every sender is gone and the queue is drained.
            drop(writer::spawn(receiver, shared));
            sender
        });
        Ok(Postgres {
            inner: Arc::new(Inner {
                pool,
                sender,
                shown,
                schema_version,
                commits,
                health,
                events: Arc::new(events::Events::new(config, tls)),
            }),
        })
    }

    /// Every response any replica commits from now on (`GET /v1/events`), heard through
    /// PostgreSQL's `LISTEN`/`NOTIFY` on a connection of its own, opened at the first call.
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Recorded> {
        self.inner.events.subscribe()
    }

    /// A pooled connection for work outside the writer (`db copy`), or why there is none.
    pub(crate) async fn connection(&self) -> Result<deadpool_postgres::Object> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| Error::Unreachable(describe(&e)))
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub(crate) fn schema_version(&self) -> i64 {
        self.inner.schema_version
    }

    pub(crate) fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    pub(crate) fn degraded(&self) -> Option<Degraded> {
        self.inner.health.degraded()
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.inner.sender.is_none()
    }

    fn unreachable(&self) -> bool {
        self.degraded()
            .is_some_and(|d| d.reason == WriteFailure::Unreachable)
    }

    /// A pooled connection. While the server is known to be unreachable this fails at once
    /// (the writer checks every second whether it answers again), so a conversation lookup
    /// never waits out a connect timeout in front of an answer.
    async fn client(&self) -> Result<deadpool_postgres::Object> {
        if self.unreachable() {
            return Err(Error::Unreachable(
                "the database is unreachable (checked again every second)".to_owned(),
            ));
        }
        match self.inner.pool.get().await {
            Ok(client) => Ok(client),
            Err(e) => {
                let detail = describe(&e);
                self.inner
                    .health
                    .failed(WriteFailure::Unreachable, &detail, 0);
                Err(Error::Unreachable(detail))
            }
        }
    }

    /// A read's result; a failure of the server (or a read that did not finish in time)
    /// opens the incident, so `/health` and the writer learn of it at once.
    fn observe<T>(
        &self,
        outcome: std::result::Result<Result<T>, tokio::time::error::Elapsed>,
    ) -> Result<T> {
        let result = outcome.unwrap_or_else(|_| {
            Err(Error::Unreachable(format!(
                "the database did not answer within {} s",
                READ_TIMEOUT.as_secs()
            )))
        });
        match &result {
            Err(Error::Postgres(e)) => {
                if let Some(f) = failure::classify(e)
                    && f.reason == WriteFailure::Unreachable
                {
                    self.inner.health.failed(f.reason, &f.detail, 0);
                }
            }
            Err(Error::Unreachable(detail)) => {
                self.inner
                    .health
                    .failed(WriteFailure::Unreachable, detail, 0);
            }
            _ => {}
        }
        result
    }

    // --- Writes ------------------------------------------------------------------------------

    pub(crate) async fn inject_write_fault(&self, _fault: Option<WriteFault>) -> Result<()> {
        Err(Error::Unsupported(
            "write faults can only be injected into the SQLite store",
        ))
    }

    pub(crate) async fn create_session(&self, session: NewSession) -> Result<()> {
        self.enqueue(Op::CreateSession(session), None).await
    }

    pub(crate) async fn record_request(&self, request: NewRequest) -> Result<()> {
        self.enqueue(Op::RecordRequest(Box::new(request)), None)
            .await
    }

    pub(crate) async fn record_response(&self, response: NewResponse) -> Result<()> {
        self.write(Op::RecordResponse(Box::new(response)))
            .await
            .map(|_| ())
    }

    pub(crate) async fn remember(&self, node: ConvNode) -> Result<()> {
        self.enqueue(Op::Remember(node), None).await
    }

    pub(crate) async fn touch_node(&self, fingerprint: Fingerprint, at_ms: i64) -> Result<()> {
        self.enqueue(Op::TouchNode { fingerprint, at_ms }, None)
            .await
    }

    /// A cooldown is written at once on a connection of its own, not queued behind the
    /// exchanges: the other replicas should see it before they route their next turn.
    pub(crate) async fn record_cooldown(&self, account: &str, until_ms: i64) -> Result<()> {
        if self.is_read_only() {
            return Err(Error::ReadOnlyStore);
        }
        let client = self.client().await?;
        let write = async {
            client
                .execute(
                    "INSERT INTO account_cooldowns (account, until_ms, updated_at)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (account) DO UPDATE SET
                         until_ms = greatest(account_cooldowns.until_ms, excluded.until_ms),
                         updated_at = excluded.updated_at",
                    &[&account, &until_ms, &crate::time::unix_now_ms()],
                )
                .await?;
            Ok(())
        };
        self.observe(tokio::time::timeout(READ_TIMEOUT, write).await)
    }

    pub(crate) async fn cooldowns(&self) -> Result<Vec<(String, i64)>> {
        let client = self.client().await?;
        let read = async {
            let rows = client
                .query(
                    "SELECT account, until_ms FROM account_cooldowns WHERE until_ms > $1",
                    &[&crate::time::unix_now_ms()],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<Vec<_>>>()
        };
        self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }

    pub(crate) async fn delete_session(&self, id: &str) -> Result<bool> {
        match self.write(Op::DeleteSession { id: id.to_owned() }).await? {
            Done::Found(found) => Ok(found),
            _ => Ok(false),
        }
    }

    pub(crate) async fn withdraw_response(&self, id: &str) -> Result<bool> {
        let op = Op::WithdrawResponse {
            id: id.to_owned(),
            at_ms: crate::time::unix_now_ms(),
        };
        match self.write(op).await? {
            Done::Found(found) => Ok(found),
            _ => Ok(false),
        }
    }

    pub(crate) async fn prune(&self, older_than_ms: i64) -> Result<u64> {
        match self.write(Op::Prune { older_than_ms }).await? {
            Done::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    pub(crate) async fn flush(&self) -> Result<()> {
        self.write(Op::Flush).await.map(|_| ())
    }

    /// `VACUUM (ANALYZE)` on its own connection: PostgreSQL runs it beside the writes
    /// (autovacuum usually makes it unnecessary).
    pub(crate) async fn vacuum(&self) -> Result<()> {
        if self.is_read_only() {
            return Err(Error::ReadOnlyStore);
        }
        let client = self.client().await?;
        let result = client.batch_execute("VACUUM (ANALYZE)").await;
        self.observe(Ok(result.map_err(Error::from)))
    }

    async fn write(&self, op: Op) -> Result<Done> {
        let (ack, done) = oneshot::channel();
        self.enqueue(op, Some(ack)).await?;
        done.await.map_err(|_| Error::WriterGone)?
    }

    async fn enqueue(&self, op: Op, ack: Option<oneshot::Sender<Result<Done>>>) -> Result<()> {
        let sender = self.inner.sender.as_ref().ok_or(Error::ReadOnlyStore)?;
        sender
            .send(Job { op, ack })
            .await
            .map_err(|_| Error::WriterGone)
    }

    // --- Reads -------------------------------------------------------------------------------

    pub(crate) async fn lookup_prefix(
        &self,
        fingerprints: &[Fingerprint],
        owner: Option<&str>,
    ) -> Result<Option<ConvNode>> {
        let client = self.client().await?;
        let read = reads::lookup_prefix(&**client, fingerprints, owner);
        self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }

    pub(crate) async fn list_sessions(&self, q: &ListQuery) -> Result<Vec<SessionSummary>> {
        in_snapshot!(self, |tx| reads::list_sessions(tx, q))
    }

    pub(crate) async fn get_session(&self, id: &str) -> Result<Option<SessionSummary>> {
        in_snapshot!(self, |tx| reads::get_session(tx, id))
    }

    pub(crate) async fn session_stats(&self, id: &str) -> Result<Option<SessionStats>> {
        in_snapshot!(self, |tx| reads::session_stats(tx, id))
    }

    pub(crate) async fn session_ids(&self, q: &ListQuery) -> Result<Vec<String>> {
        in_snapshot!(self, |tx| reads::session_ids(tx, q))
    }

    pub(crate) async fn count_sessions(&self) -> Result<u64> {
        in_snapshot!(self, |tx| reads::count_sessions(tx))
    }

    pub(crate) async fn sessions_by_creation(
        &self,
        after: Option<SessionKey>,
        limit: u32,
    ) -> Result<Vec<SessionKey>> {
        in_snapshot!(self, |tx| reads::sessions_by_creation(
            tx,
            after.as_ref(),
            limit
        ))
    }

    pub(crate) async fn session_export(&self, id: &str) -> Result<Option<SessionExport>> {
        in_snapshot!(self, |tx| reads::session_export(tx, id))
    }

    pub(crate) async fn search_sessions(
        &self,
        text: &str,
        q: &ListQuery,
    ) -> Result<Vec<SessionMatch>> {
        in_snapshot!(self, |tx| reads::search_sessions(tx, text, q))
    }

    pub(crate) async fn exchange(&self, request_id: &str) -> Result<Option<Exchange>> {
        let client = self.client().await?;
        let read = reads::exchange(&**client, request_id);
        self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }

    pub(crate) async fn usage_report(
        &self,
        q: &ListQuery,
        by: Option<GroupBy>,
    ) -> Result<UsageReport> {
        in_snapshot!(self, |tx| reads::usage_report(tx, q, by))
    }

    pub(crate) async fn list_requests(&self, q: &ListQuery) -> Result<Vec<RequestSummary>> {
        in_snapshot!(self, |tx| reads::list_requests(tx, q))
    }

    pub(crate) async fn get_request(&self, id: &str) -> Result<Option<RequestDetail>> {
        in_snapshot!(self, |tx| reads::get_request(tx, id))
    }

    pub(crate) async fn list_responses(&self, q: &ListQuery) -> Result<Vec<ResponseRow>> {
        in_snapshot!(self, |tx| reads::list_responses(tx, q))
    }

    pub(crate) async fn get_response(&self, id: &str) -> Result<Option<ResponseRow>> {
        in_snapshot!(self, |tx| reads::get_response(tx, id))
    }

    pub(crate) async fn response_for_request(
        &self,
        request_id: &str,
    ) -> Result<Option<ResponseRow>> {
        in_snapshot!(self, |tx| reads::response_for_request(tx, request_id))
    }

    pub(crate) async fn response_stats(&self, q: &ListQuery) -> Result<Statistics> {
        in_snapshot!(self, |tx| reads::response_stats(tx, q))
    }

    pub(crate) async fn transcript(&self, session_id: &str) -> Result<Option<Transcript>> {
        in_snapshot!(self, |tx| reads::transcript(tx, session_id))
    }

    pub(crate) async fn conversation(
        &self,
        session_id: &str,
    ) -> Result<Option<Vec<StoredMessage>>> {
        in_snapshot!(self, |tx| reads::conversation(tx, session_id))
    }

    pub(crate) async fn usage_stats(
        &self,
        since_ms: Option<i64>,
        by: Option<GroupBy>,
    ) -> Result<UsageReport> {
        let q = ListQuery {
            since_ms,
            ..ListQuery::default()
        };
        in_snapshot!(self, |tx| reads::usage_report(tx, &q, by))
    }

    pub(crate) async fn active_sessions(&self, since_ms: i64) -> Result<u64> {
        let client = self.client().await?;
        let read = reads::active_sessions(&**client, since_ms);
        self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }

    /// `/health`'s check: the server answers a query now. It asks even while the server is
    /// known to be unreachable, and an answer ends that incident.
    pub(crate) async fn ping(&self) -> Result<()> {
        let check = async {
            let client = self
                .inner
                .pool
                .get()
                .await
                .map_err(|e| Error::Unreachable(describe(&e)))?;
            client.simple_query("SELECT 1").await?;
            Ok(())
        };
        let result = self.observe(tokio::time::timeout(PING_TIMEOUT, check).await);
        if result.is_ok() && self.unreachable() {
            self.inner.health.succeeded();
        }
        result
    }

    pub(crate) async fn integrity_check(&self) -> Result<String> {
        Err(Error::Unsupported(
            "an integrity check is for SQLite files; PostgreSQL checks its own pages \
             (see its amcheck extension)",
        ))
    }

    /// The database's size on disk (`pg_database_size`); PostgreSQL reuses free space
    /// itself, so none is reported as reclaimable.
    pub(crate) async fn size(&self) -> Result<DbSize> {
        let client = self.client().await?;
        let read = async {
            let row = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await?;
            Ok(DbSize {
                bytes: row.try_get(0)?,
                free_bytes: 0,
            })
        };
        self.observe(tokio::time::timeout(READ_TIMEOUT, read).await)
    }

    pub(crate) async fn backup(&self, _dest: &Path) -> Result<()> {
        Err(Error::Unsupported(
            "`db backup` copies an SQLite file; back a PostgreSQL database up with pg_dump",
        ))
    }
}
