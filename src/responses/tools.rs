//! The request fields that declare tools, steer thinking and constrain the answer's shape:
//! `tools`, `tool_choice`, `reasoning` and `text` (design.md §9, §11), read into the engine's
//! neutral [`ToolSpec`], [`ToolChoice`] and [`OutputFormat`].
//!
//! Only `function` tools can be emulated. The API's other tool types (`web_search`,
//! `file_search`, `code_interpreter`, `namespace`, `custom`, `mcp`, …) are run by OpenAI's
//! servers or need a calling convention the emulation does not have. Unlike the Anthropic
//! parser, which refuses server tools, they are accepted and simply not offered to the model:
//! Codex declares a `namespace` tool and `web_search` on every turn, and refusing them would
//! make it unusable. The model never learns they exist, so it cannot pretend to have used
//! one. Only a `tool_choice` that forces one is refused, since it could not be honoured; a
//! forced web search is the exception: it turns on the upstream's own search mode.

use serde_json::{Value, json};

use super::fields::{
    Object, join, missing, name, object, one_of, opt_bool, opt_object, opt_str, present,
    required_str, wrong_type,
};
use crate::openai::InvalidRequest;
use crate::session::{OutputFormat, ToolChoice, ToolSpec};

/// What `tools` declares: the function tools to emulate, and what is not offered.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Tools {
    pub functions: Vec<ToolSpec>,
    /// Each other tool: its `name` when it has one (`custom`, `namespace`), else its `type`.
    pub unserved: Vec<String>,
}

/// `tools`: an array of tool declarations; function names must be unique.
pub(super) fn parse_tools(obj: &Object) -> Result<Tools, InvalidRequest> {
    let items = match present(obj, "tools") {
        None => return Ok(Tools::default()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type("tools", "an array", other)),
    };
    let mut tools = Tools::default();
    for (i, item) in items.iter().enumerate() {
        let param = format!("tools[{i}]");
        let tool = object(item, &param)?;
        let kind = required_str(tool, "type", &param)?;
        if kind != "function" {
            let label = match present(tool, "name") {
                Some(Value::String(name)) => name.clone(),
                _ => kind.to_owned(),
            };
            tools.unserved.push(label);
            continue;
        }
        let function = function(tool, &param)?;
        if let Some(j) = tools.functions.iter().position(|t| t.name == function.name) {
            let name_param = join(&param, "name");
            return Err(InvalidRequest::at(
                &name_param,
                format!(
                    "Invalid '{name_param}': a function named '{}' is already declared by \
                     tools[{j}]. Function names must be unique.",
                    function.name
                ),
            ));
        }
        tools.functions.push(function);
    }
    Ok(tools)
}

/// A function tool, flat in the Responses shape: `name`, `description`, `parameters` (a JSON
/// Schema object; absent or `null` means no arguments), `strict` (type-checked only: arguments
/// are always checked against the schema).
fn function(tool: &Object, param: &str) -> Result<ToolSpec, InvalidRequest> {
    let name = name(tool, param)?;
    let description = opt_str(tool, "description", param)?.map(str::to_owned);
    let parameters = match present(tool, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(other) => return Err(wrong_type(&join(param, "parameters"), "an object", other)),
    };
    opt_bool(tool, "strict", param)?;
    Ok(ToolSpec {
        name,
        description,
        parameters,
    })
}

