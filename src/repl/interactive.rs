//! The REPL: read a line, send it or run a command, draw the answer, repeat.
//!
//! Lines come from the editor thread ([`LineReader`]); each message is one [`turn`] with the
//! whole history. Failures of a turn or a command are shown as one line and the REPL goes
//! on; only Ctrl-D, `/quit` or a closed stdout end it. Answers and command output (help,
//! tables) go to stdout, notes about state (session ids, switches) to stderr.

use std::path::PathBuf;
use std::sync::Arc;

use crate::output;
use crate::qwen::Model;
use crate::session::Engine;
use crate::store::ListQuery;

use super::Resume;
use super::advice;
use super::commands::{self, Command, Line, SystemArg};
use super::conversation::{self, Conversation, Resumed};
use super::editor::{self, Input, LineReader};
use super::export;
use super::listing;
use super::render::{self, Sink, View, note};
use super::turn::{self, Answer, Ended};

/// How the REPL was started.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--think`: thinking stays on across `/model` switches.
    pub think_flag: bool,
    pub no_stream: bool,
    pub quiet: bool,
    /// The readline history file; `None` keeps no history on disk.
    pub history_file: Option<PathBuf>,
    /// The session `--resume`/`--continue` loaded.
    pub resumed: Option<Resumed>,
}

struct Repl {
    engine: Engine,
    conv: Conversation,
    models: Option<Arc<Vec<Model>>>,
    settings: Settings,
    reader: LineReader,
}

/// Runs the REPL until Ctrl-D or `/quit`.
pub async fn run(
    engine: Engine,
    conv: Conversation,
    models: Option<Arc<Vec<Model>>>,
    settings: Settings,
) -> anyhow::Result<()> {
    let names = models
        .as_deref()
        .map(|m| conversation::model_names(m))
        .unwrap_or_default();
    let reader = LineReader::spawn(settings.history_file.clone(), names)?;
    let mut repl = Repl {
        engine,
        conv,
        models,
        settings,
        reader,
    };
    note(&format!(
        "qwenctl chat · {} · /help for commands · Ctrl-D to leave",
        repl.conv.model.name
    ));
    if let Some(resumed) = &repl.settings.resumed {
        note(&resumed_note(resumed));
    }
    loop {
        let prompt = repl.prompt();
        let line = match repl.reader.read(&prompt).await? {
            Input::Eof => break,
            Input::Line(line) => line,
        };
        match commands::parse(&line) {
            Line::Empty => {}
            Line::Message(text) => repl.send(text).await?,
            Line::Invalid(hint) => note(&hint),
            Line::Command(Command::Quit) => break,
            Line::Command(command) => repl.command(command).await?,
        }
    }
    Ok(())
}

fn resumed_note(r: &Resumed) -> String {
    let tools = match r.tool_calls {
        0 => String::new(),
        1 => ", 1 tool call".to_owned(),
        n => format!(", {n} tool calls"),
    };
    format!(
        "resumed session {} ({} messages{tools}, {})",
        r.session_id, r.messages, r.model
    )
}

impl Repl {
    fn prompt(&self) -> String {
        let model = &self.conv.model;
        if self.conv.thinking && !model.thinking {
            format!("{} +think> ", model.name)
        } else {
            format!("{}> ", model.name)
        }
    }

    /// Sends a new user message after the history.
    async fn send(&mut self, text: String) -> anyhow::Result<()> {
        let messages = self.conv.request(Some(&text));
        if let Some(answer) = self.turn(messages).await? {
            self.conv
                .answered(Some(text), answer.content, answer.session_id);
        }
        Ok(())
    }

    /// Runs one turn; `None` when it was cancelled or failed (already reported).
    async fn turn(
        &mut self,
        messages: Vec<crate::session::Message>,
    ) -> std::io::Result<Option<Answer>> {
        let view = View {
            stream: !self.settings.no_stream,
            answer: true,
            reasoning: if self.conv.thinking {
                Sink::Stdout
            } else {
                Sink::Hidden
            },
            dim: output::color_enabled(),
            spinner: !self.settings.quiet && output::stderr_is_terminal(),
        };
        match turn::run(&self.engine, &self.conv, messages, view).await? {
            Ended::Answered(answer) => {
                if self.conv.session_id.as_deref() != Some(answer.session_id.as_str()) {
                    note(&format!("session {}", answer.session_id));
                }
                Ok(Some(answer))
            }
            Ended::Cancelled => {
                note("answer cancelled");
                Ok(None)
            }
            Ended::Failed(err) => {
                render::error(&advice::explain(&err));
                Ok(None)
            }
            Ended::Refused(why) => {
                render::error(&why);
                Ok(None)
            }
        }
    }

