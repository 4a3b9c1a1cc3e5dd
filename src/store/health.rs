//! Whether the store can write (issue 18, finding 10).
//!
//! Store failures never fail a chat, so without this a full disk went unnoticed: clients
//! got their answers, nothing was recorded and `/health` said `database: ok`. The writer
//! reports every write that failed for a reason outside the row itself — the disk is full,
//! the file or its directory is read-only, an I/O error, the file is locked by another
//! process beyond the busy timeout, or corrupt — and every commit that succeeded. A failure
//! opens an incident: the store is degraded, with its reason, until a write succeeds again.
//! Each failed write counts in `store_write_failures_total{reason}`, the `store_degraded`
//! gauge is 1 during an incident, and the log says so once when an incident starts (or its
//! reason changes) and once when it ends, never once per request.
//!
//! A failure of the row itself (a constraint, say) is not an incident: it is that row's
//! problem, logged with it, and the store goes on writing the others.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::ErrorCode;

/// Why the store cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteFailure {
    /// `SQLITE_FULL`: no space left on the device (or the file at its size limit).
    DiskFull,
    /// `SQLITE_READONLY`: the file, its directory or the file system is read-only.
    ReadOnly,
    /// `SQLITE_IOERR`: the operating system failed a read, write or sync.
    Io,
    /// `SQLITE_BUSY`/`SQLITE_LOCKED`: another process held the database beyond the busy
    /// timeout.
    Locked,
    /// `SQLITE_CORRUPT`/`SQLITE_NOTADB`: the file is damaged.
    Corrupt,
    /// `SQLITE_CANTOPEN`, `SQLITE_NOMEM`, `SQLITE_PERM`: anything else outside the row.
    Other,
    /// The PostgreSQL server cannot be reached (down, restarting, the network): nothing can
    /// be written until it answers again.
    Unreachable,
}

impl WriteFailure {
    /// The reason as `/health` and the log give it.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteFailure::DiskFull => "disk full",
            WriteFailure::ReadOnly => "read-only",
            WriteFailure::Io => "I/O error",
            WriteFailure::Locked => "locked",
            WriteFailure::Corrupt => "corrupt",
            WriteFailure::Other => "cannot write",
            WriteFailure::Unreachable => "unreachable",
        }
    }

    /// The `reason` label of `store_write_failures_total`.
    pub fn label(self) -> &'static str {
        match self {
            WriteFailure::DiskFull => "disk_full",
            WriteFailure::ReadOnly => "read_only",
            WriteFailure::Io => "io",
            WriteFailure::Locked => "locked",
            WriteFailure::Corrupt => "corrupt",
            WriteFailure::Other => "other",
            WriteFailure::Unreachable => "unreachable",
        }
    }

    /// The failure behind `e`, or `None` when `e` is about the row itself (a constraint, a
    /// type mismatch) or not SQLite's.
    pub(crate) fn of(e: &rusqlite::Error) -> Option<WriteFailure> {
        match e.sqlite_error_code()? {
            ErrorCode::DiskFull => Some(WriteFailure::DiskFull),
            ErrorCode::ReadOnly => Some(WriteFailure::ReadOnly),
            ErrorCode::SystemIoFailure => Some(WriteFailure::Io),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(WriteFailure::Locked),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Some(WriteFailure::Corrupt),
            ErrorCode::CannotOpen
            | ErrorCode::OutOfMemory
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed => Some(WriteFailure::Other),
            _ => None,
        }
    }
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts an exchange whose response could not be recorded in
/// `store_unrecorded_exchanges_total{reason}` (a [`WriteFailure`] label, or `rejected` when
/// the row itself was refused, as a response whose request was lost is): of the writes
/// lost, these are the ones a user would look for.
pub(crate) fn exchange_lost(reason: &'static str) {
    metrics::counter!("store_unrecorded_exchanges_total", "reason" => reason).increment(1);
}

/// A running incident, as `/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    pub reason: WriteFailure,
    /// SQLite's message for the latest failure.
    pub detail: String,
    /// Unix ms of the first failure.
    pub since_ms: i64,
    /// Writes lost since.
    pub failures: u64,
}

/// What a report changed, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing worth a line: the incident goes on, or all was well and stays so.
    None,
    /// An incident started, or its reason changed.
    Started,
    /// The incident is over.
    Ended,
}

/// The store's write health, shared by the writer (which reports) and the handles (which
/// read it).
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Whether an incident is open; lets the writer skip the lock on every commit.
    degraded: AtomicBool,
    incident: Mutex<Option<Degraded>>,
}

