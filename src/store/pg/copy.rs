//! `qwenctl db copy`: an SQLite file into a PostgreSQL database, row by row.
//!
//! The tables are copied parent first (sessions, requests with their messages, responses,
//! conversation nodes), each in the order of its SQLite `rowid` (nodes by fingerprint), in
//! batches of [`BATCH`] rows per transaction. A row whose id the target already has is
//! skipped, so a copy that was interrupted (or repeated) resumes where it stopped and never
//! duplicates anything; a request's messages are written in the transaction that inserts
//! the request, so they are there exactly when it is; so are its shared parameters (a file
//! of migration 0009 or later). Messages and shared parameters are interned into the
//! target's own rows, which may already hold some (a replica has been serving into it). At the end every source row's id is looked up in the target: the copy is
//! complete when all are there. The file is only read.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio_postgres::types::ToSql;

use super::{Postgres, writes};
use crate::store::codec::decode_calls;
use crate::store::{Error, Result, StoredMessage};

/// Rows per transaction.
const BATCH: usize = 500;
/// The oldest SQLite schema whose columns the copy reads (migration 0005).
const MIN_SQLITE_VERSION: i64 = 5;

/// What a copy did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows in the SQLite file.
    pub source: u64,
    /// Rows this run inserted (the rest were there already).
    pub copied: u64,
    /// Source rows the target holds after the copy (by id).
    pub present: u64,
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableCopy>,
}

impl CopyReport {
    /// Whether the target holds every row of the file.
    pub fn complete(&self) -> bool {
        self.tables.iter().all(|t| t.present == t.source)
    }
}

/// How far a copy is: rows handled of `total`.
pub trait Progress: Sync {
    fn start(&self, total: u64);
    fn advance(&self, rows: u64);
}

/// The SQLite file, read on blocking threads.
#[derive(Clone)]
struct Source(Arc<Mutex<Connection>>);

