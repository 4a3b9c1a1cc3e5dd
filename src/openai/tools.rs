//! The request fields that declare tools and constrain the answer's shape: `tools` (and the
//! deprecated `functions`), `tool_choice` (and the deprecated `function_call`),
//! `parallel_tool_calls` and `response_format`, read into the engine's neutral
//! [`ToolSpec`], [`ToolChoice`] and [`OutputFormat`] (design.md §9).
//!
//! The deprecated spellings map onto the current ones, so the engine sees one shape; a request
//! that mixes both spellings of the same thing is refused rather than guessed at. A tool
//! choice is checked against the declared tools here, where the parameter can still be named:
//! a choice that names an undeclared tool could never be satisfied.

use serde_json::{Value, json};

use super::params::{Object, missing, opt_bool, present, wrong_type};
use super::request::InvalidRequest;
use crate::session::{OutputFormat, ToolChoice, ToolSpec};

/// Longest function (and `json_schema`) name OpenAI accepts.
const MAX_NAME_LEN: usize = 64;

/// What the request says about tools.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolParams {
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
}

/// `tools` or `functions`, `tool_choice` or `function_call`, and `parallel_tool_calls`.
pub(crate) fn tool_params(obj: &Object) -> Result<ToolParams, InvalidRequest> {
    let (tools, declared_in) = declared_tools(obj)?;
    let tool_choice = tool_choice(obj, &tools, declared_in)?;
    let parallel_tool_calls = opt_bool(obj, "parallel_tool_calls")?.unwrap_or(true);
    Ok(ToolParams {
        tools,
        tool_choice,
        parallel_tool_calls,
    })
}

/// The declared tools and the field they came from. An empty `tools` array is accepted as
/// "no tools" (OpenAI refuses it, but several clients send one when the user enabled none).
fn declared_tools(obj: &Object) -> Result<(Vec<ToolSpec>, &'static str), InvalidRequest> {
    match (present(obj, "tools"), present(obj, "functions")) {
        (Some(_), Some(_)) => Err(InvalidRequest::at(
            "functions",
            "Invalid 'functions': 'functions' and 'tools' cannot both be given. 'functions' is \
             deprecated: declare every function in 'tools'.",
        )),
        (Some(tools), None) => Ok((parse_list(tools, "tools", tool_entry)?, "tools")),
        (None, Some(functions)) => Ok((parse_list(functions, "functions", function)?, "functions")),
        (None, None) => Ok((Vec::new(), "tools")),
    }
}

/// An array of tool declarations whose names must be unique; `entry` reads one (given its
/// parameter name, e.g. `tools[2]`) and names the parameter of its function name.
fn parse_list(
    value: &Value,
    key: &str,
    entry: impl Fn(&str, &Value) -> Result<(ToolSpec, String), InvalidRequest>,
) -> Result<Vec<ToolSpec>, InvalidRequest> {
    let Value::Array(items) = value else {
        return Err(wrong_type(key, "an array", value));
    };
    let mut tools: Vec<ToolSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (tool, name_param) = entry(&format!("{key}[{i}]"), item)?;
        if let Some(j) = tools.iter().position(|t| t.name == tool.name) {
            return Err(InvalidRequest::at(
                &name_param,
                format!(
                    "Invalid '{name_param}': a function named '{}' is already declared by \
                     {key}[{j}]. Function names must be unique.",
                    tool.name
                ),
            ));
        }
        tools.push(tool);
    }
    Ok(tools)
}

/// One `tools[i]`: `{"type": "function", "function": {…}}`.
fn tool_entry(param: &str, value: &Value) -> Result<(ToolSpec, String), InvalidRequest> {
    let Value::Object(obj) = value else {
        return Err(wrong_type(param, "an object", value));
    };
    let type_param = format!("{param}.type");
    match present(obj, "type") {
        Some(Value::String(kind)) if kind == "function" => {}
        Some(Value::String(kind)) => {
            return Err(InvalidRequest::at(
                &type_param,
                format!(
                    "Invalid value: '{kind}'. Only function tools are supported: \
                     '{type_param}' must be 'function'."
                ),
            ));
        }
        Some(other) => return Err(wrong_type(&type_param, "a string", other)),
        None => return Err(missing(&type_param)),
    }
    let function_param = format!("{param}.function");
    match present(obj, "function") {
        Some(value) => function(&function_param, value),
        None => Err(missing(&function_param)),
    }
}

