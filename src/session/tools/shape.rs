//! [`Shaper`]: one answer's text shaped into what the request asked for (design.md §9).
//!
//! Without tools or an output format the text passes through untouched. With tools, the text
//! goes through the [`ToolParser`]: text before the first block passes on, each complete
//! block becomes a validated [`ToolCall`] at once, and a call block found only in the
//! thinking phase is used when the answer has none. With an output format, the text is held
//! until the upstream turn ends and one JSON value is extracted and validated. When a call or
//! the JSON cannot be used (unknown tool, invalid arguments, no call where one is required,
//! no valid JSON), the shaper asks for one corrective turn; if the second answer fails too,
//! its text goes to the client as ordinary content. The shaper is pure: [`super::super::answer`]
//! does the upstream I/O and the limits.

use super::markup::new_call_id;
use super::parse::{Event, RawCall, ToolParser};
use super::{json, prompt, schema};
use crate::session::{OutputFormat, ToolCall, ToolChoice, ToolSpec, TurnRequest};

/// What the shaper passes on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    Text(String),
    Call(ToolCall),
}

/// How an upstream turn ended, as far as its shape goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// The answer is usable (or past correcting): pass these on and finish.
    Done(Vec<Out>),
    /// Send this corrective message in the same chat and shape its answer instead.
    Correct(String),
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Shaper {
    tools: Option<Tools>,
    format: OutputFormat,
    /// Text is held until the turn ends (a call is required, or one JSON value is expected).
    hold: bool,
    held: String,
    /// This upstream turn's answer text, whole.
    raw: String,
    /// Bytes of `raw` the parser passed on as text (held or not).
    passed: usize,
    /// Calls handed out over every upstream turn.
    calls: usize,
    /// A corrective turn was taken.
    corrected: bool,
    /// Text was passed on (not held) before the corrective turn.
    spoke: bool,
}

#[derive(Debug)]
struct Tools {
    specs: Vec<ToolSpec>,
    choice: ToolChoice,
    parallel: bool,
    parser: ToolParser,
    thinking: ToolParser,
    /// Why calls of this turn could not be used.
    failures: Vec<String>,
    /// Calls handed out in this upstream turn.
    turn_calls: usize,
    /// Calls found in the thinking phase of this turn.
    thinking_calls: Vec<RawCall>,
}

impl Tools {
    fn keep_thinking_calls(&mut self, events: Vec<Event>) {
        self.thinking_calls
            .extend(events.into_iter().filter_map(|e| match e {
                Event::Call(call) => Some(call),
                _ => None,
            }));
    }
}

/// Why an answer cannot be used, and so which correction to ask for.
enum Failure {
    Tools(String),
    Json(String),
}

impl Shaper {
    /// The shaper for `req`: takes its tools (the engine is done with them by now).
    pub fn new(req: &mut TurnRequest) -> Shaper {
        let tools = (!req.tools.is_empty() && req.tool_choice != ToolChoice::None).then(|| Tools {
            specs: std::mem::take(&mut req.tools),
            choice: req.tool_choice.clone(),
            parallel: req.parallel_tool_calls,
            parser: ToolParser::new(),
            thinking: ToolParser::new(),
            failures: Vec::new(),
            turn_calls: 0,
            thinking_calls: Vec::new(),
        });
        let required = tools
            .as_ref()
            .is_some_and(|t| matches!(t.choice, ToolChoice::Required | ToolChoice::Named(_)));
        Shaper {
            hold: required || req.format != OutputFormat::Text,
            format: req.format.clone(),
            tools,
            held: String::new(),
            raw: String::new(),
            passed: 0,
            calls: 0,
            corrected: false,
            spoke: false,
        }
    }

    /// Whether the text passes through untouched (no tools, no format).
    pub fn is_plain(&self) -> bool {
        self.tools.is_none() && self.format == OutputFormat::Text
    }

    /// This upstream turn's answer text, whole (for the record of a corrected exchange).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// A delta of the answer text.
    pub fn answer(&mut self, delta: &str) -> Vec<Out> {
        self.raw.push_str(delta);
        let Some(tools) = self.tools.as_mut() else {
            self.passed += delta.len();
            return self.text(delta.to_owned());
        };
        let events = tools.parser.push(delta);
        self.take(events)
    }

    /// A delta of the thinking text: only read for call blocks, used at the end when the
    /// answer itself has none.
    pub fn thinking(&mut self, delta: &str) {
        if let Some(tools) = self.tools.as_mut() {
            let events = tools.thinking.push(delta);
            tools.keep_thinking_calls(events);
        }
    }

    /// The upstream turn ended.
    pub fn finish(&mut self) -> Ending {
        let mut out = Vec::new();
        if let Some(tools) = self.tools.as_mut() {
            let events = tools.parser.finish();
            out = self.take(events);
        }
        // A call written only in the thinking phase counts when the answer has no block.
        if let Some(tools) = self.tools.as_mut()
            && !tools.parser.saw_block()
        {
            let events = tools.thinking.finish();
            tools.keep_thinking_calls(events);
            for call in std::mem::take(&mut tools.thinking_calls) {
                out.extend(self.call(call));
            }
        }
        match self.failure() {
            Some(Failure::Tools(reason)) if !self.corrected => {
                Ending::Correct(prompt::tool_correction(&reason))
            }
            Some(Failure::Json(reason)) if !self.corrected => {
                Ending::Correct(prompt::format_correction(&reason))
            }
            Some(_) => {
                // Past correcting: the text as ordinary content.
                out.extend(self.give_up());
                Ending::Done(out)
            }
            None => {
                let text = match self.json_answer() {
                    Some(Ok(json)) => json,
                    _ => std::mem::take(&mut self.held),
                };
                out.extend(self.text_out(text));
                Ending::Done(out)
            }
        }
    }

