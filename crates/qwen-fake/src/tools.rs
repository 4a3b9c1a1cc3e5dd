//! The fake as a tool-calling model: what it answers in a chat that declared tools (the tool
//! block in its first message) or to a message that asks for a structured output, following
//! the text convention qwenctl states upstream (design.md §9, [`crate::convention`]).
//!
//! Without directives it behaves like a well-mannered model:
//! - "You must call the tool `X` now." calls `X`, and "You must call at least one tool now."
//!   calls the first declared tool, with arguments synthesised from the schema
//!   ([`crate::synth`]);
//! - otherwise a structured output is answered with the synthesised value (compact JSON), or
//!   `{"answer":"<the user text, first 80 characters>"}` for `json_object`;
//! - otherwise, unless the rule forbids calls, `use NAME` or `call NAME` in the user's latest
//!   text calls each declared tool named so (only the first under "Call at most one tool per
//!   answer.");
//! - otherwise a message with result blocks is summarised, one sentence per result of its
//!   latest result turn, in order: `Done. get_weather returned: sunny. now returned: 12:00.`
//!   (the first non-empty line of each content, a trailing `.` dropped, cut at 80 characters
//!   with `…`; `NAME returned nothing.` for an empty result);
//! - otherwise the usual echo and name recall of [`crate::answer`], on the latest user text.
//!
//! A corrective message (`Your last answer could not be used: …`) is answered with the
//! correct form of what the message before the corrections asked for.
//!
//! Directives in user text script the answers instead (they are read from the most recent user
//! text that has any, and a malformed one is rejected with `Bad_Request`):
//! - `[[call:NAME JSON]]` calls `NAME` with `JSON` (any JSON value) as arguments, and
//!   `[[call:NAME]]` with synthesised ones; several calls in one step are parallel calls.
//! - `[[then]]` starts the next step: the script's message is answered with step 0, and each
//!   later tool-result turn (or result group of a folded transcript, after the script) moves
//!   one step on. A step that is missing or empty falls back to the behaviour above (so a
//!   finished script summarises the results), and so does a later user turn without results,
//!   which ends the script.
//! - `[[say:TEXT]]` answers exactly `TEXT` (up to the first `]]`).
//! - `[[json:JSON]]` answers `JSON` (compact) in prose and a fence:
//!   `Here is the JSON:\n```json\n…\n```\nThat is all.`; after a correction, the bare JSON.
//! - `[[json-broken]]` answers `{"unterminated": ` first and, after a correction, the value
//!   of the structured output (as above).
//! - `[[form:F]]` (comma-separated, all steps): `fenced` (the JSON in a ```` ```json ````
//!   fence inside the block), `string-args` (arguments as a JSON string), `parameters` /
//!   `input` (that key instead of `arguments`), `array` (the step's calls as one array in one
//!   block), `no-end` (the last block without its end marker), `prose-before` (`Let me check.`
//!   on a line before the first block), `prose-after` (`I will wait for the results.` on a
//!   line after the last block), `thinking` (the blocks only in the thinking phase and
//!   `I will use the tools.` as the answer, when the request has thinking enabled; without
//!   thinking the form is ignored).
//! - `[[broken]]` (all steps): a step's first answer calls `NAME_v2` (undeclared) and `NAME`,
//!   both with `{}`, `NAME` being the step's first call; after a correction, the right calls.
//!   `[[broken:twice]]` breaks the correction's answer too.
//!
//! In one step `say` wins over `json-broken`, which wins over `json`, which wins over calls.
//! Corrections are answered in the plain convention, whatever the forms. Nothing is kept
//! per chat: the answer is a function of the chain's user texts, which the fake keeps anyway.
//! Kept whole: the directives, the step counting and the default behaviours decide one
//! answer together.

use serde_json::{Value, json};

use crate::answer::{Answer, compose};
use crate::convention::{
    CALL_CLOSE, CALL_OPEN, CORRECTION_START, Choice, Format, Message, ResultBlock, Rule, Tool,
};
use crate::directives::{self, Forms, Script, Step};
use crate::synth;

/// The line before the first block under `[[form:prose-before]]`.
pub(crate) const PROSE_BEFORE: &str = "Let me check.";
/// The line after the last block under `[[form:prose-after]]`.
pub(crate) const PROSE_AFTER: &str = "I will wait for the results.";
/// The answer phase when the calls went to the thinking phase.
pub(crate) const THINKING_ANSWER: &str = "I will use the tools.";
/// Prose around a `[[json:…]]` answer's fence.
pub(crate) const JSON_BEFORE: &str = "Here is the JSON:";
pub(crate) const JSON_AFTER: &str = "That is all.";
/// The first answer of `[[json-broken]]`.
pub(crate) const BROKEN_JSON: &str = "{\"unterminated\": ";

/// Characters of user text and tool results quoted in answers.
const QUOTE_LIMIT: usize = 80;

