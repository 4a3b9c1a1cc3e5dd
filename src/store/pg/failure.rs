//! Which PostgreSQL errors are failures of the database rather than of one row.
//!
//! The writer fails a whole group and opens an incident (`/health` degraded) for the
//! first kind, and rolls back only the op for the second, exactly as the SQLite writer tells
//! `SQLITE_FULL` from a constraint. The classes are PostgreSQL's SQLSTATEs.

use crate::store::health::WriteFailure;

/// A failure of the database itself, with the driver's message.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: WriteFailure,
    pub detail: String,
}

/// The failure behind `e`, or `None` when `e` is about the row (a constraint, a bad value, a
/// deadlock) and the next op may well succeed.
pub(crate) fn classify(e: &tokio_postgres::Error) -> Option<Failure> {
    let reason = match e.code() {
        // No SQLSTATE: the driver's own error. A closed connection or an I/O error means
        // the server is gone; anything else (a value that does not convert) is the row's.
        None => {
            let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
            if e.is_closed() || io {
                WriteFailure::Unreachable
            } else {
                return None;
            }
        }
        Some(code) => reason_of(code.code())?,
    };
    Some(Failure {
        reason,
        detail: e.to_string(),
    })
}

fn reason_of(sqlstate: &str) -> Option<WriteFailure> {
    let class = sqlstate.get(..2)?;
    Some(match (class, sqlstate) {
        // connection_exception; admin_shutdown, crash_shutdown, cannot_connect_now
        ("08", _) | (_, "57P01" | "57P02" | "57P03") => WriteFailure::Unreachable,
        (_, "53100") => WriteFailure::DiskFull,
        // read_only_sql_transaction: a hot standby, or default_transaction_read_only
        (_, "25006") => WriteFailure::ReadOnly,
        // system_error (I/O)
        ("58", _) => WriteFailure::Io,
        (_, "XX001" | "XX002") => WriteFailure::Corrupt,
        // lock_not_available, query_canceled (a statement or lock timeout)
        (_, "55P03" | "57014") => WriteFailure::Locked,
        // insufficient_resources, program_limit_exceeded, invalid authorization, the
        // database or a table gone, an internal error: nothing will be written.
        ("53" | "54" | "28" | "3D" | "42" | "XX", _) => WriteFailure::Other,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_told_apart() {
        assert_eq!(reason_of("08006"), Some(WriteFailure::Unreachable));
        assert_eq!(reason_of("57P01"), Some(WriteFailure::Unreachable));
        assert_eq!(reason_of("53100"), Some(WriteFailure::DiskFull));
        assert_eq!(reason_of("25006"), Some(WriteFailure::ReadOnly));
        assert_eq!(reason_of("58030"), Some(WriteFailure::Io));
        assert_eq!(reason_of("42P01"), Some(WriteFailure::Other));
        assert_eq!(reason_of("23505"), None, "a unique violation is the row's");
        assert_eq!(reason_of("23503"), None, "a foreign key is the row's");
        assert_eq!(reason_of("40P01"), None, "a deadlock is retried");
        assert_eq!(reason_of("22P02"), None, "a bad value is the row's");
    }
}
