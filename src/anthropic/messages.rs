//! `system` and `messages` of a Messages request, read into the engine's neutral
//! [`Message`]s.
//!
//! Anthropic's history is made of content blocks; the engine's of messages with text and
//! tool calls. The mapping, block by block:
//! - `text`: the message's text, several blocks joined with `\n` (the OpenAI parser's rule
//!   for text parts), empty ones skipped; `cache_control` and `citations` ignored;
//! - `tool_use` (assistant): a [`ToolCall`] whose `arguments` are the `input` object as JSON;
//! - `tool_result` (user): a message of its own with [`Role::Tool`], named after the
//!   `tool_use` it answers (found by id anywhere earlier in the history, as the upstream sees
//!   results as named blocks, design.md §9). A user message's results come first, in order,
//!   then a user message with its text, if it has any. A result with `is_error` reads
//!   `Error: <content>`, since the upstream block has no other way to say so;
//! - `thinking` / `redacted_thinking` (assistant): dropped. The engine remembers an answer as
//!   its text and its calls; the reasoning it streamed is not part of what it fingerprints,
//!   so a history that carries it back must match without it;
//! - `image` / `document`: refused by name until images are supported, never dropped.
//!
//! Each message is read from its own JSON value as the body is parsed ([`Reader`], fed by
//! `crate::openai::body`), and consumes it: the texts of blocks and tool results move into
//! the messages instead of being copied, so a long history is not held as a JSON tree and
//! its text is copied once, from the body into the messages.
//!
//! `system` (a string or text blocks) and `role: "system"` entries inside `messages` (Claude
//! Code sends them) become [`Role::System`] instructions. One system block is dropped: the
//! `x-anthropic-billing-header: cc_version=…; cch=…;` line Claude Code (2.1.29 and later) puts
//! first. It changes with every request, so keeping it would make every history look edited
//! and no conversation could ever continue upstream; it says nothing to the model.

use std::collections::HashMap;

use serde_json::Value;

use super::fields::{
    Object, at, expected, join, missing, object, one_of, opt_bool, present, required_str,
};
use super::request::InvalidRequest;
use crate::session::{Message, Role, ToolCall};

/// The first line of the volatile system block Claude Code sends (see the module docs).
const BILLING_HEADER: &str = "x-anthropic-billing-header:";

/// `system`: a string or an array of text blocks, as one instruction text (`None` when absent
/// or empty).
pub(super) fn parse_system(value: Option<&Value>) -> Result<Option<String>, InvalidRequest> {
    let text = match value {
        None => return Ok(None),
        Some(value) => instruction_text(value, "system")?,
    };
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// `messages` when it is not an array as the body parser handed it over (absent, `null` or
/// another type: the error), or when it is (for callers that hold the whole body).
pub(super) fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, InvalidRequest> {
    let items = match value {
        None => return Err(missing("messages")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(expected("messages", "a valid list")),
    };
    let mut reader = Reader::default();
    for (i, item) in items.iter().enumerate() {
        reader.item(i, item.clone())?;
    }
    reader.finish(items.len())
}

/// Reads a `messages` array one message at a time, in order.
#[derive(Debug, Default)]
pub(super) struct Reader {
    calls: Calls,
    messages: Vec<Message>,
}

impl Reader {
    /// Message `i`, which comes after every message before it (a body that repeats the
    /// `messages` key starts over at 0: the last array counts, as in a JSON tree).
    pub(super) fn item(&mut self, i: usize, value: Value) -> Result<(), InvalidRequest> {
        if i == 0 {
            *self = Reader::default();
        }
        parse_message(
            &format!("messages.{i}"),
            value,
            &mut self.calls,
            &mut self.messages,
        )
    }

    /// The messages of an array of `items` items: required, a non-empty array.
    pub(super) fn finish(self, items: usize) -> Result<Vec<Message>, InvalidRequest> {
        if items == 0 {
            return Err(at(
                "messages",
                "List should have at least 1 item after validation, not 0",
            ));
        }
        Ok(self.messages)
    }
}

/// The field `key`, taken out of `obj`, unless it is missing or `null`.
fn take(obj: &mut Object, key: &str) -> Option<Value> {
    obj.remove(key).filter(|v| !v.is_null())
}

/// Tool-use id → tool name, of every `tool_use` so far; a later one reusing an id wins.
type Calls = HashMap<String, String>;

fn parse_message(
    path: &str,
    value: Value,
    calls: &mut Calls,
    out: &mut Vec<Message>,
) -> Result<(), InvalidRequest> {
    let Value::Object(mut obj) = value else {
        return Err(expected(path, "a valid dictionary"));
    };
    let role = match required_str(&obj, "role", path)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        _ => {
            return Err(one_of(
                &join(path, "role"),
                &["user", "assistant", "system"],
            ));
        }
    };
    let content_path = join(path, "content");
    let Some(content) = take(&mut obj, "content") else {
        return Err(missing(&content_path));
    };
    match role {
        Role::System => {
            let text = instruction_text(&content, &content_path)?;
            if !text.is_empty() {
                out.push(Message::text(Role::System, text));
            }
        }
        Role::Assistant => out.push(assistant(content, &content_path, calls)?),
        _ => user(content, &content_path, calls, out)?,
    }
    Ok(())
}

/// The blocks of `content` (a string is one text block), or the error naming it.
fn blocks(content: Value, path: &str) -> Result<Blocks, InvalidRequest> {
    match content {
        Value::String(s) => Ok(Blocks::Text(s)),
        Value::Array(items) => Ok(Blocks::List(items)),
        _ => Err(expected(path, "a valid string or a list of content blocks")),
    }
}

enum Blocks {
    Text(String),
    List(Vec<Value>),
}

/// One block of a list: the object and its `type`.
fn block<'a>(value: &'a Value, path: &str) -> Result<(&'a Object, &'a str), InvalidRequest> {
    let obj = object(value, path)?;
    let kind = required_str(obj, "type", path)?;
    Ok((obj, kind))
}