/// The answer of a tool-calling model to `current` (user texts of the chain before it in
/// `chain`, oldest first), or `None` when the chat declared no tools and no structured
/// output is asked for. `Err` is a malformed directive in `current`.
pub(crate) fn answer(
    chain: &[String],
    current: &str,
    thinking: bool,
) -> Result<Option<Answer>, String> {
    let texts: Vec<&str> = chain
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(current))
        .collect();
    let last = texts.len() - 1;
    // A correction is answered as the message before the corrections asked, correctly.
    let trailing = texts
        .iter()
        .rev()
        .take_while(|t| t.starts_with(CORRECTION_START))
        .count();
    let (asked, corrections) = match trailing > last {
        true => (last, 0),
        false => (last - trailing, trailing),
    };
    let message = Message::parse(texts[asked]);
    let tools = match asked {
        0 => message.tools.clone(),
        _ => Message::parse(texts[0]).tools,
    }
    .or_else(|| message.tools.clone());
    let format = match (&message.format, asked == last) {
        (Some(format), _) => Some(format.clone()),
        (None, true) => None,
        (None, false) => Message::parse(current).format,
    };
    if tools.is_none() && format.is_none() {
        return Ok(None);
    }
    let model = Model {
        chain,
        message: &message,
        tools: tools.as_deref().unwrap_or_default(),
        rule: message.rule.clone().unwrap_or(Rule::AUTO),
        format,
        corrections,
        thinking,
    };
    if let Some((script, done)) = find_script(&texts, asked, last)?
        && let Some(step) = script.steps.get(done).filter(|s| !s.is_empty())
    {
        return Ok(Some(model.scripted(&script, step)));
    }
    Ok(Some(model.unscripted(current)))
}

/// The script in force for message `asked` and how many steps it has done: the directives of
/// the most recent user text holding any, if every message after it is a result turn (or a
/// correction).
fn find_script(
    texts: &[&str],
    asked: usize,
    last: usize,
) -> Result<Option<(Script, usize)>, String> {
    for i in (0..=asked).rev() {
        if texts[i].starts_with(CORRECTION_START) {
            // The proxy's own words: they neither hold nor end a script.
            continue;
        }
        let message = Message::parse(texts[i]);
        let offset = message.body.0;
        let found: Vec<directives::Found> = directives::find_all(message.body())
            .into_iter()
            .map(|mut f| {
                f.start += offset;
                f.end += offset;
                f
            })
            .filter(|f| !message.in_result(f.start))
            .collect();
        let Some(latest) = found.last() else {
            if message.result_groups(offset).is_empty() {
                // A user turn without directives nor results ends any earlier script.
                return Ok(None);
            }
            continue;
        };
        let (start, end) = (
            message.entry_start(latest.start),
            message.entry_end(latest.start),
        );
        let in_entry = found.iter().filter(|f| (start..end).contains(&f.start));
        let script = match Script::build(in_entry) {
            Ok(script) => script,
            Err(why) if i == last => return Err(why),
            Err(_) => return Ok(None),
        };
        let mut done = message.result_groups(end).len();
        for later in &texts[i + 1..=asked] {
            done += Message::parse(later).result_groups(0).len();
        }
        return Ok(Some((script, done)));
    }
    Ok(None)
}

/// Everything one answer depends on.
struct Model<'a> {
    chain: &'a [String],
    /// The message being answered (the one before any corrections).
    message: &'a Message<'a>,
    tools: &'a [Tool],
    rule: Rule,
    format: Option<Format>,
    /// Corrective messages since that message.
    corrections: usize,
    thinking: bool,
}

