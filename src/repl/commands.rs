//! The REPL's `/` commands: parsing a line into a [`Command`], the help text, and the tab
//! completions the line editor offers.
//!
//! Pure functions of the line, so every spelling, argument check and completion is
//! unit-tested without a terminal. A line starting with `//` is a message that starts with
//! `/`, the escape for text like "/usr/bin is where?".

use std::path::PathBuf;

/// A command the REPL understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `/model` alone shows the current model.
    Model(Option<String>),
    Models,
    New,
    /// `/system` alone shows the system prompt; `/system --clear` removes it.
    System(SystemArg),
    Sessions,
    Resume(String),
    Regenerate,
    Export(PathBuf),
    Think,
    Edit,
    Quit,
}

/// The argument of `/system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemArg {
    Show,
    Clear,
    Set(String),
}

/// What a line of input is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Text to send.
    Message(String),
    Command(Command),
    /// Nothing to do (a blank line).
    Empty,
    /// A command that is not one, or misses its argument: the hint to show.
    Invalid(String),
}

/// Every command with its argument and what it does, for `/help` and completion.
const COMMANDS: &[(&str, &str, &str)] = &[
    ("/help", "", "show this help"),
    (
        "/model",
        "[NAME]",
        "show or switch the model (Tab completes names)",
    ),
    ("/models", "", "list the models the upstream offers"),
    ("/new", "", "start a fresh conversation"),
    (
        "/system",
        "[TEXT|--clear]",
        "show or set the system prompt (starts a fresh conversation)",
    ),
    (
        "/sessions",
        "",
        "recent sessions, from `chat` and `serve` alike",
    ),
    (
        "/resume",
        "ID",
        "continue a stored session (an unambiguous id prefix will do)",
    ),
    ("/regenerate", "", "answer the last message again"),
    (
        "/export",
        "FILE",
        "save this conversation as .md, .json or .jsonl",
    ),
    (
        "/think",
        "",
        "toggle thinking (reasoning shown dimmed before the answer)",
    ),
    ("/edit", "", "write the next message in $EDITOR"),
    ("/quit", "", "leave (Ctrl-D works too)"),
];

/// Parses one (possibly multi-line) input.
pub fn parse(input: &str) -> Line {
    if input.trim().is_empty() {
        return Line::Empty;
    }
    let trimmed = input.trim_start();
    if let Some(literal) = trimmed.strip_prefix("//") {
        return Line::Message(format!("/{literal}"));
    }
    let Some(body) = trimmed.strip_prefix('/') else {
        return Line::Message(input.to_owned());
    };
    let (name, arg) = match body.split_once(char::is_whitespace) {
        Some((name, arg)) => (name, arg.trim()),
        None => (body.trim_end(), ""),
    };
    let arg = (!arg.is_empty()).then(|| arg.to_owned());
    let needs = |what: &str| Line::Invalid(format!("/{name} needs {what}"));
    let command = match name {
        "help" | "h" | "?" => Command::Help,
        "model" => Command::Model(arg),
        "models" => Command::Models,
        "new" | "clear" => Command::New,
        "system" => Command::System(match arg.as_deref() {
            None => SystemArg::Show,
            Some("--clear") => SystemArg::Clear,
            Some(text) => SystemArg::Set(text.to_owned()),
        }),
        "sessions" => Command::Sessions,
        "resume" => match arg {
            Some(id) => Command::Resume(id),
            None => return needs("a session id (see /sessions)"),
        },
        "regenerate" | "retry" => Command::Regenerate,
        "export" => match arg {
            Some(file) => Command::Export(PathBuf::from(file)),
            None => return needs("a file name ending in .md, .json or .jsonl"),
        },
        "think" => Command::Think,
        "edit" => Command::Edit,
        "quit" | "exit" | "q" => Command::Quit,
        _ => return Line::Invalid(unknown(name)),
    };
    Line::Command(command)
}

