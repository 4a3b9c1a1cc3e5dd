//! The OpenAI model list: the engine's catalog ([`crate::session::models`]: upstream models
//! plus their virtual `-thinking`/`-search` variants) as OpenAI `model` objects.

use serde_json::{Value, json};

use crate::qwen;
use crate::session::models::entries;

/// Who the listed models belong to (`owned_by`).
const OWNER: &str = "qwen";

/// One `model` object: `{"id", "object": "model", "created", "owned_by"}`.
pub fn model_object(id: &str, created: i64, owned_by: &str) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": owned_by})
}

/// `GET /v1/models`: `{"object": "list", "data": [...]}`, each upstream model followed by its
/// virtual variants. A variant whose name an upstream model already has is not listed twice.
pub fn model_list(models: &[qwen::Model]) -> Value {
    let data: Vec<Value> = entries(models)
        .map(|(id, created)| model_object(&id, created, OWNER))
        .collect();
    json!({"object": "list", "data": data})
}

/// `GET /v1/models/{model}`: the model object for `requested` when the list has it.
pub fn model_entry(requested: &str, models: &[qwen::Model]) -> Option<Value> {
    entries(models)
        .find(|(id, _)| id == requested)
        .map(|(id, created)| model_object(&id, created, OWNER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::models::fixtures::upstream;

    #[test]
    fn model_object_shape() {
        assert_eq!(
            model_object("m", 7, "qwen"),
            json!({"id": "m", "object": "model", "created": 7, "owned_by": "qwen"})
        );
    }

    #[test]
    fn list_has_virtual_variants() {
        let list = model_list(&upstream());
        assert_eq!(list["object"], "list");
        let data = list["data"].as_array().unwrap();
        let ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "qwen3-max",
                "qwen3-max-thinking",
                "qwen3-max-search",
                "qwen-plus",
                "qwen-plus-search",
                "qwq",
                "odd",
                "odd-thinking",
            ]
        );
        assert_eq!(data[1], model_object("qwen3-max-thinking", 100, "qwen"));
        assert_eq!(data[7], model_object("odd-thinking", 500, "qwen"));
        assert_eq!(model_list(&[]), json!({"object": "list", "data": []}));
    }

    #[test]
    fn entry_lookup() {
        let models = upstream();
        assert_eq!(
            model_entry("qwen-plus-search", &models),
            Some(model_object("qwen-plus-search", 200, "qwen"))
        );
        assert_eq!(model_entry("qwen-plus-thinking", &models), None);
        assert_eq!(model_entry("QWQ", &models), None);
    }
}
