//! The read half of [`Store`]'s API: async wrappers that run the queries of `queries`,
//! `history` and `stats` on a blocking thread, plus backup and the integrity check.
//!
//! Every method clones its arguments into the blocking task, so no borrow and no lock lives
//! across an `.await`.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::{
    ConvNode, DbSize, Error, Exchange, Fingerprint, GroupBy, ListQuery, Op, RequestDetail,
    RequestSummary, ResponseRow, Result, SessionExport, SessionKey, SessionMatch, SessionStats,
    SessionSummary, Sqlite, Statistics, StoredMessage, Transcript, UsageReport, conn, fts, history,
    queries, search, stats,
};

/// How long a backup keeps retrying while the writer holds the database.
const BACKUP_PATIENCE: Duration = Duration::from_secs(30);

impl Sqlite {
    /// Among `fingerprints`, the remembered node with the most messages (ties: the most
    /// recently used): the longest known prefix of a history (design.md §4). Only sessions
    /// owned by the API key named `owner` count (`None`: keyless sessions), so one key never
    /// continues, and never lands its requests in, another key's conversation.
    pub async fn lookup_prefix(
        &self,
        fingerprints: &[Fingerprint],
        owner: Option<&str>,
    ) -> Result<Option<ConvNode>> {
        let fingerprints = fingerprints.to_vec();
        let owner = owner.map(str::to_owned);
        self.read(move |c| queries::lookup_prefix(c, &fingerprints, owner.as_deref()))
            .await
    }

    /// Sessions, most recently updated first.
    pub async fn list_sessions(&self, q: &ListQuery) -> Result<Vec<SessionSummary>> {
        let q = q.clone();
        self.read(move |c| queries::list_sessions(c, &q)).await
    }

    pub async fn get_session(&self, id: &str) -> Result<Option<SessionSummary>> {
        let id = id.to_owned();
        self.read(move |c| queries::get_session(c, &id)).await
    }

    /// Request counts, tokens and timings of one session; `None` when it does not exist.
    pub async fn session_stats(&self, id: &str) -> Result<Option<SessionStats>> {
        let id = id.to_owned();
        self.read(move |c| stats::session_stats(c, &id)).await
    }

