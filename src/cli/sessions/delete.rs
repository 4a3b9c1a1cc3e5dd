//! `qwenctl sessions delete ID`: removes a session with its requests, responses and
//! conversation nodes (messages other sessions share stay), then says so on stdout.

use clap::Args;

use super::not_found;
use crate::context::Ctx;
use crate::output;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Session id
    pub id: String,
}

pub async fn run(args: DeleteArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    if !store.delete_session(&args.id).await? {
        return Err(not_found(&args.id));
    }
    output::line(&format!("Deleted session {}", args.id))?;
    Ok(())
}
