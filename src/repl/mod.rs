//! `qwenctl chat`: the terminal face of the conversation engine, as a REPL or one-shot.
//!
//! Both modes go through the same [`Engine`] and store as `serve` (design.md §4), in the
//! stateless-client style: we keep the conversation's whole message list and send all of it
//! every turn; the engine finds the remembered prefix and continues the upstream chat with
//! only the new message. That is what makes a session started by `serve` resumable here and
//! the other way round: resuming is loading `store.conversation(id)` as the history.
//!
//! - [`oneshot`]: a prompt and/or piped stdin in, exactly the answer and a newline out;
//! - [`interactive`]: the REPL loop, with [`editor`] (rustyline on its own thread, since
//!   `readline` blocks) and [`commands`] (the `/…` commands);
//! - [`turn`]: one exchange with the engine, cancellable with Ctrl-C, drawn by [`render`];
//! - [`conversation`]: the history, the model choice and loading stored sessions;
//! - [`export`]: `/export`, through the export engine `sessions export` uses too;
//! - [`input`], [`advice`], [`listing`]: pure helpers (prompt composition and multi-line
//!   input, one-line failure advice, tables).
//!
//! Text and terminal styling come from [`crate::output`]; nothing here depends on the
//! command line (`cli`), which calls in with plain [`ChatOptions`].

mod advice;
mod commands;
mod conversation;
mod editor;
mod export;
mod input;
mod interactive;
mod listing;
mod oneshot;
mod render;
mod turn;

use std::io::IsTerminal as _;
use std::path::PathBuf;

use crate::context::Ctx;
use crate::error::UsageError;
use crate::qwen::QwenError;
use crate::session::Engine;

use conversation::Conversation;

/// What `qwenctl chat` was asked to do, from the command line.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// The prompt argument.
    pub prompt: Option<String>,
    /// Files whose contents are appended to the prompt.
    pub files: Vec<PathBuf>,
    /// The model name as typed (`None`: the resumed session's model, else the default).
    pub model: Option<String>,
    pub system: Option<String>,
    pub think: bool,
    pub no_stream: bool,
    pub json: bool,
    pub resume: Option<Resume>,
    /// `-q`: nothing but the answer and errors.
    pub quiet: bool,
}

/// Which stored session to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// A session id (or an unambiguous prefix of one).
    Id(String),
    /// The most recently used session.
    Latest,
}

/// The model used when neither a flag nor a resumed session names one.
pub const DEFAULT_MODEL: &str = "qwen3-max";

/// Runs `qwenctl chat`: the REPL when there is nothing to send and stdin is a terminal,
/// one-shot otherwise.
pub async fn run(opts: ChatOptions, ctx: Ctx) -> anyhow::Result<()> {
    let stdin_is_terminal = std::io::stdin().is_terminal();
    // Everything that can be a usage error is settled before the network is touched.
    let piped = if stdin_is_terminal {
        None
    } else {
        Some(input::read_stdin()?)
    };
    let files = input::read_files(&opts.files)?;
    let interactive = opts.prompt.is_none() && files.is_empty() && stdin_is_terminal;
    let prompt = if interactive {
        if opts.json {
            return Err(UsageError("--json needs a prompt or piped input".into()).into());
        }
        None
    } else {
        let text = input::compose(opts.prompt.as_deref(), piped.as_deref(), &files);
        if text.trim().is_empty() {
            return Err(UsageError(
                "nothing to send: give a prompt, pipe text on stdin, or run `qwenctl chat` \
                 in a terminal for the interactive chat"
                    .into(),
            )
            .into());
        }
        Some(text)
    };

    let accounts = ctx.accounts()?;
    let store = ctx.engine_store().await?;
    let engine = Engine::new(accounts, store, ctx.config.session_timeout, "chat")
        .with_aliases(ctx.config.model_aliases.clone());
    let models = match engine.models().await {
        Ok(models) => Some(models),
        // Same host, same credentials: the chat would fail the same way, after another
        // round of retries.
        Err(
            err @ (QwenError::Auth { .. }
            | QwenError::Blocked { .. }
            | QwenError::Network(_)
            | QwenError::Timeout(_)),
        ) => return Err(crate::error::Failed(advice::explain(&err)).into()),
        Err(err) => {
            // A list we cannot get only means names are sent upstream as typed.
            tracing::debug!("cannot list models: {err}");
            None
        }
    };
    let mut conv = Conversation::default();
    let resumed = match &opts.resume {
        Some(which) => Some(
            conv.resume(engine.archive(), which)
                .await
                .map_err(crate::error::Failed)?,
        ),
        None => None,
    };
    let name = opts
        .model
        .clone()
        .or_else(|| resumed.as_ref().map(|r| r.model.clone()))
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    conv.model = conversation::choose_model(&name, models.as_deref().map(Vec::as_slice))
        .map_err(UsageError)?;
    conv.thinking = opts.think || conv.model.thinking;
    if let Some(system) = &opts.system {
        conv.system = Some(system.clone());
    }

    match prompt {
        Some(prompt) => oneshot::run(&engine, &conv, prompt, &opts).await,
        None => {
            let settings = interactive::Settings {
                think_flag: opts.think,
                no_stream: opts.no_stream,
                quiet: opts.quiet,
                history_file: ctx
                    .config
                    .enable_persistence
                    .then(|| crate::config::data_dir().join("history.txt")),
                resumed,
            };
            interactive::run(engine, conv, models, settings).await
        }
    }
}
