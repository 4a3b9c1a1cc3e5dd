//! The SQLite store: the record of every exchange and the conversation index (design.md §5).
//!
//! One file in WAL mode, migrated by `PRAGMA user_version` (`migrations`). All writes go
//! through one writer thread fed by a bounded channel (`writer`), which commits them in
//! groups, so the async workers never wait on a disk sync and SQLite never sees two writers.
//! Reads use their own connections on blocking threads (`conn`, `queries`, `history`,
//! `stats`). The guarantee the proxy relies on: [`Store::record_response`] resolves only
//! after the transaction holding the response has committed, and because every write is an
//! ordinary WAL transaction, a killed process leaves a file that passes `integrity_check`.
//! When persistence is off the same code runs on a private in-memory database, so the
//! conversation index works without touching the disk.
//!
//! Every read names its indexes, so its plan holds whatever the planner statistics say
//! (`queries`, `planner`); a write the store cannot make (a full disk, a read-only file)
//! opens an incident that `/health` shows until a write succeeds (`health`); the commands
//! that only read open the file read-only, without a writer (`read_only`). See
//! `docs/STORE.md` for the schema, the guarantees and the measurements.

mod api;
mod checkpoint;
mod codec;
mod conn;
mod facade;
mod filter;
mod fts;
mod health;
mod history;
mod migrations;
mod params;
pub(crate) mod pg;
mod planner;
mod queries;
mod read_only;
mod search;
mod stats;
mod types;
mod views;
mod writer;
mod writes;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{broadcast, mpsc, oneshot};

pub use facade::Store;
pub use filter::{DEFAULT_LIMIT, GroupBy, ListQuery, MAX_LIMIT, parse_since_ms, parse_time_ms};
pub use health::{Degraded, WriteFailure};
pub use params::Params;
pub use pg::copy::{CopyReport, Progress as CopyProgress, TableCopy};
pub use search::{Segment, SessionMatch};
pub use types::{
    ConvNode, Fingerprint, NewRequest, NewResponse, NewSession, StoredMessage, StoredToolCall,
};
pub use views::{
    DbSize, Distribution, Exchange, RequestDetail, RequestSummary, ResponseRow, SessionExport,
    SessionKey, SessionStats, SessionSummary, Statistics, Transcript, Turn, UsageGroup,
    UsageReport,
};
#[doc(hidden)]
pub use writer::WriteFault;

use conn::{Location, Readers};
use writer::{Done, Job, Op};

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to the PostgreSQL server could be had (it is down, unreachable, or
    /// every connection stayed busy too long).
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    /// `DATABASE_URL` does not name a PostgreSQL database qwenctl can use.
    #[error("invalid DATABASE_URL: {0}")]
    Url(String),
    /// The PostgreSQL database has an older schema than this qwenctl reads, and this
    /// command may not migrate it.
    #[error(
        "the database has schema version {found}, older than this qwenctl's {needed}; run \
         `qwenctl db migrate` first"
    )]
    OldSchema { found: i64, needed: i64 },
    /// A maintenance call that only makes sense for an SQLite file.
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("cannot create the database directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the database writer has stopped")]
    WriterGone,
    /// A write through a store opened read-only ([`Store::open_read_only`]).
    #[error("the database was opened read-only")]
    ReadOnlyStore,
    /// The store cannot write at all (a full disk, a read-only file, an I/O error): the
    /// write was not committed, and `/health` says degraded until a write succeeds.
    #[error("the database cannot be written ({reason}): {detail}")]
    Unwritable {
        reason: WriteFailure,
        detail: String,
    },
    /// A database connection's lock was poisoned by a panic while it was in use.
    #[error("a database connection is unusable after an earlier failure")]
    Poisoned,
    /// A blocking database task panicked or was cancelled.
    #[error("a database task failed: {0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The SQLite store; cheap to clone. The writer thread stops, after committing what is
/// queued, when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` only while dropping, so the writer sees the channel close.
    sender: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    readers: Readers,
    location: Location,
    path: Option<PathBuf>,
    schema_version: i64,
    /// Transactions the writer has committed.
    commits: Arc<AtomicU64>,
    /// Whether the writer can write.
    health: Arc<health::Health>,
    /// Opened by [`Store::open_read_only`]: no writer at all.
    read_only: bool,
    /// Each response once it is committed, for whoever listens ([`Store::subscribe`]).
    recorded: broadcast::Sender<Recorded>,
    /// WAL checkpoints off the write path (file databases only). Declared last: it stops
    /// after the writer has committed what was queued.
    _checkpointer: Option<checkpoint::Checkpointer>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Close the channel, then wait for the writer to commit what is queued, so that a
        // command that drops its store before exiting loses nothing. The queue is short and
        // the thread needs nothing from the async runtime, so this cannot deadlock.
        self.sender.take();
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::error!("the store writer thread panicked");
        }
    }
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("location", &self.inner.location)
            .field("schema_version", &self.inner.schema_version)
            .finish_non_exhaustive()
    }
}

