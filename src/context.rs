//! What a command gets to work with: the resolved configuration, plus the upstream accounts
//! (with their client) and the store opened only on demand, so `validate-config` touches
//! neither the database nor the network and `sessions list` needs no credentials.

use anyhow::Context as _;

use crate::accounts::{self, Pool};
use crate::config::Config;
use crate::error::UsageError;
use crate::qwen::QwenClient;
use crate::store::Store;

/// The command context. Plain data only: the command line is parsed before a `Ctx` is
/// built, so what takes one (the REPL, the export engine) depends neither on clap nor on
/// the `cli` module, which depends on them.
pub struct Ctx {
    pub config: Config,
    /// `-q`: only errors on stderr, so no progress bars or notes either.
    pub quiet: bool,
}

impl Ctx {
    /// The upstream accounts of the configured credential source, on a new client; a
    /// usage error (exit 2) listing what is wrong with the credentials, the accounts file
    /// included.
    pub fn accounts(&self) -> anyhow::Result<Pool> {
        self.accounts_with(None)
    }

    fn accounts_with(&self, models_file: Option<std::path::PathBuf>) -> anyhow::Result<Pool> {
        let problems = self.config.credential_errors();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(UsageError(format!(
                "{} (see .env.example; check with `qwenctl validate-config`)",
                list.join("; ")
            ))
            .into());
        }
        let mut upstream = self.config.upstream();
        upstream.models_cache_file = models_file;
        let client = QwenClient::new(upstream).context("cannot build the HTTP client")?;
        accounts::pool(&self.config, client).map_err(|err| UsageError(err.to_string()).into())
    }

    /// Like [`Ctx::accounts`], but the model list is also cached on disk for
    /// MODELS_CACHE_DURATION, so repeated one-shot commands do not refetch it.
    pub fn cached_accounts(&self) -> anyhow::Result<Pool> {
        self.accounts_with(Some(crate::config::data_dir().join("models-cache.json")))
    }

    /// The store: the PostgreSQL database at `DATABASE_URL` when set, else the SQLite file
    /// at `DATABASE_PATH` (created when missing).
    pub async fn store(&self) -> anyhow::Result<Store> {
        if let Some(url) = &self.config.database_url {
            return postgres(Store::connect(url.expose()).await, url.expose());
        }
        let path = &self.config.database_path;
        Store::open(path).with_context(|| format!("cannot open the database {}", path.display()))
    }

    /// The store opened for reading only, for the commands that only read: nothing is
    /// created, migrated or written, so a read-only SQLite file (a backup, a read-only
    /// mount) works too (see `store::read_only`); a PostgreSQL database is not migrated.
    pub async fn read_store(&self) -> anyhow::Result<Store> {
        if let Some(url) = &self.config.database_url {
            return postgres(Store::connect_read_only(url.expose()).await, url.expose());
        }
        let path = &self.config.database_path;
        Store::open_read_only(path)
            .with_context(|| format!("cannot open the database {}", path.display()))
    }

    /// The store the conversation engine writes to: the database when persistence is on, a
    /// private in-memory database otherwise (conversations still continue, nothing is
    /// written to disk).
    pub async fn engine_store(&self) -> anyhow::Result<Store> {
        if self.config.enable_persistence {
            self.store().await
        } else {
            Store::open_in_memory().context("cannot open the in-memory database")
        }
    }
}

/// A PostgreSQL store, or the reason it cannot be had as one line. A database that cannot be
/// reached or refuses us is a configuration problem of this deployment (exit 2), as a bad
/// `DATABASE_URL` is: a replica that started without it would answer without recording.
fn postgres(opened: crate::store::Result<Store>, url: &str) -> anyhow::Result<Store> {
    opened.map_err(|e| {
        UsageError(format!(
            "cannot use the database {}: {e}",
            crate::store::pg::redacted(url)
        ))
        .into()
    })
}
