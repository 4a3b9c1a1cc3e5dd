//! What the engine says upstream about tools and output formats (design.md §9): the tool
//! block of a chat's first message (each tool with a compact schema, the one calling
//! convention, the `tool_choice` rule), the rule restated on a later turn, the instruction of
//! a structured output, and the short corrective messages. The fake upstream
//! (`crates/qwen-fake`) reads these sentences to answer like a tool-calling model, so their
//! wording is part of its contract: change both together.

use serde_json::{Map, Value};

use super::markup::{CALL_CLOSE, CALL_OPEN, RESULT_OPEN_START};
use crate::session::{OutputFormat, ToolChoice, ToolSpec};

/// First line of the tool block.
pub const TOOLS_HEADER: &str = "Tools you can call:";
/// Line that starts each tool's compact parameters schema.
pub const PARAMETERS_PREFIX: &str = "  parameters: ";
/// Line that introduces the schema of a structured output; the schema follows on one line.
pub const SCHEMA_INTRO: &str = "Answer with one JSON value and nothing else (no prose, no code fence) that is valid against this JSON Schema:";
/// The instruction of `json_object` outputs.
pub const JSON_OBJECT: &str =
    "Answer with one JSON object and nothing else (no prose, no code fence).";
/// How every corrective message starts.
pub const CORRECTION_START: &str = "Your last answer could not be used:";

/// The tool block stated once, in a chat's first message, after the system instructions.
pub fn tool_block(tools: &[ToolSpec], choice: &ToolChoice, parallel: bool) -> String {
    let mut out = String::with_capacity(256 + tools.len() * 160);
    out.push_str(TOOLS_HEADER);
    for tool in tools {
        out.push_str("\n- ");
        out.push_str(&tool.name);
        if let Some(description) = tool.description.as_deref().map(one_line)
            && !description.is_empty()
        {
            out.push_str(": ");
            out.push_str(&description);
        }
        if let Some(parameters) = compact_parameters(&tool.parameters) {
            out.push('\n');
            out.push_str(PARAMETERS_PREFIX);
            out.push_str(&parameters);
        }
    }
    out.push_str("\n\nTo call a tool, answer with a block in exactly this form:\n");
    out.push_str(CALL_OPEN);
    out.push_str("\n{\"name\": \"TOOL_NAME\", \"arguments\": {…the arguments as JSON…}}\n");
    out.push_str(CALL_CLOSE);
    out.push_str(
        "\nWrite one block per call; for several calls at once, put the blocks one after another. \
         Write nothing after the last block. Results come back in ",
    );
    out.push_str(RESULT_OPEN_START);
    out.push_str(" name=\"…\" id=\"…\">>> blocks.\n");
    out.push_str(&choice_rule(choice, parallel));
    out
}

/// The `tool_choice` rule, one sentence (two when calls must come one at a time).
pub fn choice_rule(choice: &ToolChoice, parallel: bool) -> String {
    let mut rule = match choice {
        ToolChoice::Auto => "Call a tool when it helps; otherwise answer in plain text.".to_owned(),
        ToolChoice::None => "Do not call any tool now; answer in plain text.".to_owned(),
        ToolChoice::Required => "You must call at least one tool now.".to_owned(),
        ToolChoice::Named(name) => format!("You must call the tool `{name}` now."),
    };
    if !parallel && *choice != ToolChoice::None {
        rule.push_str(" Call at most one tool per answer.");
    }
    rule
}

/// The rule to restate on a continued turn, when it is not the default.
pub fn restated_rule(choice: &ToolChoice, parallel: bool) -> Option<String> {
    (*choice != ToolChoice::Auto || !parallel).then(|| choice_rule(choice, parallel))
}

/// The structured-output instruction appended to every upstream message of such a turn.
pub fn format_instruction(format: &OutputFormat) -> Option<String> {
    match format {
        OutputFormat::Text => None,
        OutputFormat::JsonObject => Some(JSON_OBJECT.to_owned()),
        OutputFormat::JsonSchema { schema, .. } => {
            let schema = compact_schema(schema);
            Some(format!("{SCHEMA_INTRO}\n{schema}"))
        }
    }
}

/// A corrective message for an answer whose calls could not be used.
pub fn tool_correction(reason: &str) -> String {
    format!(
        "{CORRECTION_START} {reason}. Answer again, writing each tool call in exactly this form:\n\
         {CALL_OPEN}\n{{\"name\": \"TOOL_NAME\", \"arguments\": {{…}}}}\n{CALL_CLOSE}"
    )
}

/// A corrective message for an answer that was not the JSON asked for.
pub fn format_correction(reason: &str) -> String {
    format!("{CORRECTION_START} {reason}. Answer again with only the JSON value.")
}