impl Source {
    fn open(path: &Path) -> Result<Source> {
        if !path.exists() {
            return Err(Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < MIN_SQLITE_VERSION {
            return Err(Error::OldSchema {
                found: version,
                needed: MIN_SQLITE_VERSION,
            });
        }
        Ok(Source(Arc::new(Mutex::new(conn))))
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| Error::Poisoned)?;
            f(&conn).map_err(Error::from)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Whether the file has `table` (a table a later migration added).
    async fn has_table(&self, table: &'static str) -> Result<bool> {
        self.read(move |c| {
            c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| n > 0)
    }

    /// Whether the file's `table` has `column` (a column a later migration added).
    async fn has_column(&self, table: &'static str, column: &'static str) -> Result<bool> {
        self.read(move |c| {
            c.query_row(
                "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                [table, column],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .map(|n| n > 0)
    }

    async fn count(&self, table: &'static str) -> Result<u64> {
        self.read(move |c| {
            c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .map(|n| u64::try_from(n).unwrap_or(0))
    }
}

/// A row read from the file: where it stands, its id, its columns as the target's
/// parameters, and (a request's) messages and shared parameters.
struct Row {
    key: Key,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
    messages: Vec<StoredMessage>,
    /// `(name, content_hash, content)` of each shared parameter (migration 0009).
    shared: Vec<(String, i64, String)>,
}

/// Where a row stands in its table's copy order, and so where the next batch starts.
#[derive(Clone)]
enum Key {
    Rowid(i64),
    Fingerprint(Vec<u8>),
}

/// An id as the target is checked by.
enum Id {
    Text(String),
    Bytes(Vec<u8>),
}

/// One table's copy: how its rows are read and inserted.
struct Table {
    name: &'static str,
    /// Columns read from SQLite and written to PostgreSQL, in this order; the first is the
    /// row's id.
    columns: &'static [&'static str],
    /// Columns later SQLite migrations added (0006: `account`), copied when the file has
    /// them.
    later: &'static [&'static str],
}

const SESSIONS: Table = Table {
    name: "sessions",
    columns: &[
        "id",
        "chat_id",
        "model",
        "title",
        "source",
        "api_key_id",
        "created_at",
        "updated_at",
    ],
    later: &["account"],
};

const REQUESTS: Table = Table {
    name: "requests",
    columns: &[
        "id",
        "session_id",
        "endpoint",
        "model",
        "stream",
        "api_key_id",
        "prior_request_id",
        "message_count",
        "params",
        "upstream_request",
        "chat_id",
        "parent_id",
        "received_at",
        "client_request_id",
    ],
    later: &["account"],
};

const RESPONSES: Table = Table {
    name: "responses",
    columns: &[
        "id",
        "request_id",
        "session_id",
        "response_id",
        "status",
        "error_kind",
        "error_message",
        "content",
        "reasoning",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "total_tokens",
        "upstream_first_byte_ms",
        "first_token_ms",
        "duration_ms",
        "created_at",
        "tool_calls",
        "upstream_turns",
        "withdrawn_at",
    ],
    later: &[],
};

const NODES: Table = Table {
    name: "conversation_nodes",
    columns: &[
        "fingerprint",
        "session_id",
        "chat_id",
        "response_id",
        "model",
        "request_id",
        "message_count",
        "last_used_at",
    ],
    later: &[],
};

/// Parents before children, so every foreign key finds its row.
const TABLES: [&Table; 4] = [&SESSIONS, &REQUESTS, &RESPONSES, &NODES];

/// A value of an SQLite column as the target's parameter: integers, text and blobs as
/// they are, `requests.stream` as a boolean, a NULL typed as its column.
fn value(table: &str, column: &str, v: rusqlite::types::Value) -> Box<dyn ToSql + Sync + Send> {
    use rusqlite::types::Value;
    let integer = column.ends_with("_at")
        || column.ends_with("_ms")
        || column.ends_with("_tokens")
        || column == "message_count";
    match v {
        Value::Null if integer => Box::new(None::<i64>),
        Value::Null => Box::new(None::<String>),
        Value::Integer(n) if table == "requests" && column == "stream" => Box::new(n != 0),
        Value::Integer(n) => Box::new(n),
        // SQLite keeps whatever it was given; qwenctl only ever wrote integers here.
        Value::Real(f) => Box::new(f as i64),
        Value::Text(s) => Box::new(s),
        Value::Blob(b) => Box::new(b),
    }
}

impl Table {
    fn without_rowid(&self) -> bool {
        self.name == "conversation_nodes"
    }

    fn first_key(&self) -> Key {
        if self.without_rowid() {
            Key::Fingerprint(Vec::new())
        } else {
            Key::Rowid(i64::MIN)
        }
    }

    /// The next batch after `after`, with each request's messages and, when the file has
    /// them (`shared`), its shared parameters.
    async fn batch(
        &'static self,
        source: &Source,
        cols: Vec<&'static str>,
        after: Key,
        shared: bool,
    ) -> Result<Vec<Row>> {
        let table = self;
        source
            .read(move |c| {
                let list = cols.join(", ");
                let name = table.name;
                let (sql, key) = match &after {
                    Key::Rowid(rowid) => (
                        format!(
                            "SELECT rowid, {list} FROM {name} WHERE rowid > ?1 ORDER BY rowid \
                             LIMIT ?2"
                        ),
                        rusqlite::types::Value::Integer(*rowid),
                    ),
                    Key::Fingerprint(fp) => (
                        format!(
                            "SELECT fingerprint, {list} FROM {name} WHERE fingerprint > ?1 \
                             ORDER BY fingerprint LIMIT ?2"
                        ),
                        rusqlite::types::Value::Blob(fp.clone()),
                    ),
                };
                let limit = i64::try_from(BATCH).unwrap_or(i64::MAX);
                let mut stmt = c.prepare(&sql)?;
                let mut rows = stmt.query(rusqlite::params![key, limit])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let key = match &after {
                        Key::Rowid(_) => Key::Rowid(row.get(0)?),
                        Key::Fingerprint(_) => Key::Fingerprint(row.get(0)?),
                    };
                    let mut values = Vec::with_capacity(cols.len());
                    for (i, column) in cols.iter().enumerate() {
                        values.push(value(name, column, row.get(i + 1)?));
                    }
                    out.push(Row {
                        key,
                        values,
                        messages: Vec::new(),
                        shared: Vec::new(),
                    });
                }
                drop(rows);
                if name == "requests" {
                    let mut stmt = c.prepare(
                        "SELECT m.role, m.content, m.tool_calls, m.tool_call_id, m.name
                         FROM requests r JOIN request_messages rm ON rm.request_id = r.id
                              JOIN messages m ON m.id = rm.message_id
                         WHERE r.rowid = ?1 ORDER BY rm.position",
                    )?;
                    for row in &mut out {
                        let Key::Rowid(rowid) = row.key else { continue };
                        row.messages = stmt
                            .query_map([rowid], |r| {
                                Ok(StoredMessage {
                                    role: r.get(0)?,
                                    content: r.get(1)?,
                                    tool_calls: decode_calls(r.get(2)?),
                                    tool_call_id: r.get(3)?,
                                    name: r.get(4)?,
                                })
                            })?
                            .collect::<rusqlite::Result<_>>()?;
                    }
                }
                if name == "requests" && shared {
                    let mut stmt = c.prepare(
                        "SELECT l.name, s.content_hash, s.content
                         FROM requests r JOIN request_shared_params l ON l.request_id = r.id
                              JOIN shared_params s ON s.id = l.shared_id
                         WHERE r.rowid = ?1 ORDER BY l.name",
                    )?;
                    for row in &mut out {
                        let Key::Rowid(rowid) = row.key else { continue };
                        row.shared = stmt
                            .query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                            .collect::<rusqlite::Result<_>>()?;
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Inserts `rows` in one transaction, skipping those already there; how many were new.
    /// A request's messages and shared parameters go in with it, so a resumed copy finds
    /// them exactly when it finds the request.
    async fn insert(&self, target: &Postgres, cols: &[&str], rows: &[Row]) -> Result<u64> {
        let mut client = target.connection().await?;
        let tx = client.transaction().await?;
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        // A response's id and its request are both unique; the others have one key.
        let conflict = if self.name == "responses" {
            "ON CONFLICT DO NOTHING".to_owned()
        } else {
            format!("ON CONFLICT ({}) DO NOTHING", self.columns[0])
        };
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO {} ({}) VALUES ({}) {conflict} RETURNING {}",
                self.name,
                cols.join(", "),
                marks.join(", "),
                self.columns[0]
            ))
            .await?;
        let mut inserted = 0;
        for row in rows {
            let params: Vec<&(dyn ToSql + Sync)> = row
                .values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let Some(new) = tx.query_opt(&stmt, &params).await? else {
                continue;
            };
            inserted += 1;
            if self.name == "requests" {
                let id: String = new.try_get(0)?;
                writes::run(&tx, &writes::link_messages(&id, &row.messages)).await?;
                let shared: Vec<_> = row
                    .shared
                    .iter()
                    .map(|(name, hash, content)| {
                        writes::link_shared_param(&id, name, *hash, content.clone())
                    })
                    .collect();
                writes::run(&tx, &shared).await?;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The ids of the file's rows.
    async fn source_ids(&'static self, source: &Source) -> Result<Vec<Id>> {
        let table = self;
        source
            .read(move |c| {
                let id = table.columns[0];
                let mut stmt = c.prepare(&format!("SELECT {id} FROM {}", table.name))?;
                let ids = stmt.query_map([], |r| {
                    Ok(if table.without_rowid() {
                        Id::Bytes(r.get(0)?)
                    } else {
                        Id::Text(r.get(0)?)
                    })
                })?;
                ids.collect()
            })
            .await
    }

    /// How many of `ids` the target holds.
    async fn present(&self, target: &Postgres, ids: &[Id]) -> Result<u64> {
        let client = target.connection().await?;
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} = ANY($1)",
            self.name, self.columns[0]
        );
        let mut present = 0;
        for chunk in ids.chunks(1000) {
            let row = if self.without_rowid() {
                let fps: Vec<&[u8]> = chunk
                    .iter()
                    .filter_map(|id| match id {
                        Id::Bytes(b) => Some(b.as_slice()),
                        Id::Text(_) => None,
                    })
                    .collect();
                client.query_one(&sql, &[&fps]).await?
            } else {
                let texts: Vec<&str> = chunk
                    .iter()
                    .filter_map(|id| match id {
                        Id::Text(t) => Some(t.as_str()),
                        Id::Bytes(_) => None,
                    })
                    .collect();
                client.query_one(&sql, &[&texts]).await?
            };
            let n: i64 = row.try_get(0)?;
            present += u64::try_from(n).unwrap_or(0);
        }
        Ok(present)
    }
}

/// Copies the SQLite file at `path` into `target`, resuming where an earlier run stopped,
/// and checks that every row arrived.
pub(crate) async fn from_sqlite(
    path: &Path,
    target: &Postgres,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let source = Source::open(path)?;
    let shared = source.has_table("request_shared_params").await?;
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(source.count(table.name).await?);
    }
    progress.start(counts.iter().sum());
    let mut copied = Vec::new();
    for table in TABLES {
        let mut cols = table.columns.to_vec();
        for column in table.later {
            if source.has_column(table.name, column).await? {
                cols.push(column);
            }
        }
        let mut after = table.first_key();
        let mut new = 0;
        loop {
            let rows = table
                .batch(&source, cols.clone(), after.clone(), shared)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.key.clone();
            new += table.insert(target, &cols, &rows).await?;
            progress.advance(u64::try_from(rows.len()).unwrap_or(0));
        }
        copied.push(new);
    }
    let mut tables = Vec::new();
    for ((table, source_rows), copied) in TABLES.iter().zip(counts).zip(copied) {
        let ids = table.source_ids(&source).await?;
        tables.push(TableCopy {
            table: table.name,
            source: source_rows,
            copied,
            present: table.present(target, &ids).await?,
        });
    }
    Ok(CopyReport { tables })
}