/// `tool_choice`: `"auto"` (default), `"none"`, `"required"`, `{"type": "function", "name"}`,
/// or a hosted tool type. Gives the choice and whether it forces a web search (then the
/// functions stay available as with `auto`). A choice that needs a function is checked
/// against the declared ones.
pub(super) fn parse_tool_choice(
    obj: &Object,
    tools: &Tools,
) -> Result<(ToolChoice, bool), InvalidRequest> {
    const PARAM: &str = "tool_choice";
    let choice = match present(obj, PARAM) {
        None => return Ok((ToolChoice::Auto, false)),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => return Ok((ToolChoice::Auto, false)),
            "none" => return Ok((ToolChoice::None, false)),
            "required" => ToolChoice::Required,
            other => return Err(one_of(PARAM, other, &["none", "auto", "required"])),
        },
        Some(Value::Object(choice)) => match required_str(choice, "type", PARAM)? {
            "function" => ToolChoice::Named(required_str(choice, "name", PARAM)?.to_owned()),
            kind if kind.starts_with("web_search") => return Ok((ToolChoice::Auto, true)),
            "allowed_tools" => {
                return Err(InvalidRequest::at(
                    PARAM,
                    "Invalid value for 'tool_choice': 'allowed_tools' is not supported. \
                     Declare only the tools the model may call in 'tools'.",
                ));
            }
            kind => {
                return Err(InvalidRequest::at(
                    PARAM,
                    format!(
                        "Invalid value for 'tool_choice': this proxy cannot run '{kind}' tools \
                         (only function tools are offered to the model), so it cannot force \
                         one. A forced 'web_search' is the exception: it turns on the \
                         upstream's search mode."
                    ),
                ));
            }
        },
        Some(other) => return Err(wrong_type(PARAM, "a string or an object", other)),
    };
    if tools.functions.is_empty() {
        let declared = if tools.unserved.is_empty() {
            String::new()
        } else {
            format!(
                " (the declared tools, {}, are not offered to the model by this proxy)",
                tools.unserved.join(", ")
            )
        };
        return Err(InvalidRequest::at(
            PARAM,
            format!(
                "Invalid value for 'tool_choice': a choice that forces a tool call needs a \
                 function tool in 'tools'{declared}."
            ),
        ));
    }
    if let ToolChoice::Named(name) = &choice
        && !tools.functions.iter().any(|t| &t.name == name)
    {
        return Err(InvalidRequest::at(
            PARAM,
            format!(
                "Invalid value for 'tool_choice': no function named '{name}' is declared in \
                 'tools'."
            ),
        ));
    }
    Ok((choice, false))
}

/// `reasoning.effort`: thinking on for `low` and up, off for `none` / `minimal`, `None` (the
/// model name decides) when absent. `summary` and `generate_summary` are type-checked only:
/// the reasoning is sent whole, as the summary.
pub(super) fn parse_reasoning(obj: &Object) -> Result<Option<bool>, InvalidRequest> {
    const PARAM: &str = "reasoning";
    let Some(reasoning) = opt_object(obj, PARAM, "")? else {
        return Ok(None);
    };
    for key in ["summary", "generate_summary"] {
        if let Some(summary) = opt_str(reasoning, key, PARAM)?
            && !["auto", "concise", "detailed"].contains(&summary)
        {
            return Err(one_of(
                &join(PARAM, key),
                summary,
                &["auto", "concise", "detailed"],
            ));
        }
    }
    match opt_str(reasoning, "effort", PARAM)? {
        None => Ok(None),
        Some("none" | "minimal") => Ok(Some(false)),
        Some("low" | "medium" | "high" | "xhigh" | "max") => Ok(Some(true)),
        Some(other) => Err(one_of(
            "reasoning.effort",
            other,
            &["none", "minimal", "low", "medium", "high", "xhigh", "max"],
        )),
    }
}

/// `text`: `format` (`{"type": "text"}`, `{"type": "json_object"}` or `{"type":
/// "json_schema", "name", "schema", "description"?, "strict"?}`, flat, unlike chat's
/// `response_format`) and `verbosity` (type-checked only: a hint, not a contract).
pub(super) fn parse_text(obj: &Object) -> Result<OutputFormat, InvalidRequest> {
    const PARAM: &str = "text";
    let Some(text) = opt_object(obj, PARAM, "")? else {
        return Ok(OutputFormat::Text);
    };
    if let Some(verbosity) = opt_str(text, "verbosity", PARAM)?
        && !["low", "medium", "high"].contains(&verbosity)
    {
        return Err(one_of(
            "text.verbosity",
            verbosity,
            &["low", "medium", "high"],
        ));
    }
    let Some(format) = opt_object(text, "format", PARAM)? else {
        return Ok(OutputFormat::Text);
    };
    const FORMAT: &str = "text.format";
    match required_str(format, "type", FORMAT)? {
        "text" => Ok(OutputFormat::Text),
        "json_object" => Ok(OutputFormat::JsonObject),
        "json_schema" => {
            let name = name(format, FORMAT)?;
            let schema = match present(format, "schema") {
                Some(schema @ Value::Object(_)) => schema.clone(),
                Some(other) => {
                    return Err(wrong_type("text.format.schema", "an object", other));
                }
                None => return Err(missing("text.format.schema")),
            };
            opt_str(format, "description", FORMAT)?;
            opt_bool(format, "strict", FORMAT)?;
            Ok(OutputFormat::JsonSchema { name, schema })
        }
        other => Err(one_of(
            "text.format.type",
            other,
            &["text", "json_schema", "json_object"],
        )),
    }
}
