//! Schema migrations, in the style of cargo's `src/util/sqlite.rs`.
//!
//! The schema version is SQLite's own `PRAGMA user_version`, so there is no table to get out
//! of step with the schema. [`MIGRATIONS`] is append-only: entry `n` takes the database from
//! version `n` to `n + 1`. Two rules keep old and new binaries able to share one file:
//! never edit or remove a migration that has shipped, and never make a destructive change
//! (drop or rename a column or table) — add one instead. All pending migrations run in one
//! EXCLUSIVE transaction, so a crash mid-way leaves the previous version intact and two
//! processes opening the same new file cannot both migrate it.

use rusqlite::{Connection, TransactionBehavior};

use super::Result;

/// The SQL migrations, oldest first. Append only.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_tool_calls.sql"),
    include_str!("migrations/0003_withdrawn_responses.sql"),
    include_str!("migrations/0004_key_tenancy.sql"),
    include_str!("migrations/0005_read_indexes.sql"),
    include_str!("migrations/0006_accounts.sql"),
    include_str!("migrations/0007_fts.sql"),
    include_str!("migrations/0008_fts_deferred.sql"),
    include_str!("migrations/0009_shared_params.sql"),
];

/// The version a fully migrated database has.
pub(crate) fn latest_version() -> i64 {
    // The list is tiny, so the conversion cannot overflow; saturate rather than panic anyway.
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the database up to [`latest_version`] and returns the version it now has.
///
/// A database written by a newer qwenctl (a higher version than we know) is left alone: the
/// rules above mean our queries still work on it.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let current: i64 = tx.query_row("SELECT user_version FROM pragma_user_version", [], |row| {
        row.get(0)
    })?;
    let latest = latest_version();
    if current > latest {
        tracing::warn!(
            current,
            latest,
            "the database was written by a newer qwenctl; using it as is"
        );
        return Ok(current);
    }
    let pending = usize::try_from(current).unwrap_or(0);
    for sql in MIGRATIONS.iter().skip(pending) {
        tx.execute_batch(sql)?;
    }
    if current < latest {
        tx.pragma_update(None, "user_version", latest)?;
        tracing::debug!(from = current, to = latest, "migrated the database");
    }
    tx.execute(
        "INSERT INTO metadata (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [latest.to_string()],
    )?;
    tx.commit()?;
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("SELECT user_version FROM pragma_user_version", [], |r| {
            r.get(0)
        })
        .expect("user_version")
    }

    #[test]
    fn migrates_an_empty_database() {
        let mut conn = Connection::open_in_memory().expect("open");
        assert_eq!(version(&conn), 0);
        assert_eq!(migrate(&mut conn).expect("migrate"), latest_version());
        assert_eq!(version(&conn), latest_version());
        let recorded: String = conn
            .query_row(
                "SELECT value FROM metadata WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .expect("metadata row");
        assert_eq!(recorded, latest_version().to_string());
    }

    #[test]
    fn migrate_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        conn.execute(
            "INSERT INTO sessions (id, chat_id, model, title, source, created_at, updated_at)
             VALUES ('s', 'c', 'm', 't', 'serve', 1, 1)",
            [],
        )
        .expect("insert");
        assert_eq!(migrate(&mut conn).expect("second"), latest_version());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1, "re-running must not touch data");
    }

    #[test]
    fn a_version_1_database_gains_the_tool_columns_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("0001");
        conn.pragma_update(None, "user_version", 1)
            .expect("version 1");
        conn.execute(
            "INSERT INTO messages (content_hash, role, content) VALUES (1, 'user', 'hi')",
            [],
        )
        .expect("insert");
        assert_eq!(migrate(&mut conn).expect("migrate"), latest_version());
        let row: (String, Option<String>, Option<String>, Option<String>) = conn
            .query_row(
                "SELECT content, tool_calls, tool_call_id, name FROM messages",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("row");
        assert_eq!(row, ("hi".to_owned(), None, None, None));
        conn.prepare("SELECT tool_calls, upstream_turns FROM responses")
            .expect("the response columns exist");
    }

    #[test]
    fn a_version_3_database_gives_each_session_the_key_of_its_first_request() {
        let mut conn = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("0001-0003");
        }
        conn.pragma_update(None, "user_version", 3)
            .expect("version 3");
        conn.execute_batch(
            "INSERT INTO sessions (id, chat_id, model, title, source, created_at, updated_at)
             VALUES ('a', 'c', 'm', '', 'serve', 1, 9), ('b', 'c', 'm', '', 'serve', 1, 9),
                    ('empty', 'c', 'm', '', 'serve', 1, 1);
             INSERT INTO requests (id, session_id, endpoint, model, stream, api_key_id,
                 message_count, params, received_at)
             VALUES ('r2', 'a', 'e', 'm', 0, 'key-2', 1, '{}', 5),
                    ('r1', 'a', 'e', 'm', 0, 'key-1', 1, '{}', 2),
                    ('r3', 'b', 'e', 'm', 0, NULL, 1, '{}', 3);",
        )
        .expect("rows");
        assert_eq!(migrate(&mut conn).expect("migrate"), latest_version());
        let owners: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, api_key_id FROM sessions ORDER BY id")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .expect("owners");
        assert_eq!(
            owners,
            [
                ("a".to_owned(), Some("key-1".to_owned())),
                ("b".to_owned(), None),
                ("empty".to_owned(), None),
            ]
        );
        conn.prepare("SELECT client_request_id FROM requests")
            .expect("the client id column exists");
    }

    #[test]
    fn a_newer_database_is_left_alone() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        conn.pragma_update(None, "user_version", latest_version() + 5)
            .expect("bump");
        assert_eq!(migrate(&mut conn).expect("migrate"), latest_version() + 5);
    }
}
