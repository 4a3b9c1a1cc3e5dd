//! The PostgreSQL schema's migrations: numbered SQL files in `migrations/`, append-only,
//! recorded in `schema_migrations` (one row per applied version).
//!
//! Several replicas may start at once against one database, so the whole run happens in one
//! transaction that first takes a transaction-scoped advisory lock: the second replica waits
//! for the first to commit, then finds nothing left to do. A crash mid-way rolls everything
//! back. The same two rules as the SQLite migrations keep old and new binaries able to share
//! one database: never edit or remove a migration that has shipped, and never make a
//! destructive change. A database migrated by a newer qwenctl is used as it is.

use tokio_postgres::GenericClient;

use crate::store::Result;

/// The SQL migrations, oldest first: `(version, name, sql)`. Append only.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "search", include_str!("migrations/0002_search.sql")),
    (3, "accounts", include_str!("migrations/0003_accounts.sql")),
    (
        4,
        "shared_params",
        include_str!("migrations/0004_shared_params.sql"),
    ),
];

/// The advisory lock every migration run holds: "qwenctl" in ASCII, so other applications
/// sharing the database are unlikely to collide with it.
const LOCK_KEY: i64 = 0x0071_7765_6e63_746c;

/// The version a fully migrated database has.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// Brings the database up to [`latest_version`] and returns the version it now has.
pub(crate) async fn migrate(client: &mut tokio_postgres::Client) -> Result<i64> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )
    .await?;
    let current = applied(&tx).await?;
    let latest = latest_version();
    if current > latest {
        tracing::warn!(
            current,
            latest,
            "the database was migrated by a newer qwenctl; using it as is"
        );
        tx.commit().await?;
        return Ok(current);
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &crate::time::unix_now_ms()],
        )
        .await?;
        tracing::info!(version, name, "applied a database migration");
    }
    tx.execute(
        "INSERT INTO metadata (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&latest.to_string()],
    )
    .await?;
    tx.commit().await?;
    Ok(latest)
}

/// The highest version applied; 0 for a database qwenctl never migrated.
pub(crate) async fn version(client: &impl GenericClient) -> Result<i64> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    applied(client).await
}

async fn applied(client: &impl GenericClient) -> Result<i64> {
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?)
}
