//! The `messages` array of a chat completion request, read into the engine's neutral
//! [`Message`]s.
//!
//! Roles, content forms (a string or text parts; image, audio and file parts are refused by
//! name rather than dropped) and the parts of a history that only an agent sends are checked
//! here, each rejection naming its place (`messages[2].content[0].text`).

use serde_json::Value;

use super::params::{Object, missing, present, wrong_type};
use super::request::InvalidRequest;
use crate::session::{Message, Role};

pub(super) fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, InvalidRequest> {
    let items = match value {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type("messages", "an array", other)),
    };
    if items.is_empty() {
        return Err(InvalidRequest::at(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_message(i, item))
        .collect()
}

fn parse_message(i: usize, value: &Value) -> Result<Message, InvalidRequest> {
    let Value::Object(obj) = value else {
        return Err(wrong_type(&format!("messages[{i}]"), "an object", value));
    };
    let role_param = format!("messages[{i}].role");
    let role = match present(obj, "role") {
        None => return Err(missing(&role_param)),
        Some(Value::String(s)) => parse_role(s).ok_or_else(|| {
            InvalidRequest::at(
                &role_param,
                format!("Invalid value: '{s}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."),
            )
        })?,
        Some(other) => return Err(wrong_type(&role_param, "a string", other)),
    };
    let content = parse_content(i, role, obj)?;
    Ok(Message::text(role, content))
}

fn parse_content(i: usize, role: Role, obj: &Object) -> Result<String, InvalidRequest> {
    let param = format!("messages[{i}].content");
    let parts = match present(obj, "content") {
        Some(Value::String(s)) => return Ok(s.clone()),
        Some(Value::Array(parts)) => parts,
        Some(other) => {
            return Err(wrong_type(
                &param,
                "a string or an array of content parts",
                other,
            ));
        }
        // An assistant turn that only called tools has no text; nothing to fold but its place.
        None if role == Role::Assistant
            && (present(obj, "tool_calls").is_some()
                || present(obj, "function_call").is_some()) =>
        {
            return Ok(String::new());
        }
        None => return Err(missing(&param)),
    };
    let mut texts = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let part_param = format!("{param}[{j}]");
        let Value::Object(part) = part else {
            return Err(wrong_type(&part_param, "an object", part));
        };
        let kind = match present(part, "type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => {
                return Err(wrong_type(&format!("{part_param}.type"), "a string", other));
            }
            None => return Err(missing(&format!("{part_param}.type"))),
        };
        // An assistant refusal part is text the assistant said; keep it for the history.
        let field = match kind {
            "text" => "text",
            "refusal" if role == Role::Assistant => "refusal",
            _ => return Err(unsupported_part(&param, kind)),
        };
        match present(part, field) {
            Some(Value::String(text)) => texts.push(text.as_str()),
            Some(other) => {
                return Err(wrong_type(
                    &format!("{part_param}.{field}"),
                    "a string",
                    other,
                ));
            }
            None => return Err(missing(&format!("{part_param}.{field}"))),
        }
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
