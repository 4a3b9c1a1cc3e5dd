//! `input` of a Responses request, read into the engine's neutral [`Message`]s.
//!
//! The Responses API spells a history as a list of items, the engine as messages with text
//! and tool calls. The mapping, item by item:
//! - a string `input`: one user message;
//! - `message` (also an item with a `role` and no `type`, the API's "easy" message): a
//!   message of that role (`developer` stays [`Role::Developer`]), its text parts
//!   (`input_text`, `output_text`, `refusal`) joined with `\n`, empty ones skipped;
//!   `input_image` / `input_file` / `input_audio` are refused by name until they can be
//!   forwarded, never dropped;
//! - `function_call`: a [`ToolCall`] of an assistant message. Consecutive calls, and the
//!   assistant message directly before them, are ONE message: the engine fingerprints an
//!   answer as one message with its text and its calls (design.md §9), and the Responses
//!   output of that answer is a `message` item followed by `function_call` items;
//! - `function_call_output`: a [`Role::Tool`] message answering a call by `call_id`, named
//!   after it (the upstream sees results as named blocks). A `call_id` no earlier item made
//!   is refused, unless the request continues a `previous_response_id`: then the call was in
//!   that response, and its name is left for the engine to fill in from it;
//! - `reasoning`: dropped, and transparent to the merging above. The engine remembers an
//!   answer as its text and calls; the reasoning it streamed is not part of it, so a history
//!   that carries it back must match without it.
//!
//! Items are read one at a time as the body is parsed ([`History`], fed by
//! `crate::openai::body`), each consuming its JSON value, so the input is never held as one
//! JSON tree and its texts move into the messages instead of being copied. That value is a
//! [`Json`] borrowing from the body: the common items (a text message, a `function_call`
//! with string arguments, an output answering a call of the input, `reasoning`) are read
//! from it directly, anything else (including every error) as a [`Value`] by the code
//! below, so each rule is worded once. Whether the
//! request continues a `previous_response_id` is only known once the whole body is read, so
//! an output whose call is not in the input is kept until then, named by nobody, and
//! refused at the end when the request turns out not to continue one.
//!
//! Item `id` and `status` fields (Codex and the SDKs send back the output items as they got
//! them) carry no conversation content and are ignored. Item types this proxy cannot have
//! produced and cannot forward (`custom_tool_call`, `local_shell_call`, `web_search_call`,
//! `item_reference`, …) are refused naming `input[i].type`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::fields::{Object, join, missing, one_of, present, required_str, wrong_type};
use crate::openai::InvalidRequest;
use crate::openai::item::{self, Json};
use crate::session::{Message, Role, ToolCall};

/// The item types a history may hold.
const ITEM_TYPES: [&str; 4] = [
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
];

/// Item types of the Responses API that belong to tools this proxy does not offer (or to
/// server-side state it does not keep): refused with a sentence saying why, rather than the
/// plain list of supported values an unknown type gets.
const UNSERVED_ITEM_TYPES: [&str; 26] = [
    "custom_tool_call",
    "custom_tool_call_output",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "web_search_call",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "program",
    "program_output",
    "compaction",
    "function_shell_call",
    "function_shell_call_output",
];

/// `input`: a string, or a non-empty array of items. `continues` is whether the request
/// continues a `previous_response_id` (see the module docs).
pub(super) fn parse_input(
    value: Option<&Value>,
    continues: bool,
) -> Result<Vec<Message>, InvalidRequest> {
    let items = match value {
        None => return Err(missing("input")),
        Some(Value::String(s)) => return Ok(vec![Message::text(Role::User, s.as_str())]),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(wrong_type(
                "input",
                "a string or an array of input items",
                other,
            ));
        }
    };
    if items.is_empty() {
        return Err(empty_input());
    }
    let mut history = History {
        continues: Some(continues),
        ..History::default()
    };
    for (i, item) in items.iter().enumerate() {
        history.read(&format!("input[{i}]"), item.clone())?;
    }
    history.finish(Ok(items.len()), continues)
}

/// The messages read so far and what reading the next item needs.
#[derive(Debug, Default)]
pub(super) struct History {
    messages: Vec<Message>,
    /// Call id → tool name, of every `function_call` so far; a later one reusing an id wins.
    calls: HashMap<String, String>,
    /// The last message is an assistant message that a `function_call` joins.
    open_assistant: bool,
    /// Whether the request continues a `previous_response_id`, when known yet.
    continues: Option<bool>,
    /// The refusal of the first output whose call no earlier item made, read before it was
    /// known whether the request continues a response.
    unanswered: Option<InvalidRequest>,
}

