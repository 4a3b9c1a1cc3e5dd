//! `qwenctl db`: backup, vacuum and prune the database.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::context::Ctx;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database to PATH with SQLite's online backup (safe while serve runs)
    Backup(BackupArgs),
    /// Reclaim free space
    Vacuum,
    /// Delete sessions and requests older than a duration
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Destination file
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// e.g. 30d, 12h
    #[arg(long, value_name = "DURATION")]
    pub older_than: String,
}

pub async fn run(_cmd: DbCommand, _ctx: Ctx) -> anyhow::Result<()> {
    Err(crate::error::Failed("`qwenctl db` is not built yet".into()).into())
}