/// A function declaration (`tools[i].function` or `functions[i]`): `name`, optional
/// `description`, `parameters` (a JSON Schema object; an absent one means no arguments) and
/// `strict` (type-checked only: arguments are always checked against the schema).
fn function(param: &str, value: &Value) -> Result<(ToolSpec, String), InvalidRequest> {
    let Value::Object(obj) = value else {
        return Err(wrong_type(param, "an object", value));
    };
    let name_param = format!("{param}.name");
    let name = required_name(obj, &name_param)?;
    let description = match present(obj, "description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(wrong_type(
                &format!("{param}.description"),
                "a string",
                other,
            ));
        }
    };
    let parameters = match present(obj, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{param}.parameters"),
                "an object",
                other,
            ));
        }
    };
    nested_bool(obj, param, "strict")?;
    let tool = ToolSpec {
        name,
        description,
        parameters,
    };
    Ok((tool, name_param))
}

/// `obj.name` as a function name: a string matching OpenAI's `^[a-zA-Z0-9_-]{1,64}$`, which
/// also keeps names safe to write into the calling convention upstream.
fn required_name(obj: &Object, param: &str) -> Result<String, InvalidRequest> {
    let name = match present(obj, "name") {
        Some(Value::String(name)) => name,
        Some(other) => return Err(wrong_type(param, "a string", other)),
        None => return Err(missing(param)),
    };
    if name.is_empty() {
        return Err(InvalidRequest::at(
            param,
            format!(
                "Invalid '{param}': empty string. Expected a string with minimum length 1, but \
                 got an empty string instead."
            ),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(InvalidRequest::at(
            param,
            format!(
                "Invalid '{param}': string does not match pattern. Expected a string that \
                 matches the pattern '^[a-zA-Z0-9_-]+$'."
            ),
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(InvalidRequest::at(
            param,
            format!(
                "Invalid '{param}': string too long. Expected a string with maximum length \
                 {MAX_NAME_LEN}, but got a string with length {} instead.",
                name.len()
            ),
        ));
    }
    Ok(name.clone())
}

/// An optional boolean `obj.key`, named `{param}.{key}` when wrong.
fn nested_bool(obj: &Object, param: &str, key: &str) -> Result<Option<bool>, InvalidRequest> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&format!("{param}.{key}"), "a boolean", other)),
    }
}

/// `tool_choice`, else the deprecated `function_call`, checked against the declared tools.
fn tool_choice(
    obj: &Object,
    tools: &[ToolSpec],
    declared_in: &str,
) -> Result<ToolChoice, InvalidRequest> {
    let (choice, param) = match (present(obj, "tool_choice"), present(obj, "function_call")) {
        (Some(_), Some(_)) => {
            return Err(InvalidRequest::at(
                "function_call",
                "Invalid 'function_call': 'function_call' and 'tool_choice' cannot both be \
                 given. 'function_call' is deprecated: use 'tool_choice'.",
            ));
        }
        (Some(value), None) => (current_choice(value)?, "tool_choice"),
        (None, Some(value)) => (legacy_choice(value)?, "function_call"),
        (None, None) => return Ok(ToolChoice::Auto),
    };
    match &choice {
        ToolChoice::Auto | ToolChoice::None => {}
        ToolChoice::Required | ToolChoice::Named(_) if tools.is_empty() => {
            return Err(InvalidRequest::at(
                param,
                format!(
                    "Invalid value for '{param}': '{param}' is only allowed when \
                     '{declared_in}' are specified."
                ),
            ));
        }
        ToolChoice::Named(name) if !tools.iter().any(|t| &t.name == name) => {
            return Err(InvalidRequest::at(
                param,
                format!(
                    "Invalid value for '{param}': no function named '{name}' is declared in \
                     '{declared_in}'."
                ),
            ));
        }
        ToolChoice::Required | ToolChoice::Named(_) => {}
    }
    Ok(choice)
}

