//! The `messages` array of a chat completion request, read into the engine's neutral
//! [`Message`]s.
//!
//! Roles, content forms (a string or text parts; image, audio and file parts are refused by
//! name rather than dropped) and the parts of a history that only an agent sends are checked
//! here, each rejection naming its place (`messages[2].content[0].text`). Those agent parts
//! are the tool calls of assistant messages (`tool_calls`, or the legacy `function_call`, which
//! gets a synthetic id) and the results that answer them: a `tool` message must answer a call
//! made earlier in the history, by id, and a legacy `function` message the latest earlier
//! `function_call` of its name. Each result carries its tool's name from the call, because
//! the upstream sees results as named blocks (design.md §9).
//!
//! A message is read from its own JSON value, which it consumes: its strings move into the
//! message rather than being copied (an agent's history is hundreds of kilobytes), and the
//! names of its parameters (`messages[2].tool_calls[0].id`) are only spelled out for an
//! error. The body parser hands a message over as a [`Json`] borrowing from the body; the
//! common shapes (text or text parts, function tool calls with string arguments, a `tool`
//! result answering a known call) are read from it directly, anything else (including
//! every error) by the [`Value`] reader below, so there is one wording of each rule.

use std::collections::HashMap;

use serde_json::Value;

use super::item::{self, Json};
use super::params::{Object, missing, present, wrong_type};
use super::request::InvalidRequest;
use crate::session::{Message, Role, ToolCall};

pub(super) fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, InvalidRequest> {
    let items = match value {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type("messages", "an array", other)),
    };
    let mut calls = Calls::default();
    let messages = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_message(i, item.clone(), &mut calls))
        .collect::<Result<Vec<_>, _>>()?;
    nonempty(messages)
}

/// Reads a `messages` array one message at a time, in order (the body parser hands them
/// over as it parses them, see `body.rs`).
#[derive(Debug, Default)]
pub(super) struct Parser {
    calls: Calls,
}

impl Parser {
    /// Message `i`, which comes after every message before it (a body that repeats the
    /// `messages` key starts over at 0: the last array counts, as in a JSON tree).
    pub(super) fn message(&mut self, i: usize, value: Json<'_>) -> Result<Message, InvalidRequest> {
        if i == 0 {
            self.calls = Calls::default();
        }
        match value {
            Json::Object(fields) => match common_role(&fields, &self.calls) {
                Some(role) => Ok(common_message(role, fields, &mut self.calls)),
                None => parse_message(i, Json::Object(fields).into_value(), &mut self.calls),
            },
            other => parse_message(i, other.into_value(), &mut self.calls),
        }
    }
}

/// The fields of a message as the body parser read them.
type Fields<'de> = Vec<(std::borrow::Cow<'de, str>, Json<'de>)>;

/// The role of a message of a common shape, which `common_message` reads exactly as
/// `parse_message` would; `None` for anything else (`parse_message` then reads it).
fn common_role(fields: &[(std::borrow::Cow<'_, str>, Json<'_>)], calls: &Calls) -> Option<Role> {
    let role = Role::parse(item::present(fields, "role")?.as_str()?)?;
    match item::present(fields, "content") {
        Some(Json::Str(_)) => {}
        Some(Json::Array(parts)) => {
            if !parts.iter().all(|part| part_text(part, role).is_some()) {
                return None;
            }
        }
        Some(_) => return None,
        None if role == Role::Assistant && item::present(fields, "tool_calls").is_some() => {}
        None => return None,
    }
    match role {
        Role::Assistant => {
            if item::present(fields, "function_call").is_some() {
                return None;
            }
            match item::present(fields, "tool_calls") {
                None => {}
                Some(Json::Array(made)) if made.iter().all(common_call) => {}
                Some(_) => return None,
            }
        }
        Role::Tool => {
            let id = item::present(fields, "tool_call_id")?.as_str()?;
            if !calls.by_id.contains_key(id) {
                return None;
            }
        }
        _ => {}
    }
    Some(role)
}

/// The text of a content part that `parse_content` accepts, and its field.
fn part_text<'a>(part: &'a Json<'_>, role: Role) -> Option<(&'static str, &'a str)> {
    let fields = part.as_object()?;
    let field = match item::present(fields, "type")?.as_str()? {
        "text" => "text",
        "refusal" if role == Role::Assistant => "refusal",
        _ => return None,
    };
    Some((field, item::present(fields, field)?.as_str()?))
}

