//! [`Store`]: the one store interface the rest of qwenctl uses, over either backend.
//!
//! SQLite ([`Sqlite`], the default, one file) and PostgreSQL ([`Postgres`], chosen by
//! `DATABASE_URL=postgres://…`, for several `serve` replicas sharing one record) keep the
//! same tables and make the same promises: a response resolves only once committed, writes
//! are grouped by one writer off the request path, migrations are append-only. Callers never
//! learn which one they hold, except through the few maintenance calls that only make sense
//! for a file (`backup`, `integrity_check`), which the PostgreSQL store refuses with an error
//! naming the tool to use instead. Each method is a plain dispatch; the work is in the
//! backends.

use std::path::Path;

use super::pg::Postgres;
use super::pg::copy::{CopyReport, Progress as CopyProgress};
use tokio::sync::broadcast;

use super::{
    ConvNode, DbSize, Degraded, Exchange, Fingerprint, GroupBy, ListQuery, NewRequest, NewResponse,
    NewSession, Recorded, RequestDetail, RequestSummary, ResponseRow, Result, SessionExport,
    SessionKey, SessionMatch, SessionStats, SessionSummary, Sqlite, Statistics, StoredMessage,
    Transcript, UsageReport, WriteFault,
};

/// Handle on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

/// Calls the same async method on whichever backend this store is.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(s) => s.$method($($arg),*).await,
            Backend::Postgres(p) => p.$method($($arg),*).await,
        }
    };
}

