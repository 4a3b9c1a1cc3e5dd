//! The request fields that declare tools, steer thinking and constrain the answer's shape:
//! `tools`, `tool_choice`, `thinking` and `output_config.format` (design.md §9, §10), read
//! into the engine's neutral [`ToolSpec`], [`ToolChoice`] and [`OutputFormat`].
//!
//! Only custom tools (no `type`, or `"custom"`) can be emulated. Anthropic's server tools
//! (`web_search_20250305`, `bash_20250124`, `text_editor_…`, `code_execution_…`, …) are run
//! by Anthropic's servers and answered with their own result blocks; dropping one silently
//! would have the model answer as if it had searched or run something, so each is refused by
//! name instead (for web search, the model's `-search` variant is the way).

use serde_json::Value;

use super::fields::{
    Object, at, expected, join, missing, object, one_of, opt_bool, opt_int, opt_object, opt_str,
    present, required_str,
};
use super::request::InvalidRequest;
use crate::session::{OutputFormat, ToolChoice, ToolSpec};

/// Longest tool name Anthropic accepts.
const MAX_NAME_LEN: usize = 128;

/// The schema name structured output gets: Anthropic's format has none, the engine wants one.
pub(super) const FORMAT_NAME: &str = "output";

/// `tools`: an array of custom tools with unique names; absent or empty is no tools. Tools
/// with `defer_loading: true` are validated but not offered: the client loads them on demand
/// (Claude Code through its `ToolSearch` tool, which then declares them), and its deferred
/// placeholder says never to call it.
pub(super) fn parse_tools(obj: &Object) -> Result<Vec<ToolSpec>, InvalidRequest> {
    let items = match present(obj, "tools") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(expected("tools", "a valid list")),
    };
    let mut tools: Vec<ToolSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("tools.{i}");
        let tool = tool(item, &path)?;
        if let Some(j) = tools.iter().position(|t| t.name == tool.name) {
            return Err(at(
                &join(&path, "name"),
                format!(
                    "Tool names must be unique: '{}' is already declared by tools.{j}.",
                    tool.name
                ),
            ));
        }
        tools.push(tool);
    }
    let deferred = |item: &Value| item.get("defer_loading").and_then(Value::as_bool) == Some(true);
    if items.iter().any(deferred) {
        let mut offered = items.iter().map(|item| !deferred(item));
        tools.retain(|_| offered.next().unwrap_or(true));
    }
    Ok(tools)
}

/// One custom tool: `name`, `description`, `input_schema`. Its other fields (`cache_control`,
/// `strict`, `input_examples`, …) change nothing the emulation does.
fn tool(value: &Value, path: &str) -> Result<ToolSpec, InvalidRequest> {
    let obj = object(value, path)?;
    match opt_str(obj, "type", path)? {
        None | Some("custom") => {}
        Some(kind) => {
            return Err(at(
                &join(path, "type"),
                format!(
                    "server tool '{kind}' is not supported: this proxy emulates custom tools \
                     (no 'type', or 'custom') only. For web search, ask for the model's \
                     '-search' variant instead."
                ),
            ));
        }
    }
    let name = tool_name(obj, path)?;
    let description = opt_str(obj, "description", path)?.map(str::to_owned);
    let schema_path = join(path, "input_schema");
    let parameters = match present(obj, "input_schema") {
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => return Err(expected(&schema_path, "a valid dictionary")),
        None => return Err(missing(&schema_path)),
    };
    Ok(ToolSpec {
        name,
        description,
        parameters,
    })
}