/// The parameters schema on one line, without annotations the model does not need; `None`
/// for a tool without parameters.
fn compact_parameters(parameters: &Value) -> Option<String> {
    let empty = match parameters {
        Value::Null => true,
        Value::Object(obj) => {
            obj.is_empty()
                || (obj.get("type").and_then(Value::as_str) == Some("object")
                    && obj
                        .get("properties")
                        .and_then(Value::as_object)
                        .is_none_or(Map::is_empty)
                    && obj.len() <= 3
                    && obj.keys().all(|k| {
                        matches!(k.as_str(), "type" | "properties" | "additionalProperties")
                    }))
        }
        _ => false,
    };
    (!empty).then(|| compact_schema(parameters))
}

/// A schema as compact JSON, with `title` and `$schema` annotations dropped (pydantic puts a
/// title on every property; they cost tokens and say nothing the names do not).
pub fn compact_schema(schema: &Value) -> String {
    strip_annotations(schema).to_string()
}

fn strip_annotations(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .filter(|(k, v)| {
                    !(k.as_str() == "$schema" || (k.as_str() == "title" && v.is_string()))
                })
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        // Maps from names to schemas: keep every name, strip each schema.
                        "properties" | "$defs" | "definitions" | "patternProperties" => match v {
                            Value::Object(map) => Value::Object(
                                map.iter()
                                    .map(|(name, s)| (name.clone(), strip_annotations(s)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        },
                        _ => strip_annotations(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_annotations).collect()),
        other => other.clone(),
    }
}

/// Whitespace runs (newlines included) collapsed to one space, so each tool stays one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn weather() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Get the weather\n  for a city.".into()),
            parameters: json!({
                "type": "object",
                "title": "GetWeather",
                "properties": {
                    "city": {"type": "string", "title": "City"},
                    "title": {"type": "string"}
                },
                "required": ["city"]
            }),
        }
    }

    #[test]
    fn tool_block_is_compact_and_exact() {
        let none = ToolSpec {
            name: "now".into(),
            description: None,
            parameters: json!({"type": "object", "properties": {}}),
        };
        let block = tool_block(&[weather(), none], &ToolChoice::Auto, true);
        assert_eq!(
            block,
            "Tools you can call:\n\
             - get_weather: Get the weather for a city.\n  \
             parameters: {\"properties\":{\"city\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"}},\"required\":[\"city\"],\"type\":\"object\"}\n\
             - now\n\n\
             To call a tool, answer with a block in exactly this form:\n\
             <<<TOOL_CALL>>>\n{\"name\": \"TOOL_NAME\", \"arguments\": {…the arguments as JSON…}}\n<<<END_TOOL_CALL>>>\n\
             Write one block per call; for several calls at once, put the blocks one after another. \
             Write nothing after the last block. Results come back in <<<TOOL_RESULT name=\"…\" id=\"…\">>> blocks.\n\
             Call a tool when it helps; otherwise answer in plain text."
        );
    }

    #[test]
    fn rules_per_choice() {
        assert_eq!(
            choice_rule(&ToolChoice::Named("get_weather".into()), false),
            "You must call the tool `get_weather` now. Call at most one tool per answer."
        );
        assert_eq!(
            choice_rule(&ToolChoice::Required, true),
            "You must call at least one tool now."
        );
        assert_eq!(
            choice_rule(&ToolChoice::None, false),
            "Do not call any tool now; answer in plain text."
        );
        assert_eq!(restated_rule(&ToolChoice::Auto, true), None);
        assert!(restated_rule(&ToolChoice::Required, true).is_some());
    }

    #[test]
    fn format_instructions() {
        assert_eq!(format_instruction(&OutputFormat::Text), None);
        let schema = OutputFormat::JsonSchema {
            name: "x".into(),
            schema: json!({"type": "object", "title": "X", "properties": {"a": {"type": "integer"}}}),
        };
        assert_eq!(
            format_instruction(&schema).unwrap(),
            format!(
                "{SCHEMA_INTRO}\n{{\"properties\":{{\"a\":{{\"type\":\"integer\"}}}},\"type\":\"object\"}}"
            )
        );
    }

    #[test]
    fn twenty_tools_stay_small() {
        let tools: Vec<ToolSpec> = (0..20)
            .map(|i| ToolSpec {
                name: format!("tool_{i}"),
                ..weather()
            })
            .collect();
        let block = tool_block(&tools, &ToolChoice::Auto, true);
        // ~150 bytes per tool of this size plus the convention, nothing repeated per tool.
        assert!(block.len() < 20 * 170 + 600, "{}", block.len());
    }
}
