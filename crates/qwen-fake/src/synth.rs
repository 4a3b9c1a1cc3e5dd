//! Values synthesised from a JSON Schema: the arguments of calls the fake makes on its own
//! and the answers to structured outputs. Deterministic and always the same shape, so tests
//! can state the exact value: every property of an object (required or not), the first of
//! an `enum` or of an `anyOf`/`oneOf` that is not null, one item per array, `"example"`,
//! `1`, `1.5`, `true`. `$ref`s are resolved against the root schema; depth is bounded, so a
//! recursive schema ends in `null` instead of a stack overflow.

use serde_json::{Map, Value};

/// Nesting (objects, arrays, references) followed before giving up with `null`.
const MAX_DEPTH: usize = 12;

/// A value for `schema`.
pub(crate) fn synthesize(schema: &Value) -> Value {
    value_for(schema, schema, 0)
}

/// Arguments for a tool whose parameters are `schema` (`{}` when it has none).
pub(crate) fn arguments(schema: Option<&Value>) -> Value {
    match schema.map(synthesize) {
        Some(Value::Object(args)) => Value::Object(args),
        _ => Value::Object(Map::new()),
    }
}

fn value_for(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        // `true` (anything goes) or a malformed schema.
        return Value::String("example".into());
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let deeper = |s: &Value| value_for(s, root, depth + 1);
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return match reference
            .strip_prefix('#')
            .and_then(|ptr| root.pointer(ptr))
        {
            Some(target) => deeper(target),
            None => Value::Null,
        };
    }
    if let Some(value) = obj.get("const") {
        return value.clone();
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            return branches
                .iter()
                .find(|b| !is_null_schema(b))
                .map_or(Value::Null, deeper);
        }
    }
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        let values: Vec<Value> = parts.iter().map(deeper).collect();
        if values.iter().all(Value::is_object) {
            let merged = values
                .into_iter()
                .filter_map(|v| match v {
                    Value::Object(map) => Some(map),
                    _ => None,
                })
                .flatten()
                .collect();
            return Value::Object(merged);
        }
        return values.into_iter().next().unwrap_or(Value::Null);
    }
    let kind = match obj.get("type") {
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .or_else(|| kinds.iter().filter_map(Value::as_str).next()),
        _ => None,
    };
    let kind = kind.unwrap_or(if obj.contains_key("properties") {
        "object"
    } else if obj.contains_key("items") || obj.contains_key("prefixItems") {
        "array"
    } else {
        "string"
    });
    match kind {
        "object" => Value::Object(
            obj.get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), deeper(s)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "array" => Value::Array(match (obj.get("prefixItems"), obj.get("items")) {
            (Some(Value::Array(items)), _) | (None, Some(Value::Array(items))) => {
                items.iter().map(deeper).collect()
            }
            (_, Some(item)) => vec![deeper(item)],
            _ => vec![Value::String("example".into())],
        }),
        "integer" => Value::from(1),
        "number" => Value::from(1.5),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ => Value::String(
            match obj.get("format").and_then(Value::as_str) {
                Some("date") => "2026-01-01",
                Some("date-time") => "2026-01-01T00:00:00Z",
                _ => "example",
            }
            .into(),
        ),
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn fake_synthesises_every_kind() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a_str": {"type": "string"},
                "b_enum": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "c_const": {"const": "fixed"},
                "d_date": {"type": "string", "format": "date"},
                "e_int": {"type": "integer", "minimum": 5},
                "f_num": {"type": "number"},
                "g_bool": {"type": "boolean"},
                "h_list": {"type": "array", "items": {"type": "integer"}},
                "i_null": {"type": "null"},
                "j_opt": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
                "k_one": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                "l_nullable": {"type": ["null", "string"]},
                "m_nested": {"type": "object", "properties": {"x": {"type": "number"}}},
                "n_ref": {"$ref": "#/$defs/Point"},
                "o_old_ref": {"$ref": "#/definitions/Unit"},
                "p_untyped": {"description": "anything"},
                "q_all": {"allOf": [{"properties": {"u": {"type": "integer"}}}, {"properties": {"v": {"type": "boolean"}}}]}
            },
            "required": ["a_str"],
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}},
            "definitions": {"Unit": {"enum": ["m", "km"]}}
        });
        assert_eq!(
            synthesize(&schema),
            json!({
                "a_str": "example",
                "b_enum": "celsius",
                "c_const": "fixed",
                "d_date": "2026-01-01",
                "e_int": 1,
                "f_num": 1.5,
                "g_bool": true,
                "h_list": [1],
                "i_null": null,
                "j_opt": true,
                "k_one": 1,
                "l_nullable": "example",
                "m_nested": {"x": 1.5},
                "n_ref": {"x": 1, "y": 1},
                "o_old_ref": "m",
                "p_untyped": "example",
                "q_all": {"u": 1, "v": true}
            })
        );
        assert_eq!(synthesize(&json!({"type": "object"})), json!({}));
        assert_eq!(arguments(None), json!({}));
        assert_eq!(arguments(Some(&json!({"type": "string"}))), json!({}));
    }

    #[test]
    fn fake_synthesis_survives_recursion_and_nonsense() {
        let recursive = json!({
            "$ref": "#/$defs/Node",
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        });
        let mut value = &synthesize(&recursive);
        let mut depth = 0;
        while let Some(next) = value.get("next") {
            value = next;
            depth += 1;
        }
        assert!(value.is_null() && depth > 3, "{depth}");
        assert_eq!(synthesize(&json!({"$ref": "#/nowhere"})), Value::Null);
        assert_eq!(synthesize(&json!({"$ref": "#"})), Value::Null);
        assert_eq!(synthesize(&json!(true)), json!("example"));
        assert_eq!(synthesize(&json!({"anyOf": []})), Value::Null);
        assert_eq!(synthesize(&json!({"type": 7})), json!("example"));
    }
}
