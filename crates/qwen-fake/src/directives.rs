//! Test directives: `[[call:…]]`, `[[then]]`, `[[form:…]]`, `[[broken]]`, `[[json:…]]`,
//! `[[json-broken]]` and `[[say:…]]` in user text script what the fake answers in a chat with
//! tools or a structured output (see [`crate::tools`] for what each one does).
//!
//! They sit in user text because that is what survives any proxy, like the `[[fake:FAULT]]`
//! markers, which are left to the fault planner. A recognised directive that is malformed
//! (bad JSON, unknown form, missing `]]`) is an error, so a typo in a test fails loudly;
//! any other `[[` is ordinary text.

use serde_json::Value;

const CLOSE: &str = "]]";

/// One directive, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Directive {
    /// `[[call:NAME]]` or `[[call:NAME JSON]]`; without JSON the arguments are synthesised.
    Call {
        name: String,
        arguments: Option<Value>,
    },
    Then,
    Form(Forms),
    /// `[[broken]]` (1) or `[[broken:twice]]` (2): how many answers are broken.
    Broken(u8),
    Json(Value),
    JsonBroken,
    Say(String),
}

/// A directive found in a text, by byte offsets; `parsed` is the error of a malformed one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub parsed: Result<Directive, String>,
}

/// Where the arguments go in a call's JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ArgsKey {
    #[default]
    Arguments,
    Parameters,
    Input,
}

impl ArgsKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ArgsKey::Arguments => "arguments",
            ArgsKey::Parameters => "parameters",
            ArgsKey::Input => "input",
        }
    }
}

/// The drifts of `[[form:…]]`, all combinable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Forms {
    pub fenced: bool,
    pub string_args: bool,
    pub key: ArgsKey,
    pub array: bool,
    pub no_end: bool,
    pub prose_before: bool,
    pub prose_after: bool,
    pub thinking: bool,
}

impl Forms {
    fn merge(&mut self, other: Forms) {
        self.fenced |= other.fenced;
        self.string_args |= other.string_args;
        if other.key != ArgsKey::Arguments {
            self.key = other.key;
        }
        self.array |= other.array;
        self.no_end |= other.no_end;
        self.prose_before |= other.prose_before;
        self.prose_after |= other.prose_after;
        self.thinking |= other.thinking;
    }
}

/// One call of a script step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub name: String,
    pub arguments: Option<Value>,
}

/// One answer of a script: what the fake says at that step.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Step {
    pub calls: Vec<Call>,
    pub say: Option<String>,
    pub json: Option<Value>,
    pub json_broken: bool,
}

impl Step {
    pub(crate) fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.say.is_none() && self.json.is_none() && !self.json_broken
    }
}

/// The directives of one user text: steps separated by `[[then]]`, and the forms and
/// breakage that apply to every step.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Script {
    pub steps: Vec<Step>,
    pub forms: Forms,
    pub broken: u8,
}

impl Script {
    /// The script of `found` (in text order); the first malformed directive is the error.
    pub(crate) fn build<'a>(found: impl IntoIterator<Item = &'a Found>) -> Result<Script, String> {
        let mut script = Script {
            steps: vec![Step::default()],
            ..Script::default()
        };
        for item in found {
            let directive = item.parsed.clone()?;
            let Some(step) = script.steps.last_mut() else {
                continue;
            };
            match directive {
                Directive::Call { name, arguments } => step.calls.push(Call { name, arguments }),
                Directive::Then => script.steps.push(Step::default()),
                Directive::Form(forms) => script.forms.merge(forms),
                Directive::Broken(times) => script.broken = script.broken.max(times),
                Directive::Json(value) => step.json = Some(value),
                Directive::JsonBroken => step.json_broken = true,
                Directive::Say(text) => step.say = Some(text),
            }
        }
        Ok(script)
    }
}

/// Every recognised directive in `text`, in order (fault markers and other `[[` skipped).
pub(crate) fn find_all(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(at) = text[pos..].find("[[") {
        let start = pos + at;
        match parse_at(&text[start..]) {
            Some((len, parsed)) => {
                found.push(Found {
                    start,
                    end: start + len,
                    parsed,
                });
                pos = start + len.max(2);
            }
            None => pos = start + 2,
        }
    }
    found
}

/// The directive at the start of `text` (which starts with `[[`): its length and its
/// parse, or `None` when this `[[` opens no directive.
fn parse_at(text: &str) -> Option<(usize, Result<Directive, String>)> {
    let (prefix, rest) = [
        "[[call:",
        "[[then]]",
        "[[form:",
        "[[broken]]",
        "[[broken:",
        "[[json-broken]]",
        "[[json:",
        "[[say:",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p).map(|rest| (*p, rest)))?;
    let offset = prefix.len();
    let bad = |why: String| Some((offset, Err(why)));
    let closed = |len: usize, directive: Directive| Some((offset + len, Ok(directive)));
    match prefix {
        "[[then]]" => closed(0, Directive::Then),
        "[[broken]]" => closed(0, Directive::Broken(1)),
        "[[json-broken]]" => closed(0, Directive::JsonBroken),
        "[[broken:" => match rest.strip_prefix("twice]]") {
            Some(_) => closed("twice]]".len(), Directive::Broken(2)),
            None => bad("bad fake directive `[[broken:…]]`: only `[[broken:twice]]`".into()),
        },
        "[[say:" => match rest.find(CLOSE) {
            Some(end) => closed(end + CLOSE.len(), Directive::Say(rest[..end].to_owned())),
            None => bad("bad fake directive `[[say:`: no closing `]]`".into()),
        },
        "[[form:" => {
            let Some(end) = rest.find(CLOSE) else {
                return bad("bad fake directive `[[form:`: no closing `]]`".into());
            };
            match parse_forms(&rest[..end]) {
                Ok(forms) => closed(end + CLOSE.len(), Directive::Form(forms)),
                Err(why) => bad(why),
            }
        }
        "[[json:" => match json_then_close(rest) {
            Ok((value, len)) => closed(len, Directive::Json(value)),
            Err(why) => bad(format!("bad fake directive `[[json:`: {why}")),
        },
        _ => match parse_call(rest) {
            Ok((name, arguments, len)) => closed(len, Directive::Call { name, arguments }),
            Err(why) => bad(format!("bad fake directive `[[call:`: {why}")),
        },
    }
}

