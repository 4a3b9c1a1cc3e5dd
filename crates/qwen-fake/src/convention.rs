//! The proxy's side of the tool-calling convention (design.md §9), as the fake reads it: the
//! markers, the tool block of a chat's first message, the `tool_choice` rule, the structured
//! output instruction, result blocks, corrective messages and folded transcripts.
//!
//! The fake must not depend on qwenctl, so the sentences it keys on are copied here. Their
//! source is qwenctl's `src/session/tools/prompt.rs` (and `markup.rs` for the markers,
//! `src/session/fold.rs` for the transcript headers): change both together. Parsing is
//! tolerant and never fails; what it does not recognise is simply user text.
//! Kept whole: it is the one mirror of the proxy's prompt, read best beside `prompt.rs`.

use serde_json::Value;

/// First line of the tool block (prompt.rs `TOOLS_HEADER`).
pub(crate) const TOOLS_HEADER: &str = "Tools you can call:";
/// Starts each tool's compact parameters schema line (prompt.rs `PARAMETERS_PREFIX`).
pub(crate) const PARAMETERS_PREFIX: &str = "  parameters: ";
/// Introduces a structured output's schema, which follows on one line (prompt.rs).
pub(crate) const SCHEMA_INTRO: &str = "Answer with one JSON value and nothing else (no prose, no code fence) that is valid against this JSON Schema:";
/// The instruction of `json_object` outputs (prompt.rs `JSON_OBJECT`).
pub(crate) const JSON_OBJECT: &str =
    "Answer with one JSON object and nothing else (no prose, no code fence).";
/// How every corrective message starts (prompt.rs `CORRECTION_START`).
pub(crate) const CORRECTION_START: &str = "Your last answer could not be used:";

/// The `tool_choice` rules (prompt.rs `choice_rule`).
const RULE_AUTO: &str = "Call a tool when it helps; otherwise answer in plain text.";
const RULE_NONE: &str = "Do not call any tool now; answer in plain text.";
const RULE_REQUIRED: &str = "You must call at least one tool now.";
const RULE_NAMED_START: &str = "You must call the tool `";
const RULE_NAMED_END: &str = "` now.";
const RULE_ONE_AT_A_TIME: &str = " Call at most one tool per answer.";

/// Markers of call and result blocks (markup.rs).
pub(crate) const CALL_OPEN: &str = "<<<TOOL_CALL>>>";
pub(crate) const CALL_CLOSE: &str = "<<<END_TOOL_CALL>>>";
const RESULT_OPEN_START: &str = "<<<TOOL_RESULT";
const RESULT_CLOSE: &str = "<<<END_TOOL_RESULT>>>";

/// Folded histories (fold.rs).
const INSTRUCTIONS: &str = "System instructions:\n";
const NEW_REQUEST: &str = "New request:\n";
const REPLY: &str = "Reply to the conversation above.";
const HISTORY_HEADERS: [&str; 2] = ["Conversation so far:", "Messages since your last reply:"];
/// Role headers of a folded transcript; a tool result's `[tool]` header is not a boundary
/// between result groups.
const USER_HEADER: &str = "[user]\n";
const TOOL_HEADER: &str = "[tool]";
/// What ends a user entry of a folded transcript.
const ENTRY_ENDS: [&str; 4] = [
    "\n\n[assistant]\n",
    "\n\n[tool]\n",
    "\n\n[user]\n",
    "\n\nNew request:\n",
];

/// One declared tool.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    pub name: String,
    /// The compact schema, when the tool has parameters (and it parsed).
    pub parameters: Option<Value>,
}

/// What `tool_choice` asks of this answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub choice: Choice,
    /// "Call at most one tool per answer." (`parallel_tool_calls: false`).
    pub one_at_a_time: bool,
}

impl Rule {
    pub(crate) const AUTO: Rule = Rule {
        choice: Choice::Auto,
        one_at_a_time: false,
    };
}

/// The structured output a message asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Format {
    /// `json_object`, or a schema line that did not parse.
    Object,
    Schema(Value),
}

/// One result block, by byte offsets into the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultBlock<'a> {
    pub name: &'a str,
    pub content: &'a str,
    pub start: usize,
    pub end: usize,
}

/// One upstream message taken apart.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    pub text: &'a str,
    /// Declared tools, when the message holds the tool block.
    pub tools: Option<Vec<Tool>>,
    /// The rule restated at the end, else the tool block's; `None` when neither is there.
    pub rule: Option<Rule>,
    pub format: Option<Format>,
    /// What follows the tool block and precedes the trailing rule and format instruction:
    /// user text, result blocks, a folded transcript (`text[body.0..body.1]`).
    pub body: (usize, usize),
    /// Result blocks within the body, in order.
    pub results: Vec<ResultBlock<'a>>,
}

