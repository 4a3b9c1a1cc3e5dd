//! One-shot chat: one message in, the answer out, for shells and scripts.
//!
//! stdout carries exactly the answer and one trailing newline (or, with `--json`, the
//! `chat.completion` object), so `qwenctl chat "…" | next-tool` needs no cleaning. Anything
//! for the person at the terminal goes to stderr: the spinner (only when both streams are
//! terminals) and the reasoning of a thinking turn (dimmed on a colour terminal, plain
//! otherwise, never with `-q`). A failure is one line of advice and exit 1; Ctrl-C is 130.

use serde_json::Value;

use crate::error::{Failed, Interrupted, UsageError};
use crate::openai::response::chat_completion;
use crate::output;
use crate::qwen::QwenError;
use crate::session::Engine;

use super::ChatOptions;
use super::advice;
use super::conversation::Conversation;
use super::render::{Sink, View};
use super::turn::{self, Ended};

/// Sends `prompt` after `conv`'s history and prints the answer.
pub async fn run(
    engine: &Engine,
    conv: &Conversation,
    prompt: String,
    opts: &ChatOptions,
) -> anyhow::Result<()> {
    let terminal = output::stdout_is_terminal() && output::stderr_is_terminal();
    let reasoning = if conv.thinking && !opts.quiet && !opts.json {
        Sink::Stderr
    } else {
        Sink::Hidden
    };
    let view = View {
        stream: !opts.no_stream && !opts.json,
        answer: !opts.json,
        reasoning,
        dim: output::stderr_color_enabled(),
        spinner: terminal && !opts.quiet,
    };
    let messages = conv.request(Some(&prompt));
    match turn::run(engine, conv, messages, view).await? {
        Ended::Answered(answer) => {
            tracing::debug!(session = %answer.session_id, "answered");
            if opts.json {
                let object: Value = chat_completion(
                    &answer.meta,
                    &answer.content,
                    &answer.reasoning,
                    &[],
                    answer.finish,
                    &answer.usage,
                );
                output::json(&object)?;
            }
            Ok(())
        }
        Ended::Cancelled => Err(Interrupted.into()),
        // A refused login is the configuration's fault (the account's password): exit 2.
        Ended::Failed(err @ QwenError::Login { .. }) => {
            Err(UsageError(advice::explain(&err)).into())
        }
        Ended::Failed(err) => Err(Failed(advice::explain(&err)).into()),
        Ended::Refused(why) => Err(UsageError(why).into()),
    }
}