fn parse_forms(list: &str) -> Result<Forms, String> {
    let mut forms = Forms::default();
    for name in list.split(',').map(str::trim) {
        match name {
            "fenced" => forms.fenced = true,
            "string-args" => forms.string_args = true,
            "parameters" => forms.key = ArgsKey::Parameters,
            "input" => forms.key = ArgsKey::Input,
            "array" => forms.array = true,
            "no-end" => forms.no_end = true,
            "prose-before" => forms.prose_before = true,
            "prose-after" => forms.prose_after = true,
            "thinking" => forms.thinking = true,
            _ => return Err(format!("unknown fake call form `{name}`")),
        }
    }
    Ok(forms)
}

/// `NAME]]` or `NAME JSON]]`: the name, the arguments, and the length up to the `]]`.
fn parse_call(rest: &str) -> Result<(String, Option<Value>, usize), String> {
    let name_len = rest
        .find(|c: char| c.is_whitespace() || c == ']')
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if name.is_empty() {
        return Err("no tool name".into());
    }
    let after = &rest[name_len..];
    let args_at = name_len + (after.len() - after.trim_start().len());
    if rest[args_at..].starts_with(CLOSE) {
        return Ok((name.to_owned(), None, args_at + CLOSE.len()));
    }
    let (value, len) = json_then_close(&rest[args_at..])?;
    Ok((name.to_owned(), Some(value), args_at + len))
}

/// One JSON value then `]]` (whitespace allowed around): the value and the length consumed.
fn json_then_close(text: &str) -> Result<(Value, usize), String> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let value = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(err)) => return Err(format!("invalid JSON ({err})")),
        None => return Err("no JSON value".into()),
    };
    let end = values.byte_offset();
    let tail = &text[end..];
    let skipped = tail.len() - tail.trim_start().len();
    match tail.trim_start().starts_with(CLOSE) {
        true => Ok((value, end + skipped + CLOSE.len())),
        false => Err("no closing `]]` after the JSON".into()),
    }
}

/// `text` without its directives (for the user text the fake quotes).
pub(crate) fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for found in find_all(text) {
        out.push_str(&text[pos..found.start]);
        pos = found.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Vec<Result<Directive, String>> {
        find_all(text).into_iter().map(|f| f.parsed).collect()
    }

    #[test]
    fn fake_parses_each_directive() {
        let text = "go [[fake:slow=5]] [[call:get_weather {\"city\": \"Paris ]]\"}]] \
                    [[call:now]][[call:echo [1, 2] ]] [[then]] [[form:fenced, array]] \
                    [[form:input]] [[broken]] [[broken:twice]] [[json:{\"a\": [1]}]] \
                    [[json-broken]] [[say:It is sunny.]] [[not one]]";
        assert_eq!(
            parsed(text),
            [
                Ok(Directive::Call {
                    name: "get_weather".into(),
                    arguments: Some(json!({"city": "Paris ]]"}))
                }),
                Ok(Directive::Call {
                    name: "now".into(),
                    arguments: None
                }),
                Ok(Directive::Call {
                    name: "echo".into(),
                    arguments: Some(json!([1, 2]))
                }),
                Ok(Directive::Then),
                Ok(Directive::Form(Forms {
                    fenced: true,
                    array: true,
                    ..Forms::default()
                })),
                Ok(Directive::Form(Forms {
                    key: ArgsKey::Input,
                    ..Forms::default()
                })),
                Ok(Directive::Broken(1)),
                Ok(Directive::Broken(2)),
                Ok(Directive::Json(json!({"a": [1]}))),
                Ok(Directive::JsonBroken),
                Ok(Directive::Say("It is sunny.".into())),
            ]
        );
        assert_eq!(
            strip("a [[then]]b [[say:x]] [[fake:waf]]"),
            "a b  [[fake:waf]]"
        );
    }

    #[test]
    fn fake_rejects_malformed_directives() {
        for text in [
            "[[call:x {\"a\": ]]",
            "[[call:x {} tail]]",
            "[[call: {}]]",
            "[[call:x {}",
            "[[form:sideways]]",
            "[[form:fenced",
            "[[broken:thrice]]",
            "[[json:]]",
            "[[json:{}",
            "[[say:open",
            "[[call:x 12",
        ] {
            let found = find_all(text);
            assert!(
                found.first().is_some_and(|f| f.parsed.is_err()),
                "{text}: {found:?}"
            );
        }
    }

    #[test]
    fn fake_builds_steps_and_script_wide_modifiers() {
        let found = find_all(
            "[[call:a {}]] [[call:b]] [[form:no-end]] [[then]] [[broken]] [[say:done]] [[then]]",
        );
        let script = Script::build(&found).unwrap();
        assert_eq!(script.steps.len(), 3);
        assert_eq!(script.steps[0].calls.len(), 2);
        assert_eq!(script.steps[1].say.as_deref(), Some("done"));
        assert!(script.steps[2].is_empty());
        assert!(script.forms.no_end);
        assert_eq!(script.broken, 1);
        assert!(Script::build(&find_all("[[call:x {]]")).is_err());
    }
}
