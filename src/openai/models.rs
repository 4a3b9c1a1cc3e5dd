//! The OpenAI model list, and the mapping from a requested model name back to an upstream
//! model plus switches.
//!
//! OpenAI clients pick behaviour by model name only, so each upstream model that can think or
//! search is also listed as a virtual `<id>-thinking` / `<id>-search` variant; requesting one
//! turns that feature on. Model names are case-sensitive, as upstream ids are.

use serde_json::{Value, json};

use crate::qwen;

/// Who the listed models belong to (`owned_by`).
const OWNER: &str = "qwen";
const THINKING_SUFFIX: &str = "-thinking";
const SEARCH_SUFFIX: &str = "-search";

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

/// Every listed id with its `created`, in list order, without duplicates.
fn entries(models: &[qwen::Model]) -> impl Iterator<Item = (String, i64)> + '_ {
    let upstream = |id: &str| models.iter().any(|m| m.id == id);
    models.iter().flat_map(move |m| {
        let thinking = format!("{}{THINKING_SUFFIX}", m.id);
        let search = format!("{}{SEARCH_SUFFIX}", m.id);
        let thinking = (m.capabilities.thinking && !upstream(&thinking)).then_some(thinking);
        let search = (m.capabilities.search && !upstream(&search)).then_some(search);
        std::iter::once(m.id.clone())
            .chain(thinking)
            .chain(search)
            .map(move |id| (id, m.created))
    })
}

/// What a requested model name means upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// The upstream model id.
    pub upstream: String,
    /// The name asked for thinking (a `-thinking` variant). A request's explicit
    /// `enable_thinking`/`reasoning_effort` should override this.
    pub thinking: bool,
    /// The name asked for web search (a `-search` variant).
    pub search: bool,
}

/// Resolves `requested` against the upstream models: an exact upstream id first, else a
/// `-thinking`/`-search` variant of a model that has that capability. `None` when unknown.
pub fn resolve_model(requested: &str, models: &[qwen::Model]) -> Option<ResolvedModel> {
    if models.iter().any(|m| m.id == requested) {
        return Some(ResolvedModel {
            upstream: requested.to_owned(),
            thinking: false,
            search: false,
        });
    }
    let variant = |suffix: &str, has: fn(&qwen::Capabilities) -> bool| {
        let base = requested.strip_suffix(suffix)?;
        models
            .iter()
            .find(|m| m.id == base && has(&m.capabilities))
            .map(|m| m.id.clone())
    };
    if let Some(upstream) = variant(THINKING_SUFFIX, |c| c.thinking) {
        return Some(ResolvedModel {
            upstream,
            thinking: true,
            search: false,
        });
    }
    variant(SEARCH_SUFFIX, |c| c.search).map(|upstream| ResolvedModel {
        upstream,
        thinking: false,
        search: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, thinking: bool, search: bool, created: i64) -> qwen::Model {
        qwen::Model {
            id: id.to_owned(),
            name: id.to_uppercase(),
            context_length: Some(32_768),
            capabilities: qwen::Capabilities {
                thinking,
                vision: false,
                search,
            },
            created,
        }
    }

    fn upstream() -> Vec<qwen::Model> {
        vec![
            model("qwen3-max", true, true, 100),
            model("qwen-plus", false, true, 200),
            model("qwq", false, false, 300),
            model("odd", true, false, 400),
            model("odd-thinking", false, false, 500),
        ]
    }

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

    #[test]
    fn resolves_names() {
        let models = upstream();
        let r = |name: &str| resolve_model(name, &models);
        let resolved = |upstream: &str, thinking, search| {
            Some(ResolvedModel {
                upstream: upstream.to_owned(),
                thinking,
                search,
            })
        };
        assert_eq!(r("qwen3-max"), resolved("qwen3-max", false, false));
        assert_eq!(r("qwen3-max-thinking"), resolved("qwen3-max", true, false));
        assert_eq!(r("qwen3-max-search"), resolved("qwen3-max", false, true));
        assert_eq!(r("qwen-plus-search"), resolved("qwen-plus", false, true));
        // An exact upstream id wins over suffix stripping.
        assert_eq!(r("odd-thinking"), resolved("odd-thinking", false, false));
        assert_eq!(r("qwen-plus-thinking"), None);
        assert_eq!(r("qwq-search"), None);
        assert_eq!(r("Qwen3-Max"), None);
        assert_eq!(r("nope"), None);
        assert_eq!(r("-thinking"), None);
    }
}