impl<'a> Message<'a> {
    pub(crate) fn parse(text: &'a str) -> Message<'a> {
        let (tools, block_rule, body_start) = match tool_block(text) {
            Some((tools, rule, end)) => (Some(tools), rule, end),
            None => (None, None, 0),
        };
        let (format, restated, body_end) = trailing_instructions(text);
        let body_end = body_end.max(body_start);
        let results = result_blocks(text, body_start, body_end);
        Message {
            text,
            tools,
            rule: restated.or(block_rule),
            format,
            body: (body_start, body_end),
            results,
        }
    }

    pub(crate) fn body(&self) -> &'a str {
        &self.text[self.body.0..self.body.1]
    }

    /// True when `pos` lies inside a result block (tool output is never user text).
    pub(crate) fn in_result(&self, pos: usize) -> bool {
        self.results.iter().any(|r| r.start <= pos && pos < r.end)
    }

    /// The latest user request of the message: the new request of a folded transcript, the
    /// text after the result blocks of a result turn, or the whole body; trimmed.
    pub(crate) fn latest_user(&self) -> &'a str {
        let body = self.body();
        let offset = self.body.0;
        if let Some(pos) = body.rfind(NEW_REQUEST)
            && (pos == 0 || body[..pos].ends_with('\n'))
            && !self.in_result(offset + pos)
        {
            return body[pos + NEW_REQUEST.len()..].trim();
        }
        let is_transcript = HISTORY_HEADERS.iter().any(|h| body.starts_with(h))
            || HISTORY_HEADERS
                .iter()
                .any(|h| body.contains(&format!("\n\n{h}\n\n")));
        if is_transcript && body.trim_end().ends_with(REPLY) {
            return "";
        }
        if let Some(last) = self.results.last() {
            return self.text[last.end.min(self.body.1)..self.body.1].trim();
        }
        if body.starts_with(INSTRUCTIONS) {
            // Instructions, a blank line, then the request (which has no blank line, or
            // instructions only).
            return body.rfind("\n\n").map_or("", |pos| body[pos..].trim());
        }
        body.trim()
    }

    /// Where the user entry holding byte `pos` ends: the next transcript header, the next
    /// result block, or the end of the body.
    pub(crate) fn entry_end(&self, pos: usize) -> usize {
        let end = self.body.1;
        let tail = &self.text[pos.min(end)..end];
        let header = ENTRY_ENDS
            .iter()
            .filter_map(|h| tail.find(h))
            .min()
            .map(|at| pos + at);
        let result = self.results.iter().map(|r| r.start).find(|&s| s > pos);
        [header, result].into_iter().flatten().min().unwrap_or(end)
    }

    /// Where the user entry holding byte `pos` starts: after the last `[user]` or new-request
    /// header, or the last result block, before it.
    pub(crate) fn entry_start(&self, pos: usize) -> usize {
        let start = self.body.0;
        let head = &self.text[start..pos.clamp(start, self.body.1)];
        let header = [USER_HEADER, NEW_REQUEST]
            .iter()
            .filter_map(|h| head.rfind(h).map(|at| start + at + h.len()))
            .max();
        let result = self
            .results
            .iter()
            .map(|r| r.end)
            .filter(|&e| e <= pos)
            .max();
        [header, result]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(start)
    }

    /// The result groups from byte `from` on: a group is a run of result blocks with nothing
    /// but whitespace and `[tool]` headers between them (one tool-result turn).
    pub(crate) fn result_groups(&self, from: usize) -> Vec<&[ResultBlock<'a>]> {
        let first = self.results.partition_point(|r| r.start < from);
        let blocks = &self.results[first..];
        let mut groups = Vec::new();
        let mut group_start = 0;
        for i in 1..=blocks.len() {
            let split = i == blocks.len() || {
                let between = &self.text[blocks[i - 1].end..blocks[i].start];
                !between.replace(TOOL_HEADER, "").trim().is_empty()
            };
            if split {
                if group_start < i {
                    groups.push(&blocks[group_start..i]);
                }
                group_start = i;
            }
        }
        groups
    }
}

