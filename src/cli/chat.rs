//! `qwenctl chat`: a REPL, or one-shot with a prompt and/or piped stdin.
//!
//! Only the flags live here; what they mean is [`crate::repl`]'s business.

use std::path::PathBuf;

use clap::Args;

use crate::config::Sources;
use crate::context::Ctx;
use crate::repl::{self, ChatOptions, Resume};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt (one-shot); piped stdin is appended after a blank line
    pub prompt: Option<String>,
    /// Add the contents of a file to the prompt, in a fenced block headed by its name
    /// (repeatable)
    #[arg(short, long, value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Model to use; a `-thinking` variant turns thinking on [default: qwen3-max, or the
    /// resumed session's model]
    #[arg(short, long)]
    pub model: Option<String>,
    /// System prompt
    #[arg(short, long)]
    pub system: Option<String>,
    /// Turn thinking on: the reasoning is shown dimmed (one-shot: on stderr, never on stdout)
    #[arg(long)]
    pub think: bool,
    /// Print the answer at once instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Print the final chat.completion object as JSON
    #[arg(long)]
    pub json: bool,
    /// Continue the session with this id
    #[arg(long, value_name = "ID", conflicts_with = "continue_latest")]
    pub resume: Option<String>,
    /// Continue the latest session
    #[arg(short = 'c', long = "continue")]
    pub continue_latest: bool,
    /// Chat with the built-in fake of chat.qwen.ai, in-process, instead of the real service
    /// (no credentials needed; it answers "You said: …")
    #[arg(long)]
    pub fake_upstream: bool,
    /// The fake's port, bound by [`ChatArgs::bind_fake_upstream`] before the configuration is
    /// resolved; not a command-line argument.
    #[arg(skip)]
    pub fake_listener: Option<std::net::TcpListener>,
}

impl ChatArgs {
    /// With `--fake-upstream`: binds the fake's port now, so that `config::resolve` points the
    /// upstream (and its credentials) at it; the fake itself starts in [`run`].
    pub fn bind_fake_upstream(&mut self, sources: &mut Sources) -> anyhow::Result<()> {
        if self.fake_upstream {
            self.fake_listener = Some(super::fake::bind(sources)?);
        }
        Ok(())
    }
}

pub async fn run(mut args: ChatArgs, ctx: Ctx) -> anyhow::Result<()> {
    // Kept for as long as the chat runs: dropping it stops the fake.
    let _stop_fake = args
        .fake_listener
        .take()
        .map(super::fake::start)
        .transpose()?;
    let resume = match (args.resume, args.continue_latest) {
        (Some(id), _) => Some(Resume::Id(id)),
        (None, true) => Some(Resume::Latest),
        (None, false) => None,
    };
    let opts = ChatOptions {
        prompt: args.prompt,
        files: args.file,
        model: args.model,
        system: args.system,
        think: args.think,
        no_stream: args.no_stream,
        json: args.json,
        resume,
        quiet: ctx.quiet,
    };
    repl::run(opts, ctx).await
}
