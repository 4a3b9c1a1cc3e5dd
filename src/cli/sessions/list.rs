//! `qwenctl sessions list`: the most recently active sessions as a table, or their
//! [`SessionSummary`] records as a JSON array. The `TOOLS` column counts the tool calls a
//! session's answers made (`-` for none), so agent sessions stand out.

use clap::Args;
use tabled::Tabled;

use crate::context::Ctx;
use crate::output::{self, Age, Fit};
use crate::store::{ListQuery, SessionSummary};

/// Characters of the title shown in the table.
const TITLE_WIDTH: usize = 40;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// How many sessions to list
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "ID")]
    id: String,
    #[tabled(rename = "TITLE")]
    title: String,
    #[tabled(rename = "MODEL")]
    model: String,
    #[tabled(rename = "TURNS")]
    turns: i64,
    #[tabled(rename = "TOOLS")]
    tools: String,
    #[tabled(rename = "TOKENS")]
    tokens: i64,
    #[tabled(rename = "LAST ACTIVE")]
    last_active: String,
}

impl Row {
    fn new(s: &SessionSummary, now_ms: i64) -> Row {
        Row {
            id: s.id.clone(),
            title: output::shorten(&s.title, TITLE_WIDTH, Fit::Width),
            model: s.model.clone(),
            turns: s.turns,
            tools: tool_calls(s.tool_calls),
            tokens: s.total_tokens,
            last_active: output::ago(s.updated_at, now_ms, Age::Long),
        }
    }
}

pub async fn run(args: ListArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.read_store().await?;
    let query = ListQuery {
        limit: args.limit,
        ..ListQuery::default()
    };
    let sessions = store.list_sessions(&query).await?;
    if args.json {
        output::json(&sessions)?;
    } else {
        let now = crate::time::unix_now_ms();
        output::table(
            sessions.iter().map(|s| Row::new(s, now)),
            "No sessions recorded yet.",
        )?;
    }
    Ok(())
}

/// A count of tool calls for a table: `-` for none.
fn tool_calls(n: i64) -> String {
    if n > 0 { n.to_string() } else { "-".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::tool_calls;

    #[test]
    fn sessions_without_tool_calls_show_a_dash() {
        assert_eq!(tool_calls(0), "-");
        assert_eq!(tool_calls(3), "3");
    }
}