/// Finds the tool block: its tools, its rule, and where the text after it starts.
fn tool_block(text: &str) -> Option<(Vec<Tool>, Option<Rule>, usize)> {
    let header_line = format!("{TOOLS_HEADER}\n");
    let start = if text.starts_with(&header_line) {
        0
    } else {
        text.find(&format!("\n\n{header_line}"))? + 2
    };
    let mut pos = start + header_line.len();
    let mut tools: Vec<Tool> = Vec::new();
    // The tool list, up to its blank line.
    while pos < text.len() {
        let (line, next) = line_at(text, pos);
        if let Some(schema) = line.strip_prefix(PARAMETERS_PREFIX) {
            if let Some(tool) = tools.last_mut() {
                tool.parameters = serde_json::from_str(schema).ok();
            }
        } else if let Some(entry) = line.strip_prefix("- ") {
            let name = entry.split_once(':').map_or(entry, |(name, _)| name).trim();
            if !name.is_empty() {
                tools.push(Tool {
                    name: name.to_owned(),
                    parameters: None,
                });
            }
        } else {
            break;
        }
        pos = next;
    }
    // The convention is a few fixed lines; the rule is the line after them.
    let after_list = pos;
    for _ in 0..10 {
        if pos >= text.len() {
            break;
        }
        let (line, next) = line_at(text, pos);
        if let Some(rule) = parse_rule(line) {
            let body = next + text[next..].len() - text[next..].trim_start_matches('\n').len();
            return Some((tools, Some(rule), body));
        }
        pos = next;
    }
    Some((tools, None, after_list.min(text.len())))
}

/// The line starting at `pos` (without its newline) and where the next one starts.
fn line_at(text: &str, pos: usize) -> (&str, usize) {
    match text[pos..].find('\n') {
        Some(nl) => (&text[pos..pos + nl], pos + nl + 1),
        None => (&text[pos..], text.len()),
    }
}

/// A rule sentence (with its optional one-at-a-time sentence), or `None`.
pub(crate) fn parse_rule(line: &str) -> Option<Rule> {
    let line = line.trim_end();
    let (sentence, one_at_a_time) = match line.strip_suffix(RULE_ONE_AT_A_TIME) {
        Some(sentence) => (sentence, true),
        None => (line, false),
    };
    let choice = match sentence {
        RULE_AUTO => Choice::Auto,
        RULE_NONE => Choice::None,
        RULE_REQUIRED => Choice::Required,
        _ => {
            let name = sentence
                .strip_prefix(RULE_NAMED_START)?
                .strip_suffix(RULE_NAMED_END)?;
            Choice::Named(name.to_owned())
        }
    };
    Some(Rule {
        choice,
        one_at_a_time,
    })
}

/// The format instruction and the restated rule at the end of `text` (in either order), and
/// where the text before them ends.
fn trailing_instructions(text: &str) -> (Option<Format>, Option<Rule>, usize) {
    let (mut format, mut rule) = (None, None);
    let mut end = text.len();
    for _ in 0..2 {
        let head = text[..end].trim_end();
        if format.is_none()
            && let Some((found, at)) = trailing_format(head)
        {
            format = Some(found);
            end = at;
            continue;
        }
        let (before, last) = head.rsplit_once('\n').unwrap_or(("", head));
        if rule.is_none()
            && let Some(found) = parse_rule(last)
        {
            rule = Some(found);
            end = before.len();
            continue;
        }
        break;
    }
    (format, rule, end)
}

fn trailing_format(head: &str) -> Option<(Format, usize)> {
    if let Some(before) = head.strip_suffix(JSON_OBJECT) {
        return Some((Format::Object, before.len()));
    }
    let (before, schema) = head.rsplit_once('\n')?;
    let before = before.strip_suffix(SCHEMA_INTRO)?;
    let format = serde_json::from_str(schema).map_or(Format::Object, Format::Schema);
    Some((format, before.len()))
}