/// Whether a `tool_calls[j]` is `{"id", "type": "function", "function": {"name",
/// "arguments": "…"}}` (`type` may be absent).
fn common_call(call: &Json<'_>) -> bool {
    let Some(fields) = call.as_object() else {
        return false;
    };
    let typed = match item::present(fields, "type") {
        None => true,
        Some(kind) => kind.as_str() == Some("function"),
    };
    let function = item::present(fields, "function").and_then(Json::as_object);
    typed
        && item::present(fields, "id").and_then(Json::as_str).is_some()
        && function.is_some_and(|f| {
            item::present(f, "name").and_then(Json::as_str).is_some()
                && item::present(f, "arguments")
                    .and_then(Json::as_str)
                    .is_some()
        })
}

/// A string field that `common_role` found, moved out.
fn take_string(fields: &mut Fields<'_>, key: &str) -> String {
    item::take(fields, key)
        .and_then(Json::into_string)
        .unwrap_or_default()
}

/// A message `common_role` accepted as `role`: what `parse_message` makes of it.
fn common_message(role: Role, mut fields: Fields<'_>, calls: &mut Calls) -> Message {
    let content = match item::take(&mut fields, "content") {
        Some(Json::Str(text)) => text.into_owned(),
        Some(Json::Array(parts)) => {
            let mut texts: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(parts.len());
            for part in parts {
                let Json::Object(mut part) = part else {
                    continue;
                };
                let field = match item::present(&part, "type").and_then(Json::as_str) {
                    Some("refusal") => "refusal",
                    _ => "text",
                };
                if let Some(Json::Str(text)) = item::take(&mut part, field) {
                    texts.push(text);
                }
            }
            match texts.len() {
                1 => texts
                    .pop()
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_default(),
                _ => texts.join("\n"),
            }
        }
        _ => String::new(),
    };
    let mut message = Message::text(role, content);
    match role {
        Role::Assistant => {
            if let Some(Json::Array(made)) = item::take(&mut fields, "tool_calls") {
                message.tool_calls.reserve(made.len());
                for call in made {
                    let Json::Object(mut call) = call else {
                        continue;
                    };
                    let Some(Json::Object(mut function)) = item::take(&mut call, "function") else {
                        continue;
                    };
                    message.tool_calls.push(ToolCall {
                        id: take_string(&mut call, "id"),
                        name: take_string(&mut function, "name"),
                        arguments: take_string(&mut function, "arguments"),
                    });
                }
            }
            for call in &message.tool_calls {
                calls.by_id.insert(call.id.clone(), call.name.clone());
            }
        }
        Role::Tool => {
            let id = take_string(&mut fields, "tool_call_id");
            message.name = calls.by_id.get(&id).cloned();
            message.tool_call_id = Some(id);
        }
        _ => {}
    }
    message
}

/// The messages, unless there are none.
pub(super) fn nonempty(messages: Vec<Message>) -> Result<Vec<Message>, InvalidRequest> {
    if messages.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ));
    }
    Ok(messages)
}

/// The tool calls made so far in the history, so that results can be matched to them without
/// scanning back (a long agent history has thousands of results).
#[derive(Debug, Default)]
struct Calls {
    /// Call id → tool name, of every call so far; a later call reusing an id wins.
    by_id: HashMap<String, String>,
    /// Tool name → synthetic id of the latest legacy `function_call` of that name.
    legacy_by_name: HashMap<String, String>,
}

/// The id a legacy `function_call` of message `i` gets: it had none, and the `function`
/// message answering it is matched by name.
fn legacy_call_id(i: usize) -> String {
    format!("call_legacy_{i}")
}

/// The field `key`, taken out of `obj`, unless it is missing or `null`.
fn take(obj: &mut Object, key: &str) -> Option<Value> {
    obj.remove(key).filter(|v| !v.is_null())
}

/// A required string field, taken out of `obj`; `param` names it in the error.
fn take_str(
    obj: &mut Object,
    key: &str,
    param: impl FnOnce() -> String,
) -> Result<String, InvalidRequest> {
    match take(obj, key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(&param(), "a string", &other)),
        None => Err(missing(&param())),
    }
}

