//! The model catalog: which names a client may ask for, and what each means upstream.
//!
//! Clients pick behaviour by model name only, so each upstream model that can think or
//! search is also offered as a virtual `<id>-thinking` / `<id>-search` variant; asking for
//! one turns that feature on. Model names are case-sensitive, as upstream ids are. Every wire
//! format lists and resolves names through here, so they all offer the same models.

use crate::qwen;

const THINKING_SUFFIX: &str = "-thinking";
const SEARCH_SUFFIX: &str = "-search";

/// Every listed id with its `created`, in list order, without duplicates.
pub(crate) fn entries(models: &[qwen::Model]) -> impl Iterator<Item = (String, i64)> + '_ {
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

/// What `requested` most likely means when the upstream's list cannot be had: the name as
/// an upstream id, minus a `-thinking`/`-search` suffix that then turns the feature on. Any
/// real problem with the name surfaces from the chat request itself.
pub fn assume_model(requested: &str) -> ResolvedModel {
    let (upstream, thinking, search) = if let Some(base) = requested.strip_suffix(THINKING_SUFFIX) {
        (base, true, false)
    } else if let Some(base) = requested.strip_suffix(SEARCH_SUFFIX) {
        (base, false, true)
    } else {
        (requested, false, false)
    };
    ResolvedModel {
        upstream: upstream.to_owned(),
        thinking,
        search,
    }
}

/// A small upstream list with every naming case, for the tests here and of the wire formats
/// that list the catalog.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::qwen;

    pub(crate) fn model(id: &str, thinking: bool, search: bool, created: i64) -> qwen::Model {
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

    pub(crate) fn upstream() -> Vec<qwen::Model> {
        vec![
            model("qwen3-max", true, true, 100),
            model("qwen-plus", false, true, 200),
            model("qwq", false, false, 300),
            model("odd", true, false, 400),
            model("odd-thinking", false, false, 500),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::upstream;
    use super::*;

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

    #[test]
    fn assumes_names_without_a_list() {
        let assumed = |upstream: &str, thinking, search| ResolvedModel {
            upstream: upstream.to_owned(),
            thinking,
            search,
        };
        assert_eq!(
            assume_model("qwen3-max"),
            assumed("qwen3-max", false, false)
        );
        assert_eq!(
            assume_model("qwen3-max-thinking"),
            assumed("qwen3-max", true, false)
        );
        assert_eq!(
            assume_model("qwen3-max-search"),
            assumed("qwen3-max", false, true)
        );
        assert_eq!(assume_model("-thinking"), assumed("", true, false));
    }
}