/// The result blocks in `text[start..end]`.
fn result_blocks(text: &str, start: usize, end: usize) -> Vec<ResultBlock<'_>> {
    let mut blocks = Vec::new();
    let mut pos = start;
    while let Some(found) = text[pos..end].find(RESULT_OPEN_START) {
        let open = pos + found;
        let Some(header_len) = text[open..end].find(">>>\n") else {
            break;
        };
        let header = &text[open..open + header_len];
        let content_start = open + header_len + 4;
        let close = format!("\n{RESULT_CLOSE}");
        // An empty content puts the closing marker right after the header's newline.
        let (content_end, block_end) = match text[content_start - 1..end].find(&close) {
            Some(at) => {
                let at = content_start - 1 + at;
                (at.max(content_start), at + close.len())
            }
            None => (end, end),
        };
        let name = header
            .split_once("name=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or("", |(name, _)| name);
        blocks.push(ResultBlock {
            name,
            content: &text[content_start..content_end],
            start: open,
            end: block_end,
        });
        pos = block_end;
    }
    blocks
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    const BLOCK: &str = "Tools you can call:\n\
        - get_weather: Get the weather: now.\n  \
        parameters: {\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],\"type\":\"object\"}\n\
        - now\n\n\
        To call a tool, answer with a block in exactly this form:\n\
        <<<TOOL_CALL>>>\n{\"name\": \"TOOL_NAME\", \"arguments\": {…the arguments as JSON…}}\n<<<END_TOOL_CALL>>>\n\
        Write one block per call; for several calls at once, put the blocks one after another. \
        Write nothing after the last block. Results come back in <<<TOOL_RESULT name=\"…\" id=\"…\">>> blocks.\n";

    #[test]
    fn fake_reads_the_tool_block_and_its_rule() {
        let text = format!(
            "System instructions:\nBe brief.\n\n{BLOCK}You must call the tool `now` now. \
             Call at most one tool per answer.\n\nWhat time is it?"
        );
        let m = Message::parse(&text);
        let tools = m.tools.as_ref().unwrap();
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[0].name, "get_weather");
        assert_eq!(
            tools[0].parameters.as_ref().unwrap()["required"],
            json!(["city"])
        );
        assert_eq!(
            tools[1],
            Tool {
                name: "now".into(),
                parameters: None
            }
        );
        assert_eq!(
            m.rule,
            Some(Rule {
                choice: Choice::Named("now".into()),
                one_at_a_time: true
            })
        );
        assert_eq!(m.body(), "What time is it?");
        assert_eq!(m.latest_user(), "What time is it?");
        assert_eq!(m.format, None);
    }

    #[test]
    fn fake_reads_result_turns_with_restated_rule_and_format() {
        let text = "<<<TOOL_RESULT name=\"get_weather\" id=\"call_1\">>>\nsunny\nwarm\n<<<END_TOOL_RESULT>>>\n\
            <<<TOOL_RESULT name=\"now\" id=\"call_2\">>>\n\n<<<END_TOOL_RESULT>>>\n\n\
            Thanks!\n\nYou must call at least one tool now.\n\n\
            Answer with one JSON value and nothing else (no prose, no code fence) that is valid against this JSON Schema:\n\
            {\"type\":\"integer\"}";
        let m = Message::parse(text);
        assert_eq!(m.tools, None);
        assert_eq!(m.rule.as_ref().map(|r| &r.choice), Some(&Choice::Required));
        assert_eq!(m.format, Some(Format::Schema(json!({"type": "integer"}))));
        let names: Vec<(&str, &str)> = m.results.iter().map(|r| (r.name, r.content)).collect();
        assert_eq!(names, [("get_weather", "sunny\nwarm"), ("now", "")]);
        assert_eq!(m.result_groups(0).len(), 1);
        assert_eq!(m.latest_user(), "Thanks!");

        let object = format!("hi\n\n{JSON_OBJECT}");
        assert_eq!(Message::parse(&object).format, Some(Format::Object));
        assert_eq!(Message::parse(&object).latest_user(), "hi");
    }

    #[test]
    fn fake_counts_result_groups_of_a_folded_transcript() {
        let result = |n: &str| {
            format!("<<<TOOL_RESULT name=\"{n}\" id=\"c\">>>\n{n} out\n<<<END_TOOL_RESULT>>>")
        };
        let text = format!(
            "{BLOCK}Call a tool when it helps; otherwise answer in plain text.\n\n\
             Conversation so far:\n\n[user]\nGo [[call:a {{}}]]\n\n[assistant]\n<<<TOOL_CALL>>>\n{{}}\n<<<END_TOOL_CALL>>>\n\n\
             [tool]\n{}\n\n[tool]\n{}\n\n[assistant]\ncalled\n\n[tool]\n{}\n\nReply to the conversation above.",
            result("a"),
            result("b"),
            result("c")
        );
        let m = Message::parse(&text);
        assert_eq!(m.rule, Some(Rule::AUTO));
        let groups = m.result_groups(0);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].len(), 2);
        assert_eq!(groups[1][0].name, "c");
        assert_eq!(m.latest_user(), "");
        let script = text.find("[[call").unwrap();
        assert_eq!(
            &text[m.entry_start(script)..m.entry_end(script)],
            "Go [[call:a {}]]"
        );
        assert_eq!(m.result_groups(m.entry_end(script)).len(), 2);
    }

    #[test]
    fn fake_parsing_never_panics_on_fragments() {
        let samples = [
            "",
            "Tools you can call:\n",
            "Tools you can call:\n- ",
            "Tools you can call:\n- x\n  parameters: {",
            "<<<TOOL_RESULT",
            "<<<TOOL_RESULT name=\">>>\n",
            "<<<TOOL_RESULT name=\"a\">>>\n\n<<<END_TOOL_RESULT>>>",
            SCHEMA_INTRO,
            "x\nYou must call the tool `",
            "New request:\n",
            "System instructions:\n",
            "é\n\nTools you can call:\nnot a tool",
        ];
        for text in samples {
            let m = Message::parse(text);
            let _ = (m.latest_user(), m.result_groups(0));
            for pos in 0..=text.len() {
                if text.is_char_boundary(pos) {
                    let _ = (m.entry_start(pos), m.entry_end(pos));
                }
            }
        }
    }
}