impl From<Sqlite> for Store {
    fn from(s: Sqlite) -> Store {
        Store {
            backend: Backend::Sqlite(s),
        }
    }
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the SQLite file at
    /// `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Sqlite::open(path).map(Store::from)
    }

    /// A private in-memory SQLite database, for `ENABLE_PERSISTENCE=false` and tests.
    pub fn open_in_memory() -> Result<Store> {
        Sqlite::open_in_memory().map(Store::from)
    }

    /// Opens the SQLite file at `path` for reading only (see `store::read_only`).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        Sqlite::open_read_only(path).map(Store::from)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`) and migrates it.
    /// Fails when it cannot be reached: a replica that starts without its database would
    /// answer without recording anything.
    pub async fn connect(url: &str) -> Result<Store> {
        Ok(Store {
            backend: Backend::Postgres(Postgres::connect(url, true).await?),
        })
    }

    /// Connects to the PostgreSQL database at `url` without migrating it, for the commands
    /// that only read; a database of an older schema is refused, since the reads need the
    /// current one (`qwenctl db migrate` upgrades it).
    pub async fn connect_read_only(url: &str) -> Result<Store> {
        Ok(Store {
            backend: Backend::Postgres(Postgres::connect(url, false).await?),
        })
    }

    /// The PostgreSQL backend, for `db copy` and the tests of what only it has.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn postgres(&self) -> Option<&Postgres> {
        match &self.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    /// Copies the SQLite file at `path` into this PostgreSQL store (`qwenctl db copy`),
    /// resuming where an earlier copy stopped, and checks that every row arrived.
    pub async fn copy_from_sqlite(
        &self,
        path: &Path,
        progress: &dyn CopyProgress,
    ) -> Result<CopyReport> {
        match &self.backend {
            Backend::Postgres(p) => super::pg::copy::from_sqlite(path, p, progress).await,
            Backend::Sqlite(_) => Err(super::Error::Unsupported(
                "a copy goes from an SQLite file into PostgreSQL",
            )),
        }
    }

    /// `sqlite` or `postgres`, for logs and `/health`.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database file, `None` for an in-memory or a PostgreSQL store.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(s) => s.path(),
            Backend::Postgres(_) => None,
        }
    }

    /// The schema version after migration.
    pub fn schema_version(&self) -> i64 {
        match &self.backend {
            Backend::Sqlite(s) => s.schema_version(),
            Backend::Postgres(p) => p.schema_version(),
        }
    }

    /// Write transactions committed since open; with [`Store::flush`] it shows how well
    /// writes are grouped (for metrics and tests).
    pub fn commits(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(s) => s.commits(),
            Backend::Postgres(p) => p.commits(),
        }
    }

    /// The open write incident: the store could not write since `since_ms` (a full disk, a
    /// read-only file, an unreachable server…) and no write has succeeded since. `None`
    /// while writes succeed.
    pub fn degraded(&self) -> Option<Degraded> {
        match &self.backend {
            Backend::Sqlite(s) => s.degraded(),
            Backend::Postgres(p) => p.degraded(),
        }
    }

    /// Whether the store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(s) => s.is_read_only(),
            Backend::Postgres(p) => p.is_read_only(),
        }
    }

    /// Makes every later write fail as on a full disk or a read-only file, or with `None`
    /// succeed again: for tests of the health reporting only.
    #[doc(hidden)]
    pub async fn inject_write_fault(&self, fault: Option<WriteFault>) -> Result<()> {
        dispatch!(self.inject_write_fault(fault))
    }

    /// Records a new session. Queued; resolves once the writer has accepted it.
    pub async fn create_session(&self, session: NewSession) -> Result<()> {
        dispatch!(self.create_session(session))
    }

    /// Records a request and its new messages. Queued.
    pub async fn record_request(&self, request: NewRequest) -> Result<()> {
        dispatch!(self.record_request(request))
    }

    /// Records a response and resolves only after the transaction holding it has committed:
    /// the proxy awaits this before sending the last byte of an answer (design.md §5).
    pub async fn record_response(&self, response: NewResponse) -> Result<()> {
        dispatch!(self.record_response(response))
    }

    /// Every response committed from now on, as it is committed (`GET /v1/events`); a
    /// subscriber that falls behind misses the oldest and is told how many. On PostgreSQL
    /// this includes the responses the other replicas commit.
    pub fn subscribe(&self) -> broadcast::Receiver<Recorded> {
        match &self.backend {
            Backend::Sqlite(s) => s.subscribe(),
            Backend::Postgres(p) => p.subscribe(),
        }
    }

    /// Remembers (or replaces) a conversation node by fingerprint. Queued.
    pub async fn remember(&self, node: ConvNode) -> Result<()> {
        dispatch!(self.remember(node))
    }

    /// Marks a conversation node as used at `at_ms`. Queued.
    pub async fn touch_node(&self, fingerprint: Fingerprint, at_ms: i64) -> Result<()> {
        dispatch!(self.touch_node(fingerprint, at_ms))
    }

    /// Records that `account` rests until `until_ms` (unix ms) after a rate limit, for the
    /// other replicas ([`Store::cooldowns`]). Only PostgreSQL shares anything: with SQLite
    /// one process holds every cooldown in memory, and this does nothing.
    pub async fn record_cooldown(&self, account: &str, until_ms: i64) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.record_cooldown(account, until_ms).await,
        }
    }

    /// The cooldowns still running that any replica recorded: `(account, until_ms)`.
    /// Always empty with SQLite.
    pub async fn cooldowns(&self) -> Result<Vec<(String, i64)>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(p) => p.cooldowns().await,
        }
    }

    /// Deletes a session with its requests, responses and conversation nodes; messages that
    /// other sessions share stay. Resolves after the commit, with whether it existed.
    pub async fn delete_session(&self, id: &str) -> Result<bool> {
        dispatch!(self.delete_session(id))
    }

    /// Withdraws a response from the Responses API (`DELETE /v1/responses/{id}`): it stays in
    /// the archive. Whether it was retrievable before.
    pub async fn withdraw_response(&self, id: &str) -> Result<bool> {
        dispatch!(self.withdraw_response(id))
    }

    /// Removes sessions not updated since `older_than_ms` and session-less requests received
    /// before it, plus messages nothing refers to any more. Resolves after the commit with
    /// the number of sessions and requests removed.
    pub async fn prune(&self, older_than_ms: i64) -> Result<u64> {
        dispatch!(self.prune(older_than_ms))
    }

    /// Waits until everything queued before this call has committed.
    pub async fn flush(&self) -> Result<()> {
        dispatch!(self.flush())
    }

    /// Reclaims free space (`VACUUM`), in order with the other writes.
    pub async fn vacuum(&self) -> Result<()> {
        dispatch!(self.vacuum())
    }

    /// Among `fingerprints`, the remembered node with the most messages (ties: the most
    /// recently used): the longest known prefix of a history (design.md §4), in sessions
    /// owned by the API key named `owner` (`None`: keyless sessions).
    pub async fn lookup_prefix(
        &self,
        fingerprints: &[Fingerprint],
        owner: Option<&str>,
    ) -> Result<Option<ConvNode>> {
        dispatch!(self.lookup_prefix(fingerprints, owner))
    }

    /// Sessions, most recently updated first.
    pub async fn list_sessions(&self, q: &ListQuery) -> Result<Vec<SessionSummary>> {
        dispatch!(self.list_sessions(q))
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionSummary>> {
        dispatch!(self.get_session(id))
    }

    /// Request counts, tokens and timings of one session; `None` when it does not exist.
    pub async fn session_stats(&self, id: &str) -> Result<Option<SessionStats>> {
        dispatch!(self.session_stats(id))
    }

    /// Sessions whose messages or answers contain every word of `text` (taken as words,
    /// never as query syntax), filtered and paged by `q`, newest first, each with a snippet
    /// of its newest match.
    pub async fn search_sessions(&self, text: &str, q: &ListQuery) -> Result<Vec<SessionMatch>> {
        dispatch!(self.search_sessions(text, q))
    }

    /// Ids of the sessions matching `q`, newest first: export walks these one at a time.
    pub async fn session_ids(&self, q: &ListQuery) -> Result<Vec<String>> {
        dispatch!(self.session_ids(q))
    }

    /// How many sessions there are.
    pub async fn count_sessions(&self) -> Result<u64> {
        dispatch!(self.count_sessions())
    }

    /// Up to `limit` sessions, newest first by creation, after `after` (the last key of the
    /// previous page): `sessions export --all` pages through these, one short read each.
    pub async fn sessions_by_creation(
        &self,
        after: Option<SessionKey>,
        limit: u32,
    ) -> Result<Vec<SessionKey>> {
        dispatch!(self.sessions_by_creation(after, limit))
    }

    /// A session's transcript and conversation, read together in one pass; `None` when it
    /// does not exist.
    pub async fn session_export(&self, id: &str) -> Result<Option<SessionExport>> {
        dispatch!(self.session_export(id))
    }

    /// Requests, newest first.
    pub async fn list_requests(&self, q: &ListQuery) -> Result<Vec<RequestSummary>> {
        dispatch!(self.list_requests(q))
    }

    /// A request with its response's figures (what `GET /v1/events` sends).
    pub async fn exchange(&self, request_id: &str) -> Result<Option<Exchange>> {
        dispatch!(self.exchange(request_id))
    }

    /// A request with its bodies and full message list.
    pub async fn get_request(&self, id: &str) -> Result<Option<RequestDetail>> {
        dispatch!(self.get_request(id))
    }

    /// Responses, newest first.
    pub async fn list_responses(&self, q: &ListQuery) -> Result<Vec<ResponseRow>> {
        dispatch!(self.list_responses(q))
    }

    pub async fn get_response(&self, id: &str) -> Result<Option<ResponseRow>> {
        dispatch!(self.get_response(id))
    }

    pub async fn response_for_request(&self, request_id: &str) -> Result<Option<ResponseRow>> {
        dispatch!(self.response_for_request(request_id))
    }

    /// Totals over the requests matching `q` (paging fields are ignored).
    pub async fn response_stats(&self, q: &ListQuery) -> Result<Statistics> {
        dispatch!(self.response_stats(q))
    }

    /// A session with its turns in order; `None` when it does not exist.
    pub async fn transcript(&self, session_id: &str) -> Result<Option<Transcript>> {
        dispatch!(self.transcript(session_id))
    }

    /// A session as one message list ending in its latest answer; `None` when it does not
    /// exist.
    pub async fn conversation(&self, session_id: &str) -> Result<Option<Vec<StoredMessage>>> {
        dispatch!(self.conversation(session_id))
    }

    /// Usage figures of the requests matching `q` (filters only; paging is ignored), in one
    /// `all` group or per model, day or hour.
    pub async fn usage_report(&self, q: &ListQuery, by: Option<GroupBy>) -> Result<UsageReport> {
        dispatch!(self.usage_report(q, by))
    }

    /// Usage figures since `since_ms`, in one `all` group or per model, day or hour.
    pub async fn usage_stats(
        &self,
        since_ms: Option<i64>,
        by: Option<GroupBy>,
    ) -> Result<UsageReport> {
        dispatch!(self.usage_stats(since_ms, by))
    }

    /// Sessions used (a request recorded) at or after `since_ms`: the `active_sessions`
    /// figure of `/health` and `/metrics`.
    pub async fn active_sessions(&self, since_ms: i64) -> Result<u64> {
        dispatch!(self.active_sessions(since_ms))
    }

    /// Cheap liveness check for `/health`: the writer is running and the database answers.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }

    /// `PRAGMA integrity_check` of an SQLite file: `ok`, or SQLite's findings.
    pub async fn integrity_check(&self) -> Result<String> {
        dispatch!(self.integrity_check())
    }

    /// How big the database is and how much of it is free space.
    pub async fn size(&self) -> Result<DbSize> {
        dispatch!(self.size())
    }

    /// Copies a consistent snapshot of an SQLite database to `dest` while the store stays
    /// in use.
    pub async fn backup(&self, dest: &Path) -> Result<()> {
        dispatch!(self.backup(dest))
    }
}