    /// Sessions whose messages or answers contain every word of `text` (taken as words,
    /// never as query syntax), filtered and paged by `q`, newest first, each with a snippet
    /// of its newest match.
    pub async fn search_sessions(&self, text: &str, q: &ListQuery) -> Result<Vec<SessionMatch>> {
        // The writer indexes new rows when idle; what it has not reached yet is indexed
        // first, so a search sees every exchange recorded before it (see `fts`).
        let caught_up = if self.inner.read_only {
            match &self.inner.location {
                conn::Location::ReadOnly {
                    path,
                    immutable: false,
                } => {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || fts::catch_up_file(&path))
                        .await
                        .map_err(|e| Error::Task(e.to_string()))
                        .and_then(|r| r.map_err(Error::from))
                }
                // Nothing can be writing it: what is indexed is all there is.
                _ => Ok(()),
            }
        } else {
            self.write(Op::Index).await.map(|_| ())
        };
        if let Err(e) = caught_up {
            tracing::debug!(error = %e, "search: the index could not be brought up to date");
        }
        let text = text.to_owned();
        let q = q.clone();
        self.read(move |c| search::search_sessions(c, &text, &q))
            .await
    }

    /// Ids of the sessions matching `q`, newest first: export walks these one at a time.
    pub async fn session_ids(&self, q: &ListQuery) -> Result<Vec<String>> {
        let q = q.clone();
        self.read(move |c| queries::session_ids(c, &q)).await
    }

    /// How many sessions there are.
    pub async fn count_sessions(&self) -> Result<u64> {
        self.read(queries::count_sessions).await
    }

    /// Up to `limit` sessions, newest first by creation, after `after` (the last key of the
    /// previous page): `sessions export --all` pages through these, one short read each.
    pub async fn sessions_by_creation(
        &self,
        after: Option<SessionKey>,
        limit: u32,
    ) -> Result<Vec<SessionKey>> {
        self.read(move |c| queries::sessions_by_creation(c, after.as_ref(), limit))
            .await
    }

    /// A session's transcript and conversation, read together in one pass (one read
    /// transaction, a few queries whatever its length); `None` when it does not exist.
    pub async fn session_export(&self, id: &str) -> Result<Option<SessionExport>> {
        let id = id.to_owned();
        self.read(move |c| history::session_export(c, &id)).await
    }

    /// Requests, newest first.
    pub async fn list_requests(&self, q: &ListQuery) -> Result<Vec<RequestSummary>> {
        let q = q.clone();
        self.read(move |c| queries::list_requests(c, &q)).await
    }

    /// A request with its response's figures (what `GET /v1/events` sends).
    pub async fn exchange(&self, request_id: &str) -> Result<Option<Exchange>> {
        let id = request_id.to_owned();
        self.read(move |c| queries::exchange(c, &id)).await
    }

    /// A request with its bodies and full message list.
    pub async fn get_request(&self, id: &str) -> Result<Option<RequestDetail>> {
        let id = id.to_owned();
        self.read(move |c| history::get_request(c, &id)).await
    }

    /// Responses, newest first.
    pub async fn list_responses(&self, q: &ListQuery) -> Result<Vec<ResponseRow>> {
        let q = q.clone();
        self.read(move |c| queries::list_responses(c, &q)).await
    }

    pub async fn get_response(&self, id: &str) -> Result<Option<ResponseRow>> {
        let id = id.to_owned();
        self.read(move |c| queries::get_response(c, &id)).await
    }

    pub async fn response_for_request(&self, request_id: &str) -> Result<Option<ResponseRow>> {
        let id = request_id.to_owned();
        self.read(move |c| queries::response_for_request(c, &id))
            .await
    }

    /// Totals over the requests matching `q` (paging fields are ignored).
    pub async fn response_stats(&self, q: &ListQuery) -> Result<Statistics> {
        let q = q.clone();
        self.read(move |c| stats::response_stats(c, &q)).await
    }

    /// A session with its turns in order; `None` when it does not exist.
    pub async fn transcript(&self, session_id: &str) -> Result<Option<Transcript>> {
        let id = session_id.to_owned();
        self.read(move |c| history::transcript(c, &id)).await
    }

    /// A session as one message list ending in its latest answer; `None` when it does not
    /// exist.
    pub async fn conversation(&self, session_id: &str) -> Result<Option<Vec<StoredMessage>>> {
        let id = session_id.to_owned();
        self.read(move |c| history::conversation(c, &id)).await
    }

    /// Usage figures of the requests matching `q` (filters only; paging is ignored), in one
    /// `all` group or per model, day or hour.
    pub async fn usage_report(&self, q: &ListQuery, by: Option<GroupBy>) -> Result<UsageReport> {
        let q = q.clone();
        self.read(move |c| stats::usage_report(c, &q, by)).await
    }

    /// Usage figures since `since_ms`, in one `all` group or per model, day or hour.
    pub async fn usage_stats(
        &self,
        since_ms: Option<i64>,
        by: Option<GroupBy>,
    ) -> Result<UsageReport> {
        self.read(move |c| stats::usage_stats(c, since_ms, by))
            .await
    }

    /// Sessions used (a request recorded) at or after `since_ms`: the `active_sessions`
    /// figure of `/health` and `/metrics`, from the `sessions_updated` index.
    pub async fn active_sessions(&self, since_ms: i64) -> Result<u64> {
        self.read(move |c| {
            let n: i64 = c.query_row(
                &format!(
                    "SELECT count(*) FROM sessions INDEXED BY {} WHERE updated_at >= ?1",
                    queries::index::SESSIONS_UPDATED
                ),
                [since_ms],
                |row| row.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Cheap liveness check for `/health`: the writer is running and a read connection
    /// answers.
    pub async fn ping(&self) -> Result<()> {
        if self.writer_stopped() {
            return Err(super::Error::WriterGone);
        }
        self.read(|c| Ok(c.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }

    /// `PRAGMA integrity_check`: `ok`, or SQLite's findings one per line.
    pub async fn integrity_check(&self) -> Result<String> {
        self.read(|c| {
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            let lines = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(lines.join("\n"))
        })
        .await
    }

    /// How big the database is and how much of it is free pages (what `VACUUM` gives back),
    /// counting what the WAL holds that is not yet in the main file.
    pub async fn size(&self) -> Result<DbSize> {
        self.read(|c| {
            let pragma = |name: &str| -> rusqlite::Result<i64> {
                c.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            };
            let page_size = pragma("page_size")?;
            Ok(DbSize {
                bytes: pragma("page_count")? * page_size,
                free_bytes: pragma("freelist_count")? * page_size,
            })
        })
        .await
    }

    /// Copies a consistent snapshot of the database to `dest` (replacing what is there)
    /// with SQLite's online backup, while the store stays in use.
    pub async fn backup(&self, dest: &Path) -> Result<()> {
        conn::create_parent(dest)?;
        let dest = dest.to_path_buf();
        self.read(move |c| backup_to(c, &dest)).await
    }
}

fn backup_to(source: &Connection, dest: &Path) -> Result<()> {
    let mut target = Connection::open(dest)?;
    let backup = Backup::new(source, &mut target)?;
    let deadline = Instant::now() + BACKUP_PATIENCE;
    // All pages in one step: a step-wise copy restarts whenever the writer commits, which a
    // busy proxy does constantly; one step reads a single snapshot.
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed busy during the backup".to_owned()),
                )
                .into());
            }
            // `StepResult` is non-exhaustive; treat anything new as "keep going".
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