/// `tool_choice`: `"auto"`, `"none"`, `"required"` or `{"type": "function", "function":
/// {"name"}}`. The newer `allowed_tools` and `custom` forms are refused by name: honouring
/// them means a tool set other than the declared one, which is not implemented.
fn current_choice(value: &Value) -> Result<ToolChoice, InvalidRequest> {
    let obj = match value {
        Value::String(s) => {
            return match s.as_str() {
                "auto" => Ok(ToolChoice::Auto),
                "none" => Ok(ToolChoice::None),
                "required" => Ok(ToolChoice::Required),
                _ => Err(InvalidRequest::at(
                    "tool_choice",
                    format!(
                        "Invalid value: '{s}'. Supported values are: 'none', 'auto', and \
                         'required'."
                    ),
                )),
            };
        }
        Value::Object(obj) => obj,
        other => {
            return Err(wrong_type("tool_choice", "a string or an object", other));
        }
    };
    match present(obj, "type") {
        Some(Value::String(kind)) if kind == "function" => {}
        Some(Value::String(kind)) => {
            return Err(InvalidRequest::at(
                "tool_choice.type",
                format!(
                    "Invalid value: '{kind}'. Only function tool choices are supported: \
                     'tool_choice.type' must be 'function'."
                ),
            ));
        }
        Some(other) => return Err(wrong_type("tool_choice.type", "a string", other)),
        None => return Err(missing("tool_choice.type")),
    }
    match present(obj, "function") {
        Some(Value::Object(function)) => Ok(ToolChoice::Named(chosen_name(
            function,
            "tool_choice.function.name",
        )?)),
        Some(other) => Err(wrong_type("tool_choice.function", "an object", other)),
        None => Err(missing("tool_choice.function")),
    }
}

/// `function_call`: `"auto"`, `"none"` or `{"name"}`.
fn legacy_choice(value: &Value) -> Result<ToolChoice, InvalidRequest> {
    match value {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            _ => Err(InvalidRequest::at(
                "function_call",
                format!(
                    "Invalid value: '{s}'. Supported values are: 'none' and 'auto', or an \
                     object naming a function."
                ),
            )),
        },
        Value::Object(obj) => Ok(ToolChoice::Named(chosen_name(obj, "function_call.name")?)),
        other => Err(wrong_type("function_call", "a string or an object", other)),
    }
}

/// The `name` of a named tool choice. Only its type is checked: whether it names a declared
/// tool is the check that matters, and it names the whole choice.
fn chosen_name(obj: &Object, param: &str) -> Result<String, InvalidRequest> {
    match present(obj, "name") {
        Some(Value::String(name)) => Ok(name.clone()),
        Some(other) => Err(wrong_type(param, "a string", other)),
        None => Err(missing(param)),
    }
}

/// `response_format`: `{"type": "text"}`, `{"type": "json_object"}` or `{"type":
/// "json_schema", "json_schema": {"name", "schema"?, "strict"?, "description"?}}`. An absent
/// schema is `{}` (any JSON value); `strict` is type-checked only, since a given schema is
/// always enforced.
pub(crate) fn response_format(obj: &Object) -> Result<OutputFormat, InvalidRequest> {
    let format = match present(obj, "response_format") {
        None => return Ok(OutputFormat::Text),
        Some(Value::Object(format)) => format,
        Some(other) => return Err(wrong_type("response_format", "an object", other)),
    };
    let kind = match present(format, "type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => return Err(wrong_type("response_format.type", "a string", other)),
        None => return Err(missing("response_format.type")),
    };
    match kind {
        "text" => Ok(OutputFormat::Text),
        "json_object" => Ok(OutputFormat::JsonObject),
        "json_schema" => json_schema(format),
        _ => Err(InvalidRequest::at(
            "response_format.type",
            format!(
                "Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and \
                 'json_schema'."
            ),
        )),
    }
}

fn json_schema(format: &Object) -> Result<OutputFormat, InvalidRequest> {
    const PARAM: &str = "response_format.json_schema";
    let spec = match present(format, "json_schema") {
        Some(Value::Object(spec)) => spec,
        Some(other) => return Err(wrong_type(PARAM, "an object", other)),
        None => return Err(missing(PARAM)),
    };
    let name = required_name(spec, &format!("{PARAM}.name"))?;
    let schema = match present(spec, "schema") {
        None => json!({}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(other) => return Err(wrong_type(&format!("{PARAM}.schema"), "an object", other)),
    };
    if let Some(other) = present(spec, "description").filter(|d| !d.is_string()) {
        return Err(wrong_type(
            &format!("{PARAM}.description"),
            "a string",
            other,
        ));
    }
    nested_bool(spec, PARAM, "strict")?;
    Ok(OutputFormat::JsonSchema { name, schema })
}