/// A required string field, read in place; `param` names it in the error.
fn str_field<'a>(
    obj: &'a Object,
    key: &str,
    param: impl FnOnce() -> String,
) -> Result<&'a String, InvalidRequest> {
    match present(obj, key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(&param(), "a string", other)),
        None => Err(missing(&param())),
    }
}

fn parse_message(i: usize, value: Value, calls: &mut Calls) -> Result<Message, InvalidRequest> {
    let Value::Object(mut obj) = value else {
        return Err(wrong_type(&format!("messages[{i}]"), "an object", &value));
    };
    let role_param = || format!("messages[{i}].role");
    let (role, legacy) = match present(&obj, "role") {
        None => return Err(missing(&role_param())),
        Some(Value::String(s)) => match parse_role(s) {
            Some(role) => (role, s == "function"),
            None => {
                return Err(InvalidRequest::at(
                    role_param(),
                    format!(
                        "Invalid value: '{s}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                    ),
                ));
            }
        },
        Some(other) => return Err(wrong_type(&role_param(), "a string", other)),
    };
    let content = parse_content(i, role, &mut obj)?;
    let mut message = Message::text(role, content);
    match role {
        Role::Assistant => message.tool_calls = assistant_calls(i, &mut obj, calls)?,
        Role::Tool if legacy => answer_function_call(i, &mut obj, calls, &mut message)?,
        Role::Tool => answer_tool_call(i, &mut obj, calls, &mut message)?,
        _ => {}
    }
    Ok(message)
}

/// The calls of assistant message `i`: its `tool_calls`, then its legacy `function_call`.
fn assistant_calls(
    i: usize,
    obj: &mut Object,
    calls: &mut Calls,
) -> Result<Vec<ToolCall>, InvalidRequest> {
    let mut made = Vec::new();
    match take(obj, "tool_calls") {
        None => {}
        Some(Value::Array(items)) => {
            made.reserve(items.len());
            for (j, item) in items.into_iter().enumerate() {
                made.push(tool_call(
                    || format!("messages[{i}].tool_calls[{j}]"),
                    item,
                )?);
            }
        }
        Some(other) => {
            return Err(wrong_type(
                &format!("messages[{i}].tool_calls"),
                "an array",
                &other,
            ));
        }
    }
    if let Some(value) = take(obj, "function_call") {
        let (name, arguments) = called_function(|| format!("messages[{i}].function_call"), value)?;
        let id = legacy_call_id(i);
        calls.legacy_by_name.insert(name.clone(), id.clone());
        made.push(ToolCall {
            id,
            name,
            arguments,
        });
    }
    for call in &made {
        calls.by_id.insert(call.id.clone(), call.name.clone());
    }
    Ok(made)
}

/// One `tool_calls[j]`: `{"id", "type": "function", "function": {"name", "arguments"}}`. A
/// missing `type` is read as `function` (other OpenAI-compatible servers accept that, and
/// clients written against them omit it); any other type is refused. `param` names the call.
fn tool_call(param: impl Fn() -> String, value: Value) -> Result<ToolCall, InvalidRequest> {
    let Value::Object(mut obj) = value else {
        return Err(wrong_type(&param(), "an object", &value));
    };
    let id = take_str(&mut obj, "id", || format!("{}.id", param()))?;
    match present(&obj, "type") {
        None => {}
        Some(Value::String(kind)) if kind == "function" => {}
        Some(Value::String(kind)) => {
            let param = param();
            return Err(InvalidRequest::at(
                format!("{param}.type"),
                format!(
                    "Invalid value: '{kind}'. Only function tool calls are supported: '{param}.type' must be 'function'."
                ),
            ));
        }
        Some(other) => {
            return Err(wrong_type(&format!("{}.type", param()), "a string", other));
        }
    }
    let function_param = || format!("{}.function", param());
    let (name, arguments) = match take(&mut obj, "function") {
        Some(value) => called_function(function_param, value)?,
        None => return Err(missing(&function_param())),
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// `{"name", "arguments"}` of a call. OpenAI requires `arguments` as a JSON string; an object
/// (which several clients send when replaying a history) is accepted and serialised.
fn called_function(
    param: impl Fn() -> String,
    value: Value,
) -> Result<(String, String), InvalidRequest> {
    let Value::Object(mut obj) = value else {
        return Err(wrong_type(&param(), "an object", &value));
    };
    let name = take_str(&mut obj, "name", || format!("{}.name", param()))?;
    let arguments = match take(&mut obj, "arguments") {
        Some(Value::String(arguments)) => arguments,
        Some(arguments @ Value::Object(_)) => arguments.to_string(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{}.arguments", param()),
                "a string",
                &other,
            ));
        }
        None => return Err(missing(&format!("{}.arguments", param()))),
    };
    Ok((name, arguments))
}

/// A `tool` message: its `tool_call_id` must be a call of an earlier assistant message, whose
/// tool name it takes.
fn answer_tool_call(
    i: usize,
    obj: &mut Object,
    calls: &Calls,
    message: &mut Message,
) -> Result<(), InvalidRequest> {
    let param = || format!("messages[{i}].tool_call_id");
    let id = take_str(obj, "tool_call_id", param)?;
    let Some(name) = calls.by_id.get(&id) else {
        let param = param();
        return Err(InvalidRequest::at(
            &param,
            format!(
                "Invalid '{param}': no earlier tool call has the id '{id}'. A message with role \
                 'tool' must answer a tool call of a preceding assistant message."
            ),
        ));
    };
    message.name = Some(name.clone());
    message.tool_call_id = Some(id);
    Ok(())
}

/// A legacy `function` message: its `name` must be that of an earlier `function_call`, the
/// latest of which it answers.
fn answer_function_call(
    i: usize,
    obj: &mut Object,
    calls: &Calls,
    message: &mut Message,
) -> Result<(), InvalidRequest> {
    let param = || format!("messages[{i}].name");
    let name = take_str(obj, "name", param)?;
    let Some(id) = calls.legacy_by_name.get(&name) else {
        let param = param();
        return Err(InvalidRequest::at(
            &param,
            format!(
                "Invalid '{param}': no earlier assistant message has a function_call named \
                 '{name}'. A message with role 'function' must answer a preceding function_call."
            ),
        ));
    };
    message.tool_call_id = Some(id.clone());
    message.name = Some(name);
    Ok(())
}

fn parse_content(i: usize, role: Role, obj: &mut Object) -> Result<String, InvalidRequest> {
    let param = || format!("messages[{i}].content");
    let parts = match take(obj, "content") {
        Some(Value::String(s)) => return Ok(s),
        Some(Value::Array(parts)) => parts,
        Some(other) => {
            return Err(wrong_type(
                &param(),
                "a string or an array of content parts",
                &other,
            ));
        }
        // An assistant turn that only called tools has no text; nothing to fold but its place.
        None if role == Role::Assistant
            && (present(obj, "tool_calls").is_some()
                || present(obj, "function_call").is_some()) =>
        {
            return Ok(String::new());
        }
        None => return Err(missing(&param())),
    };
    let mut texts = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let part_param = || format!("{}[{j}]", param());
        let Value::Object(part) = part else {
            return Err(wrong_type(&part_param(), "an object", part));
        };
        let kind = match present(part, "type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => {
                return Err(wrong_type(
                    &format!("{}.type", part_param()),
                    "a string",
                    other,
                ));
            }
            None => return Err(missing(&format!("{}.type", part_param()))),
        };
        // An assistant refusal part is text the assistant said; keep it for the history.
        let field = match kind {
            "text" => "text",
            "refusal" if role == Role::Assistant => "refusal",
            _ => return Err(unsupported_part(&param(), kind)),
        };
        let text = str_field(part, field, || format!("{}.{field}", part_param()))?;
        texts.push(text.as_str());
    }
    Ok(texts.join("\n"))
}

fn unsupported_part(param: &str, kind: &str) -> InvalidRequest {
    let what = match kind {
        "image_url" | "image" => "image input",
        "input_audio" | "audio" => "audio input",
        "file" => "file input",
        _ => {
            return InvalidRequest::at(
                param,
                format!("content part type '{kind}' is not supported: send text parts only."),
            );
        }
    };
    InvalidRequest::at(
        param,
        format!(
            "{what} is not supported yet: this proxy forwards text only. Send the content as text parts."
        ),
    )
}

/// A role as OpenAI spells it; `function` (the pre-tools spelling) is read as `Role::Tool`.
fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" | "function" => Role::Tool,
        _ => return None,
    })
}
