//! The line editor on its own OS thread, and `/edit`'s external editor.
//!
//! rustyline's `readline` blocks, so it runs on a dedicated thread that reads only when the
//! async side asks for the next input ([`LineReader::read`]) and replies over a channel.
//! Because it never reads while an answer streams, the terminal is in normal (cooked) mode
//! then and Ctrl-C arrives as a signal the turn can listen for. The thread also joins
//! multi-line input ([`Assembler`]) and keeps the history file, so the async side only ever
//! sees whole messages.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, mpsc as std_mpsc};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Config, Context, Editor, Helper};
use tokio::sync::mpsc;

use super::commands;
use super::input::Assembler;

/// The prompt shown while a multi-line message is being typed.
const CONTINUATION: &str = "... ";

/// One input from the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A whole message or command (multi-line input already joined).
    Line(String),
    /// Ctrl-D at the prompt.
    Eof,
}

/// The async side's handle on the line editor thread. Dropping it ends the thread once it
/// is back from its current read.
pub struct LineReader {
    prompts: std_mpsc::Sender<String>,
    replies: mpsc::UnboundedReceiver<io::Result<Input>>,
    models: Arc<RwLock<Vec<String>>>,
}

impl LineReader {
    /// Starts the thread. `history` is the history file (none when persistence is off).
    pub fn spawn(history: Option<PathBuf>, models: Vec<String>) -> io::Result<LineReader> {
        let (prompts, prompt_rx) = std_mpsc::channel::<String>();
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let models = Arc::new(RwLock::new(models));
        let helper = ChatHelper {
            models: Arc::clone(&models),
        };
        std::thread::Builder::new()
            .name("qwenctl-readline".into())
            .spawn(move || editor_thread(helper, history, prompt_rx, reply_tx))?;
        Ok(LineReader {
            prompts,
            replies,
            models,
        })
    }

    /// Shows `prompt` and waits for the next whole input.
    pub async fn read(&mut self, prompt: &str) -> io::Result<Input> {
        let gone = || io::Error::other("the line editor stopped");
        self.prompts.send(prompt.to_owned()).map_err(|_| gone())?;
        self.replies.recv().await.ok_or_else(gone)?
    }

    /// Replaces the model names offered by Tab after `/model `.
    pub fn set_models(&self, names: Vec<String>) {
        if let Ok(mut models) = self.models.write() {
            *models = names;
        }
    }
}

fn editor_thread(
    helper: ChatHelper,
    history: Option<PathBuf>,
    prompts: std_mpsc::Receiver<String>,
    replies: mpsc::UnboundedSender<io::Result<Input>>,
) {
    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build());
    let editor = config.and_then(Editor::<ChatHelper, DefaultHistory>::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(err) => {
            let _ = replies.send(Err(io::Error::other(format!(
                "cannot start the line editor: {err}"
            ))));
            return;
        }
    };
    editor.set_helper(Some(helper));
    if let Some(path) = &history
        && path.exists()
        && let Err(err) = editor.load_history(path)
    {
        tracing::warn!("cannot read the history file {}: {err}", path.display());
    }
    while let Ok(prompt) = prompts.recv() {
        let input = read_input(&mut editor, &prompt, history.as_deref());
        if replies.send(input).is_err() {
            break;
        }
    }
}

/// Reads physical lines until they make a whole input.
fn read_input(
    editor: &mut Editor<ChatHelper, DefaultHistory>,
    prompt: &str,
    history: Option<&Path>,
) -> io::Result<Input> {
    let mut lines = Assembler::default();
    loop {
        let shown = if lines.is_idle() {
            prompt
        } else {
            CONTINUATION
        };
        let text = match editor.readline(shown) {
            Ok(line) => lines.push(&line),
            // Ctrl-C at the prompt clears the line (and drops a block in progress).
            Err(ReadlineError::Interrupted) => {
                lines.clear();
                continue;
            }
            Err(ReadlineError::Eof) if lines.is_idle() => return Ok(Input::Eof),
            // Ctrl-D inside a block sends what was typed.
            Err(ReadlineError::Eof) => match lines.finish() {
                Some(text) => Some(text),
                None => continue,
            },
            Err(ReadlineError::Io(err)) => return Err(err),
            Err(err) => return Err(io::Error::other(err.to_string())),
        };
        if let Some(text) = text {
            remember(editor, &text, history);
            return Ok(Input::Line(text));
        }
    }
}

/// Adds the input to the history and appends it to the file at once, so a killed process
/// loses nothing.
fn remember(editor: &mut Editor<ChatHelper, DefaultHistory>, text: &str, file: Option<&Path>) {
    if text.trim().is_empty() || !matches!(editor.add_history_entry(text), Ok(true)) {
        return;
    }
    let Some(file) = file else { return };
    if let Some(dir) = file.parent()
        && let Err(err) = std::fs::create_dir_all(dir)
    {
        tracing::debug!("cannot create {}: {err}", dir.display());
        return;
    }
    let new_file = !file.exists();
    if let Err(err) = editor.append_history(file) {
        tracing::debug!("cannot write the history file {}: {err}", file.display());
        return;
    }
    // What people type is private: keep the file to its owner.
    #[cfg(unix)]
    if new_file {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = new_file;
}

/// Completion of commands and model names; no hints, highlighting or validation.
struct ChatHelper {
    models: Arc<RwLock<Vec<String>>>,
}

impl Completer for ChatHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let models = self.models.read().map(|m| m.clone()).unwrap_or_default();
        Ok(commands::complete(line, pos, &models))
    }
}

impl Hinter for ChatHelper {
    type Hint = String;
}
impl Highlighter for ChatHelper {}
impl Validator for ChatHelper {}
impl Helper for ChatHelper {}

/// Opens `$VISUAL`/`$EDITOR` (else `vi`) on a private temporary file and returns what was
/// written, trimmed; `None` when it was left empty. Blocking: call off the async workers.
pub fn external_edit() -> io::Result<Option<String>> {
    let command = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|v| v.to_string_lossy().into_owned())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    // `EDITOR="code --wait"` is common; no shell is involved, so only whitespace splits.
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let path = std::env::temp_dir().join(format!("qwenctl-{}.md", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&path)?;
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .status();
    let text = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let status =
        status.map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if !status.success() {
        return Err(io::Error::other(format!("{program} exited with {status}")));
    }
    let text = text?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}