fn unknown(name: &str) -> String {
    let close: Vec<&str> = COMMANDS
        .iter()
        .map(|(c, _, _)| *c)
        .filter(|c| !name.is_empty() && c[1..].starts_with(name))
        .collect();
    let hint = match close.as_slice() {
        [] => String::new(),
        some => format!(" (did you mean {}?)", some.join(" or ")),
    };
    format!(
        "unknown command /{name}{hint}: type /help for the list, or // to send a line starting with /"
    )
}

/// The `/help` text.
pub fn help() -> String {
    let mut out = String::from("Commands:\n");
    for (name, arg, what) in COMMANDS {
        let left = if arg.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name} {arg}")
        };
        out.push_str(&format!("  {left:<24} {what}\n"));
    }
    out.push_str(
        "\nInput: Enter sends; a line ending in \\ continues on the next line; a \"\"\" line \
         starts a block that another \"\"\" line ends.\nCtrl-C cancels an answer (or clears \
         the line); Ctrl-D leaves.",
    );
    out
}

/// Tab completion: command names after `/`, model names after `/model `. Returns where
/// the completed word starts and the candidates.
pub fn complete(line: &str, pos: usize, models: &[String]) -> (usize, Vec<String>) {
    let Some(before) = line.get(..pos) else {
        return (pos, Vec::new());
    };
    if let Some(partial) = before.strip_prefix("/model ") {
        // `partial` ends at `pos`, so its start is found from its length.
        let partial = partial.trim_start();
        let start = pos - partial.len();
        let found = models
            .iter()
            .filter(|m| m.starts_with(partial))
            .cloned()
            .collect();
        return (start, found);
    }
    if before.starts_with('/') && !before.contains(char::is_whitespace) {
        let found = COMMANDS
            .iter()
            .map(|(c, _, _)| *c)
            .filter(|c| c.starts_with(before))
            .map(str::to_owned)
            .collect();
        return (0, found);
    }
    (pos, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_escapes() {
        assert_eq!(parse("hello"), Line::Message("hello".into()));
        assert_eq!(parse("  "), Line::Empty);
        assert_eq!(parse("//usr is odd"), Line::Message("/usr is odd".into()));
        assert_eq!(parse("a\n/b"), Line::Message("a\n/b".into()));
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse("/help"), Line::Command(Command::Help));
        assert_eq!(parse("/model"), Line::Command(Command::Model(None)));
        assert_eq!(
            parse("/model  qwen-plus "),
            Line::Command(Command::Model(Some("qwen-plus".into())))
        );
        assert_eq!(
            parse("/system be brief\nand kind"),
            Line::Command(Command::System(SystemArg::Set("be brief\nand kind".into())))
        );
        assert_eq!(
            parse("/system --clear"),
            Line::Command(Command::System(SystemArg::Clear))
        );
        assert_eq!(
            parse("/resume abc"),
            Line::Command(Command::Resume("abc".into()))
        );
        assert_eq!(
            parse("/export out.md"),
            Line::Command(Command::Export("out.md".into()))
        );
        assert_eq!(parse("/quit"), Line::Command(Command::Quit));
        assert_eq!(parse("/exit "), Line::Command(Command::Quit));
    }

    #[test]
    fn bad_commands_get_hints() {
        let Line::Invalid(hint) = parse("/mod") else {
            panic!()
        };
        assert!(hint.contains("/model or /models"), "{hint}");
        let Line::Invalid(hint) = parse("/resume") else {
            panic!()
        };
        assert!(hint.contains("session id"), "{hint}");
        let Line::Invalid(hint) = parse("/") else {
            panic!()
        };
        assert!(hint.contains("/help"), "{hint}");
        assert!(help().contains("/regenerate"));
    }

    #[test]
    fn completion() {
        let models = vec!["qwen3-max".to_owned(), "qwen-plus".to_owned()];
        assert_eq!(
            complete("/model qwen3", 12, &models),
            (7, vec!["qwen3-max".to_owned()])
        );
        assert_eq!(complete("/model ", 7, &models).1.len(), 2);
        assert_eq!(
            complete("/re", 3, &models),
            (0, vec!["/resume".to_owned(), "/regenerate".to_owned()])
        );
        assert!(complete("hello", 5, &models).1.is_empty());
        assert!(complete("/model x", 99, &models).1.is_empty());
    }
}
