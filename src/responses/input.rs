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
//! Item `id` and `status` fields (Codex and the SDKs send back the output items as they got
//! them) carry no conversation content and are ignored. Item types this proxy cannot have
//! produced and cannot forward (`custom_tool_call`, `local_shell_call`, `web_search_call`,
//! `item_reference`, …) are refused naming `input[i].type`.

use std::collections::HashMap;

use serde_json::Value;

use super::fields::{Object, join, missing, one_of, present, required_str, wrong_type};
use crate::openai::InvalidRequest;
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
        return Err(InvalidRequest::at(
            "input",
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an \
             empty array instead.",
        ));
    }
    let mut history = History {
        continues,
        ..History::default()
    };
    for (i, item) in items.iter().enumerate() {
        history.item(&format!("input[{i}]"), item)?;
    }
    Ok(history.messages)
}

/// The messages read so far and what reading the next item needs.
#[derive(Debug, Default)]
struct History {
    messages: Vec<Message>,
    /// Call id → tool name, of every `function_call` so far; a later one reusing an id wins.
    calls: HashMap<String, String>,
    /// The last message is an assistant message that a `function_call` joins.
    open_assistant: bool,
    continues: bool,
}

impl History {
    fn item(&mut self, param: &str, value: &Value) -> Result<(), InvalidRequest> {
        let Value::Object(obj) = value else {
            return Err(wrong_type(param, "an object", value));
        };
        let type_param = join(param, "type");
        let kind = match present(obj, "type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => return Err(wrong_type(&type_param, "a string", other)),
            // The "easy" message form: a role and content, no type.
            None if present(obj, "role").is_some() => "message",
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

    fn message(&mut self, param: &str, obj: &Object) -> Result<(), InvalidRequest> {
        let role_param = join(param, "role");
        let role = match required_str(obj, "role", param)? {
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
        let text = match present(obj, "content") {
            None => return Err(missing(&content_param)),
            Some(content) => content_text(content, &content_param)?,
        };
        self.messages.push(Message::text(role, text));
        self.open_assistant = role == Role::Assistant;
        Ok(())
    }

    fn function_call(&mut self, param: &str, obj: &Object) -> Result<(), InvalidRequest> {
        let call_id = required_str(obj, "call_id", param)?.to_owned();
        let name = required_str(obj, "name", param)?.to_owned();
        let arguments_param = join(param, "arguments");
        // The API sends `arguments` as a JSON string; an object (which some clients send when
        // replaying a history) is accepted and serialised, as the chat parser does.
        let arguments = match present(obj, "arguments") {
            Some(Value::String(arguments)) => arguments.clone(),
            Some(arguments @ Value::Object(_)) => arguments.to_string(),
            Some(other) => return Err(wrong_type(&arguments_param, "a string", other)),
            None => return Err(missing(&arguments_param)),
        };
        self.calls.insert(call_id.clone(), name.clone());
        let call = ToolCall {
            id: call_id,
            name,
            arguments,
        };
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
        Ok(())
    }

    fn function_call_output(&mut self, param: &str, obj: &Object) -> Result<(), InvalidRequest> {
        let call_id = required_str(obj, "call_id", param)?;
        let name = match self.calls.get(call_id) {
            Some(name) => Some(name.clone()),
            // The call was in the previous response: the engine knows its name.
            None if self.continues => None,
            None => {
                let call_param = join(param, "call_id");
                return Err(InvalidRequest::at(
                    &call_param,
                    format!(
                        "Invalid '{call_param}': no function_call item with call_id \
                         '{call_id}' precedes this function_call_output. Send the call with \
                         its output, or continue the response that made it with \
                         'previous_response_id'."
                    ),
                ));
            }
        };
        let output_param = join(param, "output");
        let output = match present(obj, "output") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts_text(parts, &output_param, &["input_text"])?,
            Some(other) => {
                return Err(wrong_type(
                    &output_param,
                    "a string or an array of content parts",
                    other,
                ));
            }
            None => return Err(missing(&output_param)),
        };
        let mut message = Message::text(Role::Tool, output);
        message.tool_call_id = Some(call_id.to_owned());
        message.name = name;
        self.messages.push(message);
        self.open_assistant = false;
        Ok(())
    }
}

/// A message's `content`: a string, or text parts.
fn content_text(content: &Value, param: &str) -> Result<String, InvalidRequest> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => parts_text(parts, param, &["input_text", "output_text", "refusal"]),
        other => Err(wrong_type(
            param,
            "a string or an array of content parts",
            other,
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