impl History {
    /// Input item `i`, which comes after every item before it (a body that repeats the
    /// `input` key starts over at 0: the last array counts, as in a JSON tree).
    pub(super) fn item(&mut self, i: usize, value: Json<'_>) -> Result<(), InvalidRequest> {
        if i == 0 {
            *self = History {
                continues: self.continues,
                ..History::default()
            };
        }
        let value = match value {
            Json::Object(fields) => match self.common_kind(&fields) {
                Some(kind) => {
                    self.common_item(kind, fields);
                    return Ok(());
                }
                None => Json::Object(fields),
            },
            other => other,
        };
        self.read(&format!("input[{i}]"), value.into_value())
    }

    /// The kind of an item of a common shape, which `common_item` reads exactly as `read`
    /// would; `None` for anything else (`read` then reads it, and words its errors).
    fn common_kind(&self, fields: &[(Cow<'_, str>, Json<'_>)]) -> Option<Common> {
        let kind = match item::present(fields, "type") {
            Some(kind) => kind.as_str()?,
            None if item::present(fields, "role").is_some() => "message",
            None => return None,
        };
        let has_str = |key| item::present(fields, key).and_then(Json::as_str).is_some();
        match kind {
            "message" => {
                let role = match item::present(fields, "role")?.as_str()? {
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "system" => Role::System,
                    "developer" => Role::Developer,
                    _ => return None,
                };
                let texts = &["input_text", "output_text", "refusal"];
                common_text(item::present(fields, "content")?, texts)
                    .then_some(Common::Message(role))
            }
            "function_call" => (has_str("call_id") && has_str("name") && has_str("arguments"))
                .then_some(Common::Call),
            "function_call_output" => {
                let answers = item::present(fields, "call_id")
                    .and_then(Json::as_str)
                    .is_some_and(|id| self.calls.contains_key(id));
                (answers && common_text(item::present(fields, "output")?, &["input_text"]))
                    .then_some(Common::Output)
            }
            "reasoning" => Some(Common::Reasoning),
            _ => None,
        }
    }

    /// An item `common_kind` accepted as `kind`: what `read` makes of it.
    fn common_item(&mut self, kind: Common, mut fields: Fields<'_>) {
        match kind {
            Common::Message(role) => {
                let text = taken_text(item::take(&mut fields, "content"));
                self.messages.push(Message::text(role, text));
                self.open_assistant = role == Role::Assistant;
            }
            Common::Call => {
                let call = ToolCall {
                    id: take_string(&mut fields, "call_id"),
                    name: take_string(&mut fields, "name"),
                    arguments: take_string(&mut fields, "arguments"),
                };
                self.push_call(call);
            }
            Common::Output => {
                let call_id = take_string(&mut fields, "call_id");
                let output = taken_text(item::take(&mut fields, "output"));
                let mut message = Message::text(Role::Tool, output);
                message.name = self.calls.get(&call_id).cloned();
                message.tool_call_id = Some(call_id);
                self.messages.push(message);
                self.open_assistant = false;
            }
            Common::Reasoning => {}
        }
    }

    /// The messages of an array whose items were read (`read`: how many, or the first
    /// refusal), once it is known whether the request `continues` a response.
    pub(super) fn finish(
        self,
        read: Result<usize, InvalidRequest>,
        continues: bool,
    ) -> Result<Vec<Message>, InvalidRequest> {
        if let Some(refused) = self.unanswered.filter(|_| !continues) {
            return Err(refused);
        }
        if read? == 0 {
            return Err(empty_input());
        }
        Ok(self.messages)
    }

    fn read(&mut self, param: &str, value: Value) -> Result<(), InvalidRequest> {
        let Value::Object(obj) = value else {
            return Err(wrong_type(param, "an object", &value));
        };
        let type_param = join(param, "type");
        let kind = match present(&obj, "type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => return Err(wrong_type(&type_param, "a string", other)),
            // The "easy" message form: a role and content, no type.
            None if present(&obj, "role").is_some() => "message",
            None => return Err(missing(&type_param)),
        };
        match kind {
            "message" => self.message(param, obj),
            "function_call" => self.function_call(param, obj),
            "function_call_output" => self.function_call_output(param, obj),
            "reasoning" => Ok(()),
            _ => Err(unsupported_item(&type_param, kind)),
        }
    }

