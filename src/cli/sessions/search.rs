//! `qwenctl sessions search QUERY`: the sessions whose messages or answers contain every
//! word of QUERY, newest first, each with a snippet of its newest match, or their
//! [`SessionMatch`] records (the session's fields plus `snippet` segments) as JSON.
//!
//! QUERY is taken as words (quotes, `*`, `-`, `NEAR`, `AND` are matched as text, never as
//! search syntax; see `store::search`). On a terminal the matched words are bold; piped,
//! the snippet is plain text without markers. Stored text is shown [`inert`].

use std::fmt::Write as _;

use clap::Args;

use crate::cli::stats::parse_since;
use crate::context::Ctx;
use crate::output::{self, Age, Fit, Paint, ago, inert, shorten};
use crate::store::{ListQuery, SessionMatch};

/// Characters of the title shown on a match's first line.
const TITLE_WIDTH: usize = 60;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for (all of them, in one message or answer; case and accents ignored)
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub query: Vec<String>,
    /// Only sessions of this model
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only sessions active since this long ago (e.g. 24h, 7d) or this date (2026-11-01)
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// How many sessions to show
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: SearchArgs, ctx: Ctx) -> anyhow::Result<()> {
    let now = crate::time::unix_now_ms();
    let since_ms = args
        .since
        .as_deref()
        .map(|s| parse_since(s, now))
        .transpose()?;
    let query = ListQuery {
        limit: args.limit,
        model: args.model,
        since_ms,
        ..ListQuery::default()
    };
    let text = args.query.join(" ");
    let store = ctx.read_store().await?;
    let matches = store.search_sessions(&text, &query).await?;
    if args.json {
        output::json(&matches)?;
    } else if matches.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("No session matches {text:?}.");
        }
    } else {
        output::text(&render(&matches, now, Paint::stdout()))?;
    }
    Ok(())
}

/// Each match as two lines, the session then its snippet, with a blank line between.
fn render(matches: &[SessionMatch], now_ms: i64, paint: Paint) -> String {
    let mut out = String::new();
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let s = &m.session;
        let _ = writeln!(
            out,
            "{}  {}  · {} · {}",
            paint.bold(&inert(&s.id)),
            inert(&shorten(&s.title, TITLE_WIDTH, Fit::Width)),
            inert(&s.model),
            ago(s.updated_at, now_ms, Age::Long)
        );
        let mut line = String::from("  ");
        for segment in &m.snippet {
            let text = inert(&segment.text);
            if segment.matched {
                line.push_str(&paint.bold(&text));
            } else {
                line.push_str(&text);
            }
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Segment, SessionSummary};

    fn hit() -> SessionMatch {
        SessionMatch {
            session: SessionSummary {
                account: None,
                object: "session",
                id: "s1".into(),
                chat_id: "c".into(),
                model: "qwen3-max".into(),
                title: "Bread\x1b[2J".into(),
                source: "serve".into(),
                api_key_id: None,
                created_at: 0,
                updated_at: 0,
                turns: 1,
                prompt_tokens: 0,
                completion_tokens: 0,
                total_tokens: 0,
                tool_calls: 0,
            },
            snippet: vec![
                Segment {
                    text: "…bake ".into(),
                    matched: false,
                },
                Segment {
                    text: "sourdough".into(),
                    matched: true,
                },
                Segment {
                    text: " \x1b]0;x\x07bread".into(),
                    matched: false,
                },
            ],
        }
    }

    #[test]
    fn piped_output_is_plain_text_and_a_terminal_gets_bold_matches() {
        let plain = render(&[hit()], 60_000, Paint { color: false });
        assert_eq!(
            plain,
            "s1  Bread␛[2J  · qwen3-max · 1 minute ago\n  …bake sourdough ␛]0;x␇bread\n"
        );
        let bold = render(&[hit(), hit()], 60_000, Paint { color: true });
        assert!(bold.contains("\x1b[1msourdough\x1b[0m"), "{bold:?}");
        assert!(
            !bold.contains("\x1b]0;"),
            "stored escapes are shown, not obeyed"
        );
        assert_eq!(
            bold.matches("\n\n").count(),
            1,
            "a blank line between matches"
        );
    }
}
