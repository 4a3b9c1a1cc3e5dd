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
//! its text is copied once, from the body into the messages. That value is a [`Json`]
//! borrowing from the body: the common messages (a string, or text, thinking, `tool_use`
//! and `tool_result` blocks of the usual shape) are read from it directly, anything else
//! (including every error) as a [`Value`] by the code below, so each rule is worded once.
//!
//! `system` (a string or text blocks) and `role: "system"` entries inside `messages` (Claude
//! Code sends them) become [`Role::System`] instructions. One system block is dropped: the
//! `x-anthropic-billing-header: cc_version=…; cch=…;` line Claude Code (2.1.29 and later) puts
//! first. It changes with every request, so keeping it would make every history look edited
//! and no conversation could ever continue upstream; it says nothing to the model.

use std::collections::HashMap;

use std::borrow::Cow;

use serde_json::Value;

use super::fields::{
    Object, at, expected, join, missing, object, one_of, opt_bool, present, required_str,
};
use super::request::InvalidRequest;
use crate::openai::item::{self, Json};
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
        parse_message(
            &format!("messages.{i}"),
            item.clone(),
            &mut reader.calls,
            &mut reader.messages,
        )?;
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
    pub(super) fn item(&mut self, i: usize, value: Json<'_>) -> Result<(), InvalidRequest> {
        if i == 0 {
            *self = Reader::default();
        }
        let value = match value {
            Json::Object(fields) => match common_role(&fields, &self.calls) {
                Some(role) => {
                    common_message(role, fields, &mut self.calls, &mut self.messages);
                    return Ok(());
                }
                None => Json::Object(fields),
            },
            other => other,
        };
        parse_message(
            &format!("messages.{i}"),
            value.into_value(),
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

/// The fields of an object as the body parser read them.
type Fields<'de> = Vec<(Cow<'de, str>, Json<'de>)>;

/// The role of a user or assistant message of a common shape, which `common_message` reads
/// exactly as `parse_message` would; `None` for anything else (`parse_message` then reads
/// it, and words its errors).
fn common_role(fields: &[(Cow<'_, str>, Json<'_>)], calls: &Calls) -> Option<Role> {
    let role = match item::present(fields, "role")?.as_str()? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        _ => return None,
    };
    let blocks = match item::present(fields, "content")? {
        Json::Str(_) => return Some(role),
        Json::Array(blocks) => blocks,
        _ => return None,
    };
    let common = blocks.iter().all(|block| {
        let Some(block) = block.as_object() else {
            return false;
        };
        match (role, item::present(block, "type").and_then(Json::as_str)) {
            (_, Some("text")) => has_str(block, "text"),
            (Role::Assistant, Some("thinking" | "redacted_thinking")) => true,
            (Role::Assistant, Some("tool_use")) => {
                has_str(block, "id")
                    && has_str(block, "name")
                    && matches!(item::present(block, "input"), Some(Json::Object(_)))
            }
            (Role::User, Some("tool_result")) => common_result(block, calls),
            _ => false,
        }
    });
    common.then_some(role)
}

/// Whether field `key` is a string.
fn has_str(fields: &[(Cow<'_, str>, Json<'_>)], key: &str) -> bool {
    item::present(fields, key).and_then(Json::as_str).is_some()
}

/// Whether a `tool_result` block answers an earlier `tool_use` with a string or text blocks.
fn common_result(block: &[(Cow<'_, str>, Json<'_>)], calls: &Calls) -> bool {
    let answers = item::present(block, "tool_use_id")
        .and_then(Json::as_str)
        .is_some_and(|id| calls.contains_key(id));
    let content = match item::present(block, "content") {
        None | Some(Json::Str(_)) => true,
        Some(Json::Array(blocks)) => blocks.iter().all(|b| {
            b.as_object().is_some_and(|b| {
                item::present(b, "type").and_then(Json::as_str) == Some("text")
                    && has_str(b, "text")
            })
        }),
        Some(_) => false,
    };
    let flag = matches!(
        item::present(block, "is_error"),
        None | Some(Json::Scalar(Value::Bool(_)))
    );
    answers && content && flag
}

/// A string field `common_role` found, moved out.
fn take_string(fields: &mut Fields<'_>, key: &str) -> String {
    item::take(fields, key)
        .and_then(Json::into_string)
        .unwrap_or_default()
}

/// The texts of text blocks, joined as `join_texts` does.
fn common_texts(texts: Vec<Cow<'_, str>>) -> String {
    join_texts(texts.into_iter().map(Cow::into_owned).collect())
}

/// A message `common_role` accepted as `role`: what `parse_message` makes of it.
fn common_message(role: Role, mut fields: Fields<'_>, calls: &mut Calls, out: &mut Vec<Message>) {
    let blocks = match item::take(&mut fields, "content") {
        Some(Json::Array(blocks)) => blocks,
        Some(Json::Str(text)) => {
            out.push(Message::text(role, text.into_owned()));
            return;
        }
        _ => Vec::new(),
    };
    let mut texts = Vec::new();
    let mut made = Vec::new();
    let mut results = Vec::new();
    for block in blocks {
        let Json::Object(mut block) = block else {
            continue;
        };
        match item::present(&block, "type").and_then(Json::as_str) {
            Some("text") => {
                if let Some(Json::Str(text)) = item::take(&mut block, "text") {
                    texts.push(text);
                }
            }
            Some("tool_use") => {
                let arguments = item::take(&mut block, "input")
                    .and_then(|input| serde_json::to_string(&input).ok())
                    .unwrap_or_default();
                made.push(ToolCall {
                    id: take_string(&mut block, "id"),
                    name: take_string(&mut block, "name"),
                    arguments,
                });
            }
            Some("tool_result") => results.push(common_result_message(block, calls)),
            _ => {}
        }
    }
    let text = common_texts(texts);
    if role == Role::Assistant {
        for call in &made {
            calls.insert(call.id.clone(), call.name.clone());
        }
        let mut message = Message::text(Role::Assistant, text);
        message.tool_calls = made;
        out.push(message);
        return;
    }
    let has_results = !results.is_empty();
    out.extend(results);
    if !text.is_empty() || !has_results {
        out.push(Message::text(Role::User, text));
    }
}

/// A `tool_result` block `common_result` accepted, as `tool_result` makes it.
fn common_result_message(mut block: Fields<'_>, calls: &Calls) -> Message {
    let id = take_string(&mut block, "tool_use_id");
    let content = match item::take(&mut block, "content") {
        Some(Json::Str(text)) => text.into_owned(),
        Some(Json::Array(blocks)) => common_texts(
            blocks
                .into_iter()
                .filter_map(|b| match b {
                    Json::Object(mut b) => match item::take(&mut b, "text") {
                        Some(Json::Str(text)) => Some(text),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
        ),
        _ => String::new(),
    };
    let content = match item::present(&block, "is_error") {
        Some(Json::Scalar(Value::Bool(true))) if content.is_empty() => "Error".to_owned(),
        Some(Json::Scalar(Value::Bool(true))) => format!("Error: {content}"),
        _ => content,
    };
    let mut message = Message::text(Role::Tool, content);
    message.name = calls.get(&id).cloned();
    message.tool_call_id = Some(id);
    message
}