    fn message(&mut self, param: &str, mut obj: Object) -> Result<(), InvalidRequest> {
        let role_param = join(param, "role");
        let role = match required_str(&obj, "role", param)? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" => Role::System,
            "developer" => Role::Developer,
            other => {
                return Err(one_of(
                    &role_param,
                    other,
                    &["user", "assistant", "system", "developer"],
                ));
            }
        };
        let content_param = join(param, "content");
        let text = match take(&mut obj, "content") {
            None => return Err(missing(&content_param)),
            Some(content) => content_text(content, &content_param)?,
        };
        self.messages.push(Message::text(role, text));
        self.open_assistant = role == Role::Assistant;
        Ok(())
    }

    fn function_call(&mut self, param: &str, mut obj: Object) -> Result<(), InvalidRequest> {
        let call_id = required_str(&obj, "call_id", param)?.to_owned();
        let name = required_str(&obj, "name", param)?.to_owned();
        // The API sends `arguments` as a JSON string; an object (which some clients send when
        // replaying a history) is accepted and serialised, as the chat parser does.
        let arguments = match take(&mut obj, "arguments") {
            Some(Value::String(arguments)) => arguments,
            Some(arguments @ Value::Object(_)) => arguments.to_string(),
            Some(other) => {
                return Err(wrong_type(&join(param, "arguments"), "a string", &other));
            }
            None => return Err(missing(&join(param, "arguments"))),
        };
        self.push_call(ToolCall {
            id: call_id,
            name,
            arguments,
        });
        Ok(())
    }

    /// A call of the history: it joins the assistant message it follows, or opens one.
    fn push_call(&mut self, call: ToolCall) {
        self.calls.insert(call.id.clone(), call.name.clone());
        match self.messages.last_mut() {
            Some(last) if self.open_assistant && last.role == Role::Assistant => {
                last.tool_calls.push(call);
            }
            _ => {
                let mut message = Message::text(Role::Assistant, "");
                message.tool_calls.push(call);
                self.messages.push(message);
                self.open_assistant = true;
            }
        }
    }

    fn function_call_output(&mut self, param: &str, mut obj: Object) -> Result<(), InvalidRequest> {
        let call_id = required_str(&obj, "call_id", param)?.to_owned();
        let name = match self.calls.get(&call_id) {
            Some(name) => Some(name.clone()),
            // The call was in the previous response: the engine knows its name.
            None if self.continues == Some(true) => None,
            None => {
                let call_param = join(param, "call_id");
                let refused = InvalidRequest::at(
                    &call_param,
                    format!(
                        "Invalid '{call_param}': no function_call item with call_id \
                         '{call_id}' precedes this function_call_output. Send the call with \
                         its output, or continue the response that made it with \
                         'previous_response_id'."
                    ),
                );
                match self.continues {
                    Some(_) => return Err(refused),
                    // Refused at the end unless the request continues a response.
                    None => {
                        self.unanswered.get_or_insert(refused);
                        None
                    }
                }
            }
        };
        let output_param = || join(param, "output");
        let output = match take(&mut obj, "output") {
            Some(Value::String(s)) => s,
            Some(Value::Array(parts)) => parts_text(&parts, &output_param(), &["input_text"])?,
            Some(other) => {
                return Err(wrong_type(
                    &output_param(),
                    "a string or an array of content parts",
                    &other,
                ));
            }
            None => return Err(missing(&output_param())),
        };
        let mut message = Message::text(Role::Tool, output);
        message.tool_call_id = Some(call_id);
        message.name = name;
        self.messages.push(message);
        self.open_assistant = false;
        Ok(())
    }
}

/// The fields of an object as the body parser read them.
type Fields<'de> = Vec<(Cow<'de, str>, Json<'de>)>;

/// The item kinds `History::common_item` reads.
#[derive(Debug, Clone, Copy)]
enum Common {
    Message(Role),
    Call,
    Output,
    Reasoning,
}

/// Whether `content` is a string or parts of the `allowed` kinds with their text.
fn common_text(content: &Json<'_>, allowed: &[&str]) -> bool {
    match content {
        Json::Str(_) => true,
        Json::Array(parts) => parts.iter().all(|part| {
            part.as_object().is_some_and(|part| {
                let kind = item::present(part, "type").and_then(Json::as_str);
                let field = match kind {
                    Some("refusal") => "refusal",
                    _ => "text",
                };
                kind.is_some_and(|kind| allowed.contains(&kind))
                    && item::present(part, field).and_then(Json::as_str).is_some()
            })
        }),
        _ => false,
    }
}

