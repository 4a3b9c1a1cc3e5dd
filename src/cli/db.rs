//! `qwenctl db`: backup, vacuum, prune, migrate, and copy the database into PostgreSQL.
//!
//! All are safe while `serve` runs: the backup is SQLite's online backup of one consistent
//! snapshot, read through a read-only connection; vacuum and prune go through the store's
//! single writer in order with everything else; migrations take a lock (a transaction on
//! SQLite, an advisory lock on PostgreSQL) that replicas starting at the same time wait
//! for; and a copy only reads the SQLite file and skips what the target already holds, so
//! it can be run again to resume. Each prints what it did.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use indicatif::{ProgressBar, ProgressStyle};

use crate::context::Ctx;
use crate::error::{Failed, UsageError};
use crate::output;
use crate::store::{CopyProgress, Store};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database to PATH with SQLite's online backup (safe while serve runs)
    Backup(BackupArgs),
    /// Reclaim free space
    Vacuum,
    /// Delete sessions and requests older than a duration
    Prune(PruneArgs),
    /// Bring the database schema up to date and exit (for deployments that migrate as a
    /// separate step; serve also migrates at start)
    Migrate,
    /// Copy the SQLite database into a PostgreSQL database (resumable: rows already there
    /// are skipped; every row is checked at the end)
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The PostgreSQL database to copy into (postgres://…; migrated first)
    #[arg(long, value_name = "URL")]
    pub to: String,
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

pub async fn run(cmd: DbCommand, ctx: Ctx) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Backup(args) => backup(args, ctx).await,
        DbCommand::Vacuum => vacuum(ctx).await,
        DbCommand::Prune(args) => prune(args, ctx).await,
        DbCommand::Migrate => migrate(ctx).await,
        DbCommand::Copy(args) => copy(args, ctx).await,
    }
}

async fn migrate(ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let place = match &ctx.config.database_url {
        Some(url) => crate::store::pg::redacted(url.expose()),
        None => ctx.config.database_path.display().to_string(),
    };
    output::line(&format!(
        "{place} is at schema version {}",
        store.schema_version()
    ))?;
    Ok(())
}

async fn copy(args: CopyArgs, ctx: Ctx) -> anyhow::Result<()> {
    let source = &ctx.config.database_path;
    if let Err(problem) = crate::store::pg::check_url(&args.to) {
        return Err(UsageError(format!("invalid value for --to: {problem}")).into());
    }
    if !source.exists() {
        return Err(UsageError(format!(
            "there is no database to copy at {} (set DATABASE_PATH or --database)",
            source.display()
        ))
        .into());
    }
    let shown = crate::store::pg::redacted(&args.to);
    let target = Store::connect(&args.to)
        .await
        .map_err(|e| UsageError(format!("cannot use the database {shown}: {e}")))?;
    let bar = CopyBar::new(ctx.quiet);
    let report = target
        .copy_from_sqlite(source, &bar)
        .await
        .with_context(|| format!("the copy into {shown} stopped (run it again to resume)"))?;
    bar.0.finish_and_clear();
    for t in &report.tables {
        output::line(&format!(
            "{:<18} {} in the file, {} copied, {} already there",
            t.table,
            t.source,
            t.copied,
            t.present.saturating_sub(t.copied)
        ))?;
    }
    if !report.complete() {
        let missing: Vec<String> = report
            .tables
            .iter()
            .filter(|t| t.present != t.source)
            .map(|t| format!("{} ({} of {})", t.table, t.present, t.source))
            .collect();
        return Err(Failed(format!(
            "the copy is incomplete: {shown} lacks rows of {} (run it again to resume)",
            missing.join(", ")
        ))
        .into());
    }
    output::line(&format!(
        "Copied {} into {shown}: every row is there",
        source.display()
    ))?;
    Ok(())
}

/// The copy's progress bar on stderr, when someone watches it.
struct CopyBar(ProgressBar);

impl CopyBar {
    fn new(quiet: bool) -> CopyBar {
        if quiet || !output::stderr_is_terminal() {
            return CopyBar(ProgressBar::hidden());
        }
        let style = ProgressStyle::with_template(
            "{spinner} copying {bar:30} {pos}/{len} rows ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        CopyBar(ProgressBar::new(0).with_style(style))
    }
}

impl CopyProgress for CopyBar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }

    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

async fn backup(args: BackupArgs, ctx: Ctx) -> anyhow::Result<()> {
    let dest = &args.path;
    // Backing a file up onto itself would overwrite it page by page while reading it.
    if same_file(dest, &ctx.config.database_path) {
        return Err(UsageError(format!(
            "the backup destination {} is the database itself",
            dest.display()
        ))
        .into());
    }
    // Read-only: a backup of a file nobody may write (a mount, a copy) works too.
    let store = ctx.read_store().await?;
    store
        .backup(dest)
        .await
        .with_context(|| format!("cannot back up the database to {}", dest.display()))?;
    let size = std::fs::metadata(dest)
        .with_context(|| format!("cannot read the backup {}", dest.display()))?
        .len();
    output::line(&format!(
        "Backed up to {} ({})",
        dest.display(),
        bytes(size)
    ))?;
    Ok(())
}

async fn vacuum(ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let before = store.size().await?;
    store.vacuum().await.context("VACUUM failed")?;
    let after = store.size().await?;
    let size = |b: i64| bytes(u64::try_from(b).unwrap_or(0));
    output::line(&format!(
        "Vacuumed {}: {} → {} ({} reclaimed)",
        ctx.config.database_path.display(),
        size(before.bytes),
        size(after.bytes),
        size(before.bytes.saturating_sub(after.bytes).max(0)),
    ))?;
    Ok(())
}

async fn prune(args: PruneArgs, ctx: Ctx) -> anyhow::Result<()> {
    let age = humantime::parse_duration(args.older_than.trim()).map_err(|e| {
        UsageError(format!(
            "invalid value `{}` for --older-than: {e} (use e.g. 30d or 12h)",
            args.older_than
        ))
    })?;
    let age_ms = crate::time::duration_ms(age);
    let cutoff = crate::time::unix_now_ms().saturating_sub(age_ms).max(0);
    let store = ctx.store().await?;
    let removed = store.prune(cutoff).await?;
    let since = u64::try_from(cutoff).map_or_else(
        |_| "the start".to_owned(),
        |ms| humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string(),
    );
    output::line(&format!(
        "Pruned {removed} sessions and stand-alone requests last active before {since}"
    ))?;
    Ok(())
}

/// Whether both paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `812 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
