//! Opening the store for the commands that only read (`sessions list|show|export`, `stats`,
//! `db backup`): `SQLITE_OPEN_READ_ONLY`, no writer, no migration, no checkpoints, so they
//! work on a file nobody may write (a backup being inspected, `chmod 444`, a read-only
//! mount) and never change the file they read, with one exception: `sessions search`
//! first indexes rows the writer has not reached yet, when the file can be written (`fts`).
//!
//! - A missing file reads as an empty archive; nothing is created.
//! - In a read-only directory without a `-shm` beside the file, SQLite cannot set up the WAL
//!   index a WAL database is read through; when no WAL lies beside it either, nothing can
//!   be writing it, and it is read as immutable (`immutable=1`). A WAL without its index in
//!   a read-only directory cannot be read at all: the error says to copy both files.
//! - A file written by an older qwenctl (a lower `user_version`) is read through an
//!   upgraded copy in memory (SQLite's online backup, then the migrations), since the
//!   reads need the current schema; the file itself is upgraded by the first command that
//!   writes (`serve`, `chat`, `sessions delete`, `db vacuum|prune`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode};

use super::conn::{Location, Readers};
use super::{Error, Inner, Result, Sqlite, checkpoint, health, migrations};

impl Sqlite {
    /// Opens the database at `path` for reading only (see the module documentation).
    pub fn open_read_only(path: &Path) -> Result<Sqlite> {
        if !path.exists() {
            tracing::debug!(path = %path.display(), "no database yet: an empty archive");
            return Sqlite::open_in_memory();
        }
        let (location, conn, version) = probe(path)?;
        if version < migrations::latest_version() {
            tracing::info!(
                "{} has schema version {version}, older than this qwenctl's {}: reading an \
                 upgraded copy in memory (the first command that writes upgrades the file)",
                path.display(),
                migrations::latest_version()
            );
            return upgraded_copy(&conn);
        }
        drop(conn);
        let readers = Readers::open(&location)?;
        Ok(Sqlite {
            inner: Arc::new(Inner {
                sender: None,
                writer: None,
                readers,
                location,
                path: Some(path.to_path_buf()),
                schema_version: version,
                commits: Arc::new(AtomicU64::new(0)),
                health: Arc::new(health::Health::default()),
                read_only: true,
                recorded: tokio::sync::broadcast::channel(1).0,
                _checkpointer: None,
            }),
        })
    }
}

/// Opens `path` read-only and reads its schema version, as immutable when the WAL index
/// cannot be set up and no WAL lies beside the file.
fn probe(path: &Path) -> Result<(Location, Connection, i64)> {
    let plain = Location::ReadOnly {
        path: path.to_path_buf(),
        immutable: false,
    };
    // SQLite says CANTOPEN, or READONLY_DIRECTORY when it may read the file but not
    // create the WAL index beside it.
    let cannot_open = match open_and_read(&plain) {
        Ok((conn, version)) => return Ok((plain, conn, version)),
        Err(Error::Sqlite(e))
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
            ) =>
        {
            e
        }
        Err(e) => return Err(e),
    };
    let wal = super::wal_path(path);
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    if wal_len > 0 {
        return Err(Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(format!(
                "{cannot_open}: its WAL ({}) holds changes SQLite cannot read without the \
                 `-shm` index it cannot create in this read-only directory; copy both files \
                 somewhere writable and read the copy",
                wal.display()
            )),
        });
    }
    let immutable = Location::ReadOnly {
        path: path.to_path_buf(),
        immutable: true,
    };
    let (conn, version) = open_and_read(&immutable)?;
    tracing::debug!(path = %path.display(), "read-only directory: reading the file as immutable");
    Ok((immutable, conn, version))
}

/// A connection to `location` and the schema version, read (SQLite opens lazily: reading
/// is what finds out whether the file can be read).
fn open_and_read(location: &Location) -> Result<(Connection, i64)> {
    let conn = location.open(false)?;
    let version = conn.query_row("SELECT user_version FROM pragma_user_version", [], |r| {
        r.get(0)
    })?;
    // The schema itself, so a file that is not a database fails here, not in a read.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok((conn, version))
}

/// A private in-memory copy of `source`, migrated to the current schema.
fn upgraded_copy(source: &Connection) -> Result<Sqlite> {
    let location = Location::memory();
    // Holds the in-memory database open until the store's own connections have it.
    let mut copy = location.open(true)?;
    {
        let backup = Backup::new(source, &mut copy)?;
        // Every page in one step reads one snapshot; busy (a writer checkpointing) is
        // waited out briefly.
        let mut waits = 0;
        while backup.step(-1)? != StepResult::Done {
            waits += 1;
            if waits > 250 {
                return Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed busy while it was copied".to_owned()),
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Sqlite::start(location, None, checkpoint::RESTART_AFTER_PAGES)
}