impl Health {
    /// Records `writes` writes lost to `reason` (with SQLite's message), counts them and
    /// logs the start of an incident.
    pub(crate) fn failed(&self, reason: WriteFailure, detail: &str, writes: usize) -> Change {
        let writes = u64::try_from(writes).unwrap_or(u64::MAX);
        metrics::counter!("store_write_failures_total", "reason" => reason.label())
            .increment(writes);
        metrics::gauge!("store_degraded").set(1.0);
        let change = {
            let Ok(mut incident) = self.incident.lock() else {
                return Change::None;
            };
            let change = match incident.as_ref() {
                Some(open) if open.reason == reason => Change::None,
                _ => Change::Started,
            };
            let open = incident.get_or_insert_with(|| Degraded {
                reason,
                detail: String::new(),
                since_ms: crate::time::unix_now_ms(),
                failures: 0,
            });
            open.reason = reason;
            detail.clone_into(&mut open.detail);
            open.failures = open.failures.saturating_add(writes);
            self.degraded.store(true, Ordering::Release);
            change
        };
        if change == Change::Started {
            tracing::error!(
                reason = reason.as_str(),
                error = detail,
                "the database cannot be written ({reason}): exchanges are answered but not \
                 recorded until it can; /health says degraded meanwhile (logged once)"
            );
        }
        change
    }

    /// Records a committed write, which ends an incident.
    pub(crate) fn succeeded(&self) -> Change {
        if !self.degraded.load(Ordering::Acquire) {
            return Change::None;
        }
        let Ok(mut incident) = self.incident.lock() else {
            return Change::None;
        };
        self.degraded.store(false, Ordering::Release);
        metrics::gauge!("store_degraded").set(0.0);
        match incident.take() {
            Some(over) => {
                let secs = crate::time::unix_now_ms().saturating_sub(over.since_ms) / 1000;
                tracing::warn!(
                    reason = over.reason.as_str(),
                    lost = over.failures,
                    "the database is written again after {secs} s ({}); {} writes were lost",
                    over.reason,
                    over.failures
                );
                Change::Ended
            }
            None => Change::None,
        }
    }

    /// The open incident, if any.
    pub(crate) fn degraded(&self) -> Option<Degraded> {
        if !self.degraded.load(Ordering::Acquire) {
            return None;
        }
        self.incident.lock().ok()?.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn failures_outside_the_row_are_told_apart() {
        use rusqlite::ffi;
        let of = |code| WriteFailure::of(&error(code));
        assert_eq!(of(ffi::SQLITE_FULL), Some(WriteFailure::DiskFull));
        assert_eq!(of(ffi::SQLITE_READONLY), Some(WriteFailure::ReadOnly));
        assert_eq!(of(ffi::SQLITE_IOERR_WRITE), Some(WriteFailure::Io));
        assert_eq!(of(ffi::SQLITE_IOERR_FSYNC), Some(WriteFailure::Io));
        assert_eq!(of(ffi::SQLITE_BUSY), Some(WriteFailure::Locked));
        assert_eq!(of(ffi::SQLITE_CORRUPT), Some(WriteFailure::Corrupt));
        assert_eq!(of(ffi::SQLITE_CONSTRAINT_UNIQUE), None);
        assert_eq!(of(ffi::SQLITE_MISMATCH), None);
        assert_eq!(
            WriteFailure::of(&rusqlite::Error::QueryReturnedNoRows),
            None
        );
    }

    /// One line when an incident starts, none while it goes on, one when it ends.
    #[test]
    fn an_incident_is_logged_once_and_ends_with_a_write() {
        let health = Health::default();
        assert_eq!(health.succeeded(), Change::None);
        assert_eq!(health.degraded(), None);
        let full = WriteFailure::DiskFull;
        assert_eq!(
            health.failed(full, "database or disk is full", 2),
            Change::Started
        );
        assert_eq!(
            health.failed(full, "database or disk is full", 1),
            Change::None
        );
        let open = health.degraded().unwrap();
        assert_eq!((open.reason, open.failures), (full, 3));
        assert_eq!(
            health.failed(WriteFailure::Io, "disk I/O error", 1),
            Change::Started
        );
        assert_eq!(health.degraded().unwrap().failures, 4);
        assert_eq!(health.succeeded(), Change::Ended);
        assert_eq!(health.degraded(), None);
        assert_eq!(health.succeeded(), Change::None);
        assert_eq!(health.failed(full, "again", 1), Change::Started);
    }
}
