//! `qwenctl stats`: usage and performance figures from the store.

use clap::{Args, ValueEnum};

use crate::context::Ctx;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only requests since this long ago (e.g. 24h, 7d) or this date (2026-11-01)
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// Group the figures
    #[arg(long, value_enum)]
    pub by: Option<GroupByArg>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    Model,
    Day,
}

pub async fn run(_args: StatsArgs, _ctx: Ctx) -> anyhow::Result<()> {
    Err(crate::error::Failed("`qwenctl stats` is not built yet".into()).into())
}