    /// The model list, fetched on first need when start-up could not get it.
    async fn models(&mut self) -> Option<Arc<Vec<Model>>> {
        if self.models.is_none() {
            match self.engine.models().await {
                Ok(models) => {
                    self.reader.set_models(conversation::model_names(&models));
                    self.models = Some(models);
                }
                Err(err) => render::error(&advice::explain(&err)),
            }
        }
        self.models.clone()
    }

    async fn command(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Help => output::line(&commands::help())?,
            Command::Model(None) => output::line(&output::inert(&self.conv.model.name))?,
            Command::Model(Some(name)) => self.switch_model(&name).await,
            Command::Models => {
                if let Some(models) = self.models().await {
                    listing::models(&models, &self.conv.model.upstream)?;
                }
            }
            Command::New => {
                self.conv.clear();
                note("new conversation");
            }
            Command::System(SystemArg::Show) => match &self.conv.system {
                Some(system) => output::line(&output::inert(system))?,
                None => note("no system prompt (set one with /system TEXT)"),
            },
            Command::System(arg) => {
                self.conv.system = match arg {
                    SystemArg::Set(text) => Some(text),
                    _ => None,
                };
                self.conv.clear();
                note(if self.conv.system.is_some() {
                    "system prompt set; new conversation"
                } else {
                    "system prompt removed; new conversation"
                });
            }
            Command::Sessions => {
                let q = ListQuery::default();
                match self.engine.archive().list_sessions(&q).await {
                    Ok(rows) => listing::sessions(
                        &rows,
                        self.conv.session_id.as_deref(),
                        crate::time::unix_now_ms(),
                    )?,
                    Err(err) => render::error(&format!("cannot read the sessions: {err}")),
                }
            }
            Command::Resume(id) => self.resume(id).await,
            Command::Regenerate => self.regenerate().await?,
            Command::Export(path) => export::run(&self.conv, &path),
            Command::Think => {
                self.conv.thinking = !self.conv.thinking;
                note(if self.conv.thinking {
                    "thinking on: reasoning is shown dimmed before the answer"
                } else {
                    "thinking off"
                });
            }
            Command::Edit => match tokio::task::spawn_blocking(editor::external_edit).await {
                Ok(Ok(Some(text))) => {
                    note(&text);
                    self.send(text).await?;
                }
                Ok(Ok(None)) => note("nothing written; nothing sent"),
                Ok(Err(err)) => render::error(&format!("cannot edit: {err}")),
                Err(err) => render::error(&format!("cannot edit: {err}")),
            },
            // Handled by the loop.
            Command::Quit => {}
        }
        Ok(())
    }

    async fn switch_model(&mut self, name: &str) {
        let models = self.models().await;
        match conversation::choose_model(name, models.as_deref().map(Vec::as_slice)) {
            Ok(choice) => {
                self.conv.thinking = choice.thinking || self.settings.think_flag;
                note(&format!("model {}", choice.name));
                self.conv.model = choice;
            }
            Err(msg) => render::error(&msg),
        }
    }

    async fn resume(&mut self, id: String) {
        match self
            .conv
            .resume(self.engine.archive(), &Resume::Id(id))
            .await
        {
            Ok(resumed) => {
                // Continue on the session's model, so the upstream chat itself continues.
                if resumed.model != self.conv.model.upstream {
                    let models = self.models().await;
                    if let Ok(choice) = conversation::choose_model(
                        &resumed.model,
                        models.as_deref().map(Vec::as_slice),
                    ) {
                        self.conv.thinking = choice.thinking || self.settings.think_flag;
                        self.conv.model = choice;
                    }
                }
                note(&resumed_note(&resumed));
            }
            Err(msg) => render::error(&msg),
        }
    }

    /// Asks again for the last answer: the same history without it continues from the same
    /// parent, so the upstream makes a sibling answer.
    async fn regenerate(&mut self) -> std::io::Result<()> {
        let Some(messages) = self.conv.without_last_answer() else {
            note("nothing to regenerate yet");
            return Ok(());
        };
        if let Some(answer) = self.turn(messages).await? {
            self.conv.messages.pop();
            self.conv.answered(None, answer.content, answer.session_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_note_counts_tool_calls_when_there_are_some() {
        let mut r = Resumed {
            session_id: "s1".into(),
            model: "qwen3-max".into(),
            messages: 4,
            tool_calls: 0,
        };
        assert_eq!(
            resumed_note(&r),
            "resumed session s1 (4 messages, qwen3-max)"
        );
        r.tool_calls = 2;
        assert_eq!(
            resumed_note(&r),
            "resumed session s1 (4 messages, 2 tool calls, qwen3-max)"
        );
    }
}
