//! `qwenctl models`: the models the upstream offers right now.

use clap::Args;
use tabled::Tabled;

use crate::context::Ctx;
use crate::output;
use crate::qwen::Model;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "ID")]
    id: String,
    #[tabled(rename = "NAME")]
    name: String,
    #[tabled(rename = "CONTEXT")]
    context: String,
    #[tabled(rename = "THINKING")]
    thinking: &'static str,
    #[tabled(rename = "VISION")]
    vision: &'static str,
    #[tabled(rename = "SEARCH")]
    search: &'static str,
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "-" }
}

impl From<&Model> for Row {
    fn from(m: &Model) -> Self {
        Row {
            id: m.id.clone(),
            name: m.name.clone(),
            context: m
                .context_length
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            thinking: yes_no(m.capabilities.thinking),
            vision: yes_no(m.capabilities.vision),
            search: yes_no(m.capabilities.search),
        }
    }
}

pub async fn run(args: ModelsArgs, ctx: Ctx) -> anyhow::Result<()> {
    let accounts = ctx.cached_accounts()?;
    let creds = accounts.ambient().await;
    let models = accounts.client().list_models(&creds).await?;
    if args.json {
        output::json(models.as_slice())?;
    } else {
        output::table(
            models.iter().map(Row::from),
            "The upstream lists no models.",
        )?;
    }
    Ok(())
}