/// A content `common_text` accepted, as one text: non-empty part texts joined with `\n`.
fn taken_text(content: Option<Json<'_>>) -> String {
    match content {
        Some(Json::Str(text)) => text.into_owned(),
        Some(Json::Array(parts)) => {
            let texts: Vec<Cow<'_, str>> = parts
                .into_iter()
                .filter_map(|part| {
                    let Json::Object(mut part) = part else {
                        return None;
                    };
                    let field = match item::present(&part, "type").and_then(Json::as_str) {
                        Some("refusal") => "refusal",
                        _ => "text",
                    };
                    match item::take(&mut part, field) {
                        Some(Json::Str(text)) if !text.is_empty() => Some(text),
                        _ => None,
                    }
                })
                .collect();
            match <[_; 1]>::try_from(texts) {
                Ok([text]) => text.into_owned(),
                Err(texts) => texts.join("\n"),
            }
        }
        _ => String::new(),
    }
}

/// A string field the common reader found, moved out.
fn take_string(fields: &mut Fields<'_>, key: &str) -> String {
    item::take(fields, key)
        .and_then(Json::into_string)
        .unwrap_or_default()
}

/// The field `key`, taken out of `obj`, unless it is missing or `null`.
fn take(obj: &mut Object, key: &str) -> Option<Value> {
    obj.remove(key).filter(|v| !v.is_null())
}

/// The refusal of an empty `input` array.
fn empty_input() -> InvalidRequest {
    InvalidRequest::at(
        "input",
        "Invalid 'input': empty array. Expected an array with minimum length 1, but got an \
         empty array instead.",
    )
}

/// A message's `content`: a string, or text parts.
fn content_text(content: Value, param: &str) -> Result<String, InvalidRequest> {
    match content {
        Value::String(s) => Ok(s),
        Value::Array(parts) => parts_text(&parts, param, &["input_text", "output_text", "refusal"]),
        other => Err(wrong_type(
            param,
            "a string or an array of content parts",
            &other,
        )),
    }
}

/// Content parts of one of the `allowed` text kinds, their non-empty texts joined with `\n`.
fn parts_text(parts: &[Value], param: &str, allowed: &[&str]) -> Result<String, InvalidRequest> {
    let mut texts = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let part_param = format!("{param}[{j}]");
        let Value::Object(part) = part else {
            return Err(wrong_type(&part_param, "an object", part));
        };
        let kind = required_str(part, "type", &part_param)?;
        let field = match kind {
            "input_image" | "input_file" | "input_audio" => {
                return Err(unsupported_part(&part_param, kind));
            }
            _ if !allowed.contains(&kind) => {
                return Err(one_of(&join(&part_param, "type"), kind, allowed));
            }
            "refusal" => "refusal",
            _ => "text",
        };
        let text = required_str(part, field, &part_param)?;
        if !text.is_empty() {
            texts.push(text);
        }
    }
    Ok(texts.join("\n"))
}

fn unsupported_part(param: &str, kind: &str) -> InvalidRequest {
    let what = match kind {
        "input_image" => "image input",
        "input_audio" => "audio input",
        _ => "file input",
    };
    InvalidRequest::at(
        param,
        format!(
            "{what} is not supported yet: this proxy forwards text only. Send the content as \
             input_text parts."
        ),
    )
}

/// The refusal of an item type (named by `param`, `input[i].type`).
fn unsupported_item(param: &str, kind: &str) -> InvalidRequest {
    if kind == "item_reference" {
        return InvalidRequest::at(
            param,
            format!(
                "Invalid value for '{param}': item references are not supported. Send the \
                 referenced items themselves, or continue a stored response with \
                 'previous_response_id'."
            ),
        );
    }
    if UNSERVED_ITEM_TYPES.contains(&kind) {
        return InvalidRequest::at(
            param,
            format!(
                "Invalid value for '{param}': '{kind}' items are not supported. This proxy \
                 emulates function tools only, so a history holds 'message', 'function_call', \
                 'function_call_output' and 'reasoning' items."
            ),
        );
    }
    one_of(param, kind, &ITEM_TYPES)
}
