//! Model list bodies (PROTOCOL.md §8) → [`Model`]s.
//!
//! Both list endpoints return the same items, one inside the `{"success","data":{"data":[]}}`
//! envelope and the legacy one as a bare `{"data": []}`. Which keys an item has varies per
//! model and per month, so every field is optional here and capabilities are derived from
//! whichever of the known places says so.

use serde_json::Value;

use super::{Capabilities, Model, QwenError};

/// Extracts the models of either list shape. Items without an id are skipped.
pub fn parse_models(body: &Value) -> Result<Vec<Model>, QwenError> {
    let items = body
        .pointer("/data/data")
        .and_then(Value::as_array)
        .or_else(|| body.get("data").and_then(Value::as_array))
        .ok_or_else(|| QwenError::Protocol("the model list has no `data` array".into()))?;
    Ok(items.iter().filter_map(parse_model).collect())
}

fn parse_model(item: &Value) -> Option<Model> {
    let id = item.get("id").and_then(Value::as_str)?.trim();
    if id.is_empty() {
        return None;
    }
    let meta = item.pointer("/info/meta");
    let meta_at = |path: &str| meta.and_then(|m| m.pointer(path));
    let name = item
        .get("name")
        .or_else(|| item.pointer("/info/name"))
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(id);
    let search_chat = meta_at("/chat_type")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("search")));
    Some(Model {
        id: id.to_owned(),
        name: name.to_owned(),
        context_length: meta_at("/max_context_length").and_then(Value::as_u64),
        capabilities: Capabilities {
            thinking: truthy(meta_at("/capabilities/thinking"))
                || truthy(meta_at("/abilities/thinking")),
            vision: truthy(meta_at("/capabilities/vision")),
            search: search_chat || truthy(meta_at("/capabilities/search")),
        },
        created: item
            .pointer("/info/created_at")
            .and_then(Value::as_i64)
            .unwrap_or(0),
    })
}

/// `true`, or a non-zero number (`abilities.thinking` is `1` or `3`).
fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/crates/qwen-fake/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).expect("fixture is JSON")
    }

    #[test]
    fn both_list_shapes_give_the_same_models() {
        let v2 = parse_models(&fixture("models-v2.json")).expect("v2 parses");
        let legacy = parse_models(&fixture("models.json")).expect("legacy parses");
        assert_eq!(v2, legacy);
        let max = v2
            .iter()
            .find(|m| m.id == "qwen3-max")
            .expect("qwen3-max listed");
        assert_eq!(max.name, "Qwen3-Max");
        assert_eq!(max.context_length, Some(262_144));
        assert_eq!(max.created, 1_732_711_466);
        assert!(max.capabilities.vision && max.capabilities.search);
        assert!(!max.capabilities.thinking);
        let plus = v2
            .iter()
            .find(|m| m.id == "qwen3.7-plus")
            .expect("qwen3.7-plus listed");
        assert!(plus.capabilities.thinking);
        assert_eq!(plus.context_length, Some(1_000_000));
    }

    #[test]
    fn missing_keys_are_tolerated() {
        let body = serde_json::json!({"data": [
            {"id": "bare"},
            {"id": "abilities", "info": {"meta": {"abilities": {"thinking": 3}}}},
            {"name": "no id"},
            "junk",
        ]});
        let models = parse_models(&body).expect("parses");
        assert_eq!(models.len(), 2);
        assert_eq!(models[0].name, "bare");
        assert_eq!(models[0].context_length, None);
        assert!(models[1].capabilities.thinking);
        assert!(parse_models(&serde_json::json!({"data": {}})).is_err());
    }
}