impl Model<'_> {
    fn scripted(&self, script: &Script, step: &Step) -> Answer {
        if let Some(text) = &step.say {
            return Answer::plain(text.clone());
        }
        if step.json_broken {
            return Answer::plain(match self.corrections {
                0 => BROKEN_JSON.to_owned(),
                _ => self.json_value().to_string(),
            });
        }
        if let Some(value) = &step.json {
            return Answer::plain(match self.corrections {
                0 => format!("{JSON_BEFORE}\n```json\n{value}\n```\n{JSON_AFTER}"),
                _ => value.to_string(),
            });
        }
        let calls: Vec<(String, Value)> = step
            .calls
            .iter()
            .map(|call| {
                let arguments = call
                    .arguments
                    .clone()
                    .unwrap_or_else(|| self.synthesised(&call.name));
                (call.name.clone(), arguments)
            })
            .collect();
        if usize::from(script.broken) > self.corrections
            && let Some((name, _)) = calls.first()
        {
            let broken = [(format!("{name}_v2"), json!({})), (name.clone(), json!({}))];
            return Answer::plain(render(&broken, Forms::default()));
        }
        if self.corrections > 0 {
            return Answer::plain(render(&calls, Forms::default()));
        }
        let text = render(&calls, script.forms);
        match script.forms.thinking && self.thinking {
            true => Answer {
                text: THINKING_ANSWER.to_owned(),
                thought: Some(text),
            },
            false => Answer::plain(text),
        }
    }

    fn unscripted(&self, current: &str) -> Answer {
        let forced = match &self.rule.choice {
            Choice::Named(name) => Some(name.clone()),
            Choice::Required => self.tools.first().map(|t| t.name.clone()),
            Choice::Auto | Choice::None => None,
        };
        if let Some(name) = forced {
            return self.call(vec![name]);
        }
        if self.format.is_some() {
            return Answer::plain(self.json_value().to_string());
        }
        if self.rule.choice != Choice::None {
            let mut named = self.mentioned();
            if self.rule.one_at_a_time {
                named.truncate(1);
            }
            if !named.is_empty() {
                return self.call(named);
            }
        }
        if let Some(results) = self.message.result_groups(self.message.body.0).last() {
            return Answer::plain(summary(results));
        }
        let user = self.message.latest_user();
        let said = if user.is_empty() { current } else { user };
        Answer::plain(compose(self.chain, said))
    }

    /// Calls to `names` with synthesised arguments, in the plain convention.
    fn call(&self, names: Vec<String>) -> Answer {
        let calls: Vec<(String, Value)> = names
            .into_iter()
            .map(|name| {
                let arguments = self.synthesised(&name);
                (name, arguments)
            })
            .collect();
        Answer::plain(render(&calls, Forms::default()))
    }

    fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name).or_else(|| {
            self.tools
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
        })
    }

    fn synthesised(&self, name: &str) -> Value {
        synth::arguments(self.tool(name).and_then(|t| t.parameters.as_ref()))
    }

    /// The user's latest text, without directives, trimmed.
    fn user_text(&self) -> String {
        directives::strip(self.message.latest_user())
            .trim()
            .to_owned()
    }

    /// The value a structured output gets.
    fn json_value(&self) -> Value {
        match &self.format {
            Some(Format::Schema(schema)) => synth::synthesize(schema),
            _ => json!({"answer": self.user_text().chars().take(QUOTE_LIMIT).collect::<String>()}),
        }
    }

    /// Declared tools the user's latest text asks for (`use NAME`, `call NAME`, the name
    /// possibly in backticks), in the order they are mentioned.
    fn mentioned(&self) -> Vec<String> {
        let text = self.user_text().to_ascii_lowercase();
        let mut found: Vec<(usize, &str)> = self
            .tools
            .iter()
            .filter_map(|tool| {
                let name = tool.name.to_ascii_lowercase();
                ["use ", "call ", "use `", "call `"]
                    .iter()
                    .filter_map(|verb| first_mention(&text, verb, &name))
                    .min()
                    .map(|at| (at, tool.name.as_str()))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, name)| name.to_owned()).collect()
    }
}

/// Where `verb` followed by `name` first occurs in `text` as whole words.
fn first_mention(text: &str, verb: &str, name: &str) -> Option<usize> {
    let needle = format!("{verb}{name}");
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(&needle).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// `calls` as call blocks in `forms`, one after another separated by a newline.
fn render(calls: &[(String, Value)], forms: Forms) -> String {
    let key = forms.key.as_str();
    let payloads: Vec<String> = calls
        .iter()
        .map(|(name, arguments)| {
            let arguments = match forms.string_args {
                true => Value::String(arguments.to_string()),
                false => arguments.clone(),
            };
            format!(
                "{{\"name\": {}, \"{key}\": {arguments}}}",
                Value::String(name.clone())
            )
        })
        .collect();
    let payloads = match forms.array {
        true => vec![format!("[{}]", payloads.join(", "))],
        false => payloads,
    };
    let count = payloads.len();
    let blocks: Vec<String> = payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            let payload = match forms.fenced {
                true => format!("```json\n{payload}\n```"),
                false => payload,
            };
            match forms.no_end && i + 1 == count {
                true => format!("{CALL_OPEN}\n{payload}"),
                false => format!("{CALL_OPEN}\n{payload}\n{CALL_CLOSE}"),
            }
        })
        .collect();
    let mut out = String::new();
    if forms.prose_before {
        out.push_str(PROSE_BEFORE);
        out.push('\n');
    }
    out.push_str(&blocks.join("\n"));
    if forms.prose_after {
        out.push('\n');
        out.push_str(PROSE_AFTER);
    }
    out
}

/// `Done. NAME returned: FIRST_LINE.` with one sentence per result.
fn summary(results: &[ResultBlock<'_>]) -> String {
    let sentences: Vec<String> = results
        .iter()
        .map(|result| {
            let name = match result.name {
                "" => "the tool",
                name => name,
            };
            let line = result
                .content
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| l.trim_end_matches('.'));
            match line {
                None | Some("") => format!("{name} returned nothing."),
                Some(line) => match line.char_indices().nth(QUOTE_LIMIT) {
                    Some((cut, _)) => format!("{name} returned: {}….", &line[..cut]),
                    None => format!("{name} returned: {line}."),
                },
            }
        })
        .collect();
    format!("Done. {}", sentences.join(" "))
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod unit;