/// Responses announced to subscribers that have not read them yet; a subscriber further
/// behind than this misses the oldest and is told how many ([`Store::subscribe`]).
pub(crate) const RECORDED_BACKLOG: usize = 256;

/// A response the store has committed: what [`Store::subscribe`] hands out. Only ids, so
/// announcing one costs nothing much; a listener reads the exchange when it wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub request_id: String,
    pub response_id: String,
}

/// The WAL file of the database at `path` (`<path>-wal`).
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

impl Sqlite {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Sqlite> {
        Sqlite::open_with_restart_limit(path, checkpoint::RESTART_AFTER_PAGES)
    }

    /// [`Store::open`] with the WAL restarted past `restart_after` pages instead of the
    /// usual limit (for tests of the checkpoint thread).
    fn open_with_restart_limit(path: &Path, restart_after: i64) -> Result<Sqlite> {
        conn::create_parent(path)?;
        let location = Location::File(path.to_path_buf());
        Sqlite::start(location, Some(path.to_path_buf()), restart_after)
    }

    /// A private in-memory database, for `ENABLE_PERSISTENCE=false` and tests.
    pub fn open_in_memory() -> Result<Sqlite> {
        Sqlite::start(Location::memory(), None, checkpoint::RESTART_AFTER_PAGES)
    }