    /// Why this turn's answer cannot be used, if it cannot.
    fn failure(&self) -> Option<Failure> {
        if let Some(tools) = &self.tools {
            if !tools.failures.is_empty() {
                return Some(Failure::Tools(tools.failures.join("; ")));
            }
            if self.calls == 0 {
                match &tools.choice {
                    ToolChoice::Required => {
                        return Some(Failure::Tools(
                            "no tool was called, and one must be".to_owned(),
                        ));
                    }
                    ToolChoice::Named(name) => {
                        return Some(Failure::Tools(format!(
                            "the tool `{name}` was not called, and it must be"
                        )));
                    }
                    _ => {}
                }
            }
        }
        match self.json_answer() {
            Some(Err(reason)) => Some(Failure::Json(reason)),
            _ => None,
        }
    }

    fn text_out(&self, text: String) -> Option<Out> {
        (!text.is_empty()).then_some(Out::Text(text))
    }

    /// The corrective turn could not be taken: the text as ordinary content.
    pub fn give_up(&mut self) -> Vec<Out> {
        self.corrected = true;
        let mut text = std::mem::take(&mut self.held);
        text.push_str(self.raw.get(self.passed..).unwrap_or_default());
        self.passed = self.raw.len();
        self.text_out(text).into_iter().collect()
    }

    /// Gets ready to shape the answer to a corrective message.
    pub fn restart(&mut self) {
        self.corrected = true;
        self.held.clear();
        self.raw.clear();
        self.passed = 0;
        if let Some(tools) = self.tools.as_mut() {
            tools.parser = ToolParser::new();
            tools.thinking = ToolParser::new();
            tools.failures.clear();
            tools.turn_calls = 0;
            tools.thinking_calls.clear();
        }
    }

    fn take(&mut self, events: Vec<Event>) -> Vec<Out> {
        let mut out = Vec::new();
        for event in events {
            match event {
                Event::Text(text) => {
                    self.passed += text.len();
                    out.extend(self.text(text));
                }
                Event::Call(call) => out.extend(self.call(call)),
                Event::Malformed { reason, .. } => {
                    if let Some(tools) = self.tools.as_mut() {
                        tools.failures.push(reason);
                    }
                }
            }
        }
        out
    }

    fn text(&mut self, text: String) -> Vec<Out> {
        if self.hold {
            self.held.push_str(&text);
            Vec::new()
        } else if text.is_empty() || (self.corrected && self.spoke) {
            // The client already has the first answer's text; a corrected answer that
            // starts by saying it again only repeats it.
            Vec::new()
        } else {
            self.spoke = true;
            vec![Out::Text(text)]
        }
    }

    fn call(&mut self, raw: RawCall) -> Option<Out> {
        let tools = self.tools.as_mut()?;
        if !tools.parallel && self.calls > 0 {
            return None;
        }
        match check_call(raw, &tools.specs, &tools.choice) {
            Ok(call) => {
                tools.turn_calls += 1;
                self.calls += 1;
                Some(Out::Call(call))
            }
            Err(reason) => {
                tools.failures.push(reason);
                None
            }
        }
    }

    /// The held text as the one JSON value asked for, or why it is not; `None` when no JSON
    /// was asked for or the answer made calls instead.
    fn json_answer(&self) -> Option<Result<String, String>> {
        if self.format == OutputFormat::Text || self.calls > 0 {
            return None;
        }
        let Some((value, text)) = json::extract(&self.held) else {
            return Some(Err("it holds no JSON value".to_owned()));
        };
        Some(match &self.format {
            OutputFormat::JsonObject if !value.is_object() => {
                Err("it is JSON but not an object".to_owned())
            }
            OutputFormat::JsonSchema { schema, .. } => schema::validate(&value, schema)
                .map(|()| text)
                .map_err(|e| format!("the JSON does not match the schema: {e}")),
            _ => Ok(text),
        })
    }
}

/// A parsed call checked against the declared tools: the name must match one exactly or
/// case-insensitively (the declared spelling is kept), a named `tool_choice` must be obeyed,
/// and the arguments must be an object valid against the tool's schema.
fn check_call(raw: RawCall, specs: &[ToolSpec], choice: &ToolChoice) -> Result<ToolCall, String> {
    let spec = specs.iter().find(|s| s.name == raw.name).or_else(|| {
        specs
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&raw.name))
    });
    let Some(spec) = spec else {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "there is no tool named `{}` (the tools are: {})",
            raw.name,
            names.join(", ")
        ));
    };
    if let ToolChoice::Named(name) = choice
        && *name != spec.name
    {
        return Err(format!(
            "the tool `{name}` must be called, not `{}`",
            spec.name
        ));
    }
    if !raw.arguments.is_object() {
        return Err(format!(
            "the arguments of `{}` must be a JSON object",
            spec.name
        ));
    }
    schema::validate(&raw.arguments, &spec.parameters)
        .map_err(|e| format!("the arguments of `{}` are invalid: {e}", spec.name))?;
    Ok(ToolCall {
        id: new_call_id(),
        name: spec.name.clone(),
        arguments: raw.arguments.to_string(),
    })
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