/// A `text` block's text.
fn block_text<'a>(obj: &'a Object, path: &str) -> Result<&'a str, InvalidRequest> {
    required_str(obj, "text", path)
}

/// A `text` block's text, taken out of the block.
fn take_text(obj: &mut Object, path: &str) -> Result<String, InvalidRequest> {
    block_text(obj, path)?;
    match obj.remove("text") {
        Some(Value::String(text)) => Ok(text),
        _ => Ok(String::new()),
    }
}

/// The refusal of a block type this proxy cannot forward yet.
fn unsupported(path: &str, kind: &str) -> InvalidRequest {
    at(
        path,
        format!(
            "{kind} input is not supported yet: this proxy forwards text only. Send the content \
             as text blocks."
        ),
    )
}

/// The refusal of a block type that is not allowed (or not known) where it is.
fn wrong_block(path: &str, kind: &str, allowed: &[&str]) -> InvalidRequest {
    match kind {
        "image" | "document" => unsupported(path, kind),
        _ => one_of(&join(path, "type"), allowed),
    }
}

/// Instruction text: `system`, or the content of a `role: "system"` message. A string or text
/// blocks, joined with `\n`; Claude Code's billing-header block dropped.
fn instruction_text(content: &Value, path: &str) -> Result<String, InvalidRequest> {
    let items = match content {
        Value::String(s) => return Ok(strip_billing_header(s).to_owned()),
        Value::Array(items) => items,
        _ => return Err(expected(path, "a valid string or a list of text blocks")),
    };
    let mut texts = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let block_path = join(path, j);
        let (obj, kind) = block(item, &block_path)?;
        if kind != "text" {
            return Err(wrong_block(&block_path, kind, &["text"]));
        }
        let text = strip_billing_header(block_text(obj, &block_path)?);
        if !text.is_empty() {
            texts.push(text);
        }
    }
    Ok(texts.join("\n"))
}

/// `text` without a leading billing-header line (see the module docs).
fn strip_billing_header(text: &str) -> &str {
    if !text.starts_with(BILLING_HEADER) {
        return text;
    }
    match text.find('\n') {
        Some(end) => &text[end + 1..],
        None => "",
    }
}

/// An assistant message: its text blocks joined, its `tool_use` blocks as calls, its thinking
/// dropped.
fn assistant(content: Value, path: &str, calls: &mut Calls) -> Result<Message, InvalidRequest> {
    let items = match blocks(content, path)? {
        Blocks::Text(s) => return Ok(Message::text(Role::Assistant, s)),
        Blocks::List(items) => items,
    };
    let mut texts = Vec::new();
    let mut made = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let block_path = join(path, j);
        let (obj, kind) = block(item, &block_path)?;
        match kind {
            "text" => texts.push(block_text(obj, &block_path)?.to_owned()),
            "thinking" | "redacted_thinking" => {}
            "tool_use" => made.push(tool_use(obj, &block_path)?),
            _ => {
                return Err(wrong_block(
                    &block_path,
                    kind,
                    &["text", "thinking", "redacted_thinking", "tool_use"],
                ));
            }
        }
    }
    for call in &made {
        calls.insert(call.id.clone(), call.name.clone());
    }
    let mut message = Message::text(Role::Assistant, join_texts(texts));
    message.tool_calls = made;
    Ok(message)
}

