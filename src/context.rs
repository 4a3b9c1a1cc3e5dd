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

    /// The store at `DATABASE_PATH` (created when missing).
    pub fn store(&self) -> anyhow::Result<Store> {
        let path = &self.config.database_path;
        Store::open(path).with_context(|| format!("cannot open the database {}", path.display()))
    }

    /// The store at `DATABASE_PATH` opened for reading only, for the commands that only
    /// read: nothing is created, migrated or written, so a read-only file (a backup, a
    /// read-only mount) works too (see `store::read_only`).
    pub fn read_store(&self) -> anyhow::Result<Store> {
        let path = &self.config.database_path;
        Store::open_read_only(path)
            .with_context(|| format!("cannot open the database {}", path.display()))
    }

    /// The store the conversation engine writes to: the file when persistence is on, a
    /// private in-memory database otherwise (conversations still continue, nothing is
    /// written to disk).
    pub fn engine_store(&self) -> anyhow::Result<Store> {
        if self.config.enable_persistence {
            self.store()
        } else {
            Store::open_in_memory().context("cannot open the in-memory database")
        }
    }
}
