//! The Anthropic model list: the engine's catalog ([`crate::session::models`]: upstream
//! models plus their virtual `-thinking`/`-search` variants, the same list OpenAI clients
//! see) as Anthropic `model` objects, `created_at` in RFC 3339.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::qwen;
use crate::session::models::{entries, resolve_model};

/// `GET /v1/models` in Anthropic's shape: `{"data": [...], "has_more": false, "first_id",
/// "last_id"}`, the ids `null` for an empty list. The whole catalog is one page.
pub fn model_list(models: &[qwen::Model]) -> Value {
    let data: Vec<Value> = entries(models)
        .map(|(id, created)| model_object(&id, created, models))
        .collect();
    let first = data.first().map(|m| m["id"].clone());
    let last = data.last().map(|m| m["id"].clone());
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

/// `GET /v1/models/{model}`: the model object for `requested` when the list has it.
pub fn model_entry(requested: &str, models: &[qwen::Model]) -> Option<Value> {
    entries(models)
        .find(|(id, _)| id == requested)
        .map(|(id, created)| model_object(&id, created, models))
}

/// `{"type": "model", "id", "display_name", "created_at"}`.
fn model_object(id: &str, created: i64, models: &[qwen::Model]) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": display_name(id, models),
        "created_at": rfc3339(created),
    })
}

/// The upstream's display name; a virtual variant's is its model's plus `Thinking` or
/// `Search`.
fn display_name(id: &str, models: &[qwen::Model]) -> String {
    let Some(resolved) = resolve_model(id, models) else {
        return id.to_owned();
    };
    let name = models
        .iter()
        .find(|m| m.id == resolved.upstream)
        .map_or(resolved.upstream.as_str(), |m| m.name.as_str());
    let name = if name.is_empty() { id } else { name };
    match (resolved.thinking, resolved.search) {
        (true, _) => format!("{name} Thinking"),
        (_, true) => format!("{name} Search"),
        _ => name.to_owned(),
    }
}

/// Unix seconds as RFC 3339 UTC (`2025-05-14T00:00:00Z`); before 1970 reads as the epoch.
pub(crate) fn rfc3339(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::models::fixtures::upstream;

    #[test]
    fn rfc3339_formatting() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_747_180_800), "2025-05-14T00:00:00Z");
        assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn list_shape() {
        let list = model_list(&upstream());
        assert_eq!(list["has_more"], false);
        assert_eq!(list["first_id"], "qwen3-max");
        assert_eq!(list["last_id"], "odd-thinking");
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
        assert_eq!(
            data[1],
            json!({
                "type": "model",
                "id": "qwen3-max-thinking",
                "display_name": "QWEN3-MAX Thinking",
                "created_at": "1970-01-01T00:01:40Z",
            })
        );
        assert_eq!(data[2]["display_name"], "QWEN3-MAX Search");
        assert_eq!(data[0]["display_name"], "QWEN3-MAX");
        // An upstream model whose id looks like a variant is itself.
        assert_eq!(data[7]["display_name"], "ODD-THINKING");
        assert_eq!(
            model_list(&[]),
            json!({"data": [], "has_more": false, "first_id": null, "last_id": null})
        );
    }

    #[test]
    fn entry_lookup() {
        let models = upstream();
        let entry = model_entry("qwen-plus-search", &models).unwrap();
        assert_eq!(entry["display_name"], "QWEN-PLUS Search");
        assert_eq!(entry["created_at"], "1970-01-01T00:03:20Z");
        assert_eq!(model_entry("qwen-plus-thinking", &models), None);
        assert_eq!(model_entry("QWQ", &models), None);
    }
}