/// A `tool_use` block: `id`, `name`, `input` (an object).
fn tool_use(obj: &Object, path: &str) -> Result<ToolCall, InvalidRequest> {
    let id = required_str(obj, "id", path)?.to_owned();
    let name = required_str(obj, "name", path)?.to_owned();
    let input_path = join(path, "input");
    let arguments = match present(obj, "input") {
        Some(input @ Value::Object(_)) => input.to_string(),
        Some(_) => return Err(expected(&input_path, "a valid dictionary")),
        None => return Err(missing(&input_path)),
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// A user message: a [`Role::Tool`] message per `tool_result`, in order, then the text (when
/// there is text, or when there were no results: a user turn is never lost).
fn user(
    content: Value,
    path: &str,
    calls: &Calls,
    out: &mut Vec<Message>,
) -> Result<(), InvalidRequest> {
    let items = match blocks(content, path)? {
        Blocks::Text(s) => {
            out.push(Message::text(Role::User, s));
            return Ok(());
        }
        Blocks::List(items) => items,
    };
    let mut texts = Vec::new();
    let mut results = Vec::new();
    for (j, item) in items.into_iter().enumerate() {
        let block_path = join(path, j);
        let is_text = match block(&item, &block_path)? {
            (_, "text") => true,
            (_, "tool_result") => false,
            (_, kind) => return Err(wrong_block(&block_path, kind, &["text", "tool_result"])),
        };
        let Value::Object(mut obj) = item else {
            continue;
        };
        if is_text {
            texts.push(take_text(&mut obj, &block_path)?);
        } else {
            results.push(tool_result(obj, &block_path, calls)?);
        }
    }
    let text = join_texts(texts);
    let has_results = !results.is_empty();
    out.extend(results);
    if !text.is_empty() || !has_results {
        out.push(Message::text(Role::User, text));
    }
    Ok(())
}

/// A `tool_result` block as a tool message: `tool_use_id` (a `tool_use` of an earlier
/// assistant message), `content` (absent, a string, or text blocks), `is_error`.
fn tool_result(mut obj: Object, path: &str, calls: &Calls) -> Result<Message, InvalidRequest> {
    let id = required_str(&obj, "tool_use_id", path)?.to_owned();
    let Some(name) = calls.get(&id) else {
        return Err(at(
            &join(path, "tool_use_id"),
            format!(
                "no earlier tool_use block has the id '{id}'. Each tool_result block must \
                 answer a tool_use block of a preceding assistant message."
            ),
        ));
    };
    let content = match take(&mut obj, "content") {
        None => String::new(),
        Some(content) => {
            let content_path = join(path, "content");
            match blocks(content, &content_path)? {
                Blocks::Text(s) => s,
                Blocks::List(items) => {
                    let mut texts = Vec::with_capacity(items.len());
                    for (k, item) in items.into_iter().enumerate() {
                        let block_path = join(&content_path, k);
                        let (_, kind) = block(&item, &block_path)?;
                        if kind != "text" {
                            return Err(wrong_block(&block_path, kind, &["text"]));
                        }
                        if let Value::Object(mut obj) = item {
                            texts.push(take_text(&mut obj, &block_path)?);
                        }
                    }
                    join_texts(texts)
                }
            }
        }
    };
    let content = match opt_bool(&obj, "is_error", path)? {
        Some(true) if content.is_empty() => "Error".to_owned(),
        Some(true) => format!("Error: {content}"),
        _ => content,
    };
    let mut message = Message::text(Role::Tool, content);
    message.name = Some(name.clone());
    message.tool_call_id = Some(id);
    Ok(message)
}

/// Text blocks as one text: non-empty ones joined with `\n` (one of them is moved, not
/// copied).
fn join_texts(mut texts: Vec<String>) -> String {
    texts.retain(|t| !t.is_empty());
    if texts.len() == 1 {
        return texts.pop().unwrap_or_default();
    }
    texts.join("\n")
}