/// A tool's `name`: Anthropic's `^[a-zA-Z0-9_-]{1,128}$`, which also keeps it safe to write
/// into the calling convention upstream.
fn tool_name(obj: &Object, path: &str) -> Result<String, InvalidRequest> {
    let name = required_str(obj, "name", path)?;
    let name_path = join(path, "name");
    if name.is_empty() {
        return Err(at(&name_path, "String should have at least 1 character"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(at(
            &name_path,
            format!("String should have at most {MAX_NAME_LEN} characters"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(at(
            &name_path,
            "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
        ));
    }
    Ok(name.to_owned())
}

/// `tool_choice`: `{"type": "auto" | "any" | "tool" | "none"}`, `name` with `tool`, and
/// `disable_parallel_tool_use`; gives the choice and whether parallel calls are allowed. A
/// choice that needs a tool is checked against the declared ones.
pub(super) fn parse_tool_choice(
    obj: &Object,
    tools: &[ToolSpec],
) -> Result<(ToolChoice, bool), InvalidRequest> {
    const PATH: &str = "tool_choice";
    let Some(choice) = opt_object(obj, PATH, "")? else {
        return Ok((ToolChoice::Auto, true));
    };
    let choice_kind = required_str(choice, "type", PATH)?;
    let parallel = !opt_bool(choice, "disable_parallel_tool_use", PATH)?.unwrap_or(false);
    let choice = match choice_kind {
        "auto" => return Ok((ToolChoice::Auto, parallel)),
        "none" => return Ok((ToolChoice::None, parallel)),
        "any" => ToolChoice::Required,
        "tool" => ToolChoice::Named(required_str(choice, "name", PATH)?.to_owned()),
        _ => return Err(one_of("tool_choice.type", &["auto", "any", "tool", "none"])),
    };
    if tools.is_empty() {
        return Err(at(
            PATH,
            format!(
                "tool_choice.type '{choice_kind}' may only be specified while providing tools."
            ),
        ));
    }
    if let ToolChoice::Named(name) = &choice
        && !tools.iter().any(|t| &t.name == name)
    {
        return Err(at(
            "tool_choice.name",
            format!("no tool named '{name}' is declared in tools."),
        ));
    }
    Ok((choice, parallel))
}

/// `thinking`: `enabled` turns it on, `disabled` off, `adaptive` follows section 9's rule (off
/// when tools are present, else the model name decides); absent leaves it to the model name.
/// `budget_tokens` is type-checked only: the upstream takes no budget.
pub(super) fn parse_thinking(
    obj: &Object,
    has_tools: bool,
) -> Result<Option<bool>, InvalidRequest> {
    const PATH: &str = "thinking";
    let Some(thinking) = opt_object(obj, PATH, "")? else {
        return Ok(None);
    };
    opt_int(thinking, "budget_tokens", PATH, 0)?;
    match required_str(thinking, "type", PATH)? {
        "enabled" => Ok(Some(true)),
        "disabled" => Ok(Some(false)),
        "adaptive" => Ok(has_tools.then_some(false)),
        _ => Err(one_of(
            "thinking.type",
            &["enabled", "disabled", "adaptive"],
        )),
    }
}

/// `output_config.format` (`{"type": "json_schema", "schema": {…}}`), else the beta's
/// top-level `output_format` of the same shape; `output_config.effort` is type-checked and
/// ignored (the upstream has no effort control).
pub(super) fn parse_format(obj: &Object) -> Result<OutputFormat, InvalidRequest> {
    const CONFIG: &str = "output_config";
    if let Some(config) = opt_object(obj, CONFIG, "")? {
        opt_str(config, "effort", CONFIG)?;
        if let Some(format) = opt_object(config, "format", CONFIG)? {
            return json_schema(format, "output_config.format");
        }
    }
    match opt_object(obj, "output_format", "")? {
        Some(format) => json_schema(format, "output_format"),
        None => Ok(OutputFormat::Text),
    }
}

fn json_schema(format: &Object, path: &str) -> Result<OutputFormat, InvalidRequest> {
    if required_str(format, "type", path)? != "json_schema" {
        return Err(one_of(&join(path, "type"), &["json_schema"]));
    }
    let schema_path = join(path, "schema");
    match present(format, "schema") {
        Some(schema @ Value::Object(_)) => Ok(OutputFormat::JsonSchema {
            name: FORMAT_NAME.to_owned(),
            schema: schema.clone(),
        }),
        Some(_) => Err(expected(&schema_path, "a valid dictionary")),
        None => Err(missing(&schema_path)),
    }
}