    fn start(location: Location, path: Option<PathBuf>, restart_after: i64) -> Result<Sqlite> {
        // The writer connection comes first: it sets WAL and migrates before any reader
        // looks, and for the in-memory case it is what keeps the database alive.
        let mut write_conn = location.open(true)?;
        let schema_version = migrations::migrate(&mut write_conn)?;
        // Before the readers open, so they load statistics that describe the file.
        let statistics = planner::Statistics::at_open(&write_conn);
        let commits = Arc::new(AtomicU64::new(0));
        let checkpointer = match &location {
            Location::File(file) => {
                write_conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                write_conn.pragma_update(
                    None,
                    "journal_size_limit",
                    checkpoint::JOURNAL_SIZE_LIMIT,
                )?;
                let conn = location.open(true)?;
                let watch = checkpoint::Watch {
                    commits: Arc::clone(&commits),
                    wal: wal_path(file),
                };
                Some(
                    checkpoint::Checkpointer::spawn(conn, restart_after, watch).map_err(
                        |source| Error::Io {
                            path: "the store checkpoint thread".to_owned(),
                            source,
                        },
                    )?,
                )
            }
            Location::Memory(_) | Location::ReadOnly { .. } => None,
        };
        let readers = Readers::open(&location)?;
        let (sender, receiver) = mpsc::channel(writer::QUEUE_CAPACITY);
        let health = Arc::new(health::Health::default());
        let shared = writer::Shared {
            commits: Arc::clone(&commits),
            health: Arc::clone(&health),
            statistics,
        };
        let handle = writer::spawn(write_conn, receiver, shared).map_err(|source| Error::Io {
            path: "the store writer thread".to_owned(),
            source,
        })?;
        Ok(Sqlite {
            inner: Arc::new(Inner {
                sender: Some(sender),
                writer: Some(handle),
                readers,
                location,
                path,
                schema_version,
                commits,
                health,
                read_only: false,
                recorded: broadcast::channel(RECORDED_BACKLOG).0,
                _checkpointer: checkpointer,
            }),
        })
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The schema version after migration (`PRAGMA user_version`).
    pub fn schema_version(&self) -> i64 {
        self.inner.schema_version
    }

    /// Write transactions committed since open; with [`Store::flush`] it shows how well
    /// writes are grouped (for metrics and tests).
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    /// The open write incident: the store could not write since `since_ms` (a full disk, a
    /// read-only file…) and no write has succeeded since. `None` while writes succeed.
    pub fn degraded(&self) -> Option<Degraded> {
        self.inner.health.degraded()
    }

    /// Makes every later write fail as on a full disk or a read-only file, or with `None`
    /// succeed again: for tests of the health reporting only.
    #[doc(hidden)]
    pub async fn inject_write_fault(&self, fault: Option<WriteFault>) -> Result<()> {
        self.write(Op::Fault(fault)).await.map(|_| ())
    }

    /// Records a new session. Queued; resolves once the writer has accepted it.
    pub async fn create_session(&self, session: NewSession) -> Result<()> {
        self.enqueue(Op::CreateSession(session), None).await
    }

    /// Records a request and its new messages. Queued.
    pub async fn record_request(&self, request: NewRequest) -> Result<()> {
        self.enqueue(Op::RecordRequest(Box::new(request)), None)
            .await
    }

    /// Records a response and resolves only after the transaction holding it has committed:
    /// the proxy awaits this before sending the last byte of an answer (design.md §5).
    /// Subscribers ([`Store::subscribe`]) hear of it once it is committed.
    pub async fn record_response(&self, response: NewResponse) -> Result<()> {
        // Nobody listening (the usual case): no ids are even copied.
        let announce = (self.inner.recorded.receiver_count() > 0).then(|| Recorded {
            request_id: response.request_id.clone(),
            response_id: response.id.clone(),
        });
        self.write(Op::RecordResponse(Box::new(response))).await?;
        if let Some(recorded) = announce {
            // A send fails only when the last subscriber left meanwhile.
            let _ = self.inner.recorded.send(recorded);
        }
        Ok(())
    }

    /// Every response committed from now on, as it is committed (`GET /v1/events`). A
    /// subscriber that falls more than a few hundred responses behind is not waited for: it
    /// misses the oldest and its next `recv` says how many (`RecvError::Lagged`), so a slow
    /// listener never slows the writes. Costs nothing while nobody subscribes.
    pub fn subscribe(&self) -> broadcast::Receiver<Recorded> {
        self.inner.recorded.subscribe()
    }

    /// Remembers (or replaces) a conversation node by fingerprint. Queued.
    pub async fn remember(&self, node: ConvNode) -> Result<()> {
        self.enqueue(Op::Remember(node), None).await
    }

    /// Marks a conversation node as used at `at_ms`. Queued.
    pub async fn touch_node(&self, fingerprint: Fingerprint, at_ms: i64) -> Result<()> {
        let op = Op::TouchNode { fingerprint, at_ms };
        self.enqueue(op, None).await
    }

    /// Deletes a session with its requests, responses and conversation nodes; messages that
    /// other sessions share stay. Resolves after the commit, with whether it existed.
    pub async fn delete_session(&self, id: &str) -> Result<bool> {
        match self.write(Op::DeleteSession { id: id.to_owned() }).await? {
            Done::Found(found) => Ok(found),
            _ => Ok(false),
        }
    }

    /// Withdraws a response from the Responses API (`DELETE /v1/responses/{id}`): it stays in
    /// the archive. Whether it was retrievable before.
    pub async fn withdraw_response(&self, id: &str) -> Result<bool> {
        let op = Op::WithdrawResponse {
            id: id.to_owned(),
            at_ms: crate::time::unix_now_ms(),
        };
        match self.write(op).await? {
            Done::Found(found) => Ok(found),
            _ => Ok(false),
        }
    }

    /// Removes sessions not updated since `older_than_ms` and session-less requests received
    /// before it, plus messages nothing refers to any more. Resolves after the commit with
    /// the number of sessions and requests removed.
    pub async fn prune(&self, older_than_ms: i64) -> Result<u64> {
        match self.write(Op::Prune { older_than_ms }).await? {
            Done::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// Waits until everything queued before this call has committed.
    pub async fn flush(&self) -> Result<()> {
        self.write(Op::Flush).await.map(|_| ())
    }

    /// Rebuilds the file to reclaim free pages (`VACUUM`), in order with the other writes.
    pub async fn vacuum(&self) -> Result<()> {
        self.write(Op::Vacuum).await.map(|_| ())
    }

    /// Whether the writer thread has ended (it only does when it panicked, while a
    /// handle exists); never for a read-only store, which has none.
    fn writer_stopped(&self) -> bool {
        !self.inner.read_only
            && self
                .inner
                .sender
                .as_ref()
                .is_none_or(mpsc::Sender::is_closed)
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// Queues `op` and waits for the commit that includes it.
    async fn write(&self, op: Op) -> Result<Done> {
        let (ack, done) = oneshot::channel();
        self.enqueue(op, Some(ack)).await?;
        done.await.map_err(|_| Error::WriterGone)?
    }

    async fn enqueue(&self, op: Op, ack: Option<oneshot::Sender<Result<Done>>>) -> Result<()> {
        if self.inner.read_only {
            return Err(Error::ReadOnlyStore);
        }
        let sender = self.inner.sender.as_ref().ok_or(Error::WriterGone)?;
        sender
            .send(Job { op, ack })
            .await
            .map_err(|_| Error::WriterGone)
    }

    /// Runs a read on a blocking thread with one of the read connections.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.readers.with(f))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }
}
