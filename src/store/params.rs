//! A request's parameters (its wire body without the messages) as the store keeps them:
//! serialized once, when the request arrives, with their large members split off to be
//! stored once per distinct value.
//!
//! An agent sends the same ~25 KB of tool schemas (and a Responses client the same long
//! `instructions`) with every turn, and a request row that kept its parameters whole stored
//! them again every turn: about 34 KB of database per turn where the turn itself added 3 KB.
//! So every top-level member whose JSON text reaches [`SHARED_MIN_BYTES`] goes to
//! `shared_params`, content-addressed (a hash of the text narrows the lookup, the text
//! decides, as `messages` does), and the request row keeps the rest (`requests.params`) and
//! links the shared values by member name (`request_shared_params`). Which members are split
//! is the writer's choice alone: a reader puts back whatever is linked, so rows written
//! before the split (their parameters whole) read the same, and the threshold may change.
//!
//! [`Params`] is built from the parsed body by the wire format (moving it, never copying the
//! tree), carries each member's text and hash from then on, and is shared by reference
//! between the engine's turn and the store's row.

use std::sync::Arc;

use serde_json::Value;

use super::writes::text_hash;

/// Members whose JSON text is at least this long are stored once per distinct value. Tool
/// sets and instructions are kilobytes; the scalars of a body are a few bytes, and a member
/// kept inline costs its text alone where a shared one costs a link row and an index entry
/// (about 100 bytes) besides.
pub(crate) const SHARED_MIN_BYTES: usize = 1024;

/// A request's parameters, serialized; cheap to clone (one reference count).
#[derive(Clone)]
pub struct Params(Arc<Parts>);

struct Parts {
    /// The JSON text of the parameters without the shared members: an object, or, for a
    /// body that was not one (a refused body kept as an excerpt), that value whole.
    inline: String,
    /// The shared members, in key order.
    shared: Vec<SharedParam>,
}

/// One member stored once per distinct value.
pub(crate) struct SharedParam {
    /// The member's key (`tools`, `instructions`, …).
    pub name: String,
    /// Its JSON text.
    pub content: String,
    /// [`text_hash`] of `content`.
    pub hash: i64,
}

impl Params {
    /// Serializes `value`, splitting off its large members. The text is serde_json's compact
    /// form, whose maps keep their keys sorted, so equal values give equal text.
    pub fn new(value: Value) -> Params {
        let Value::Object(map) = value else {
            return Params(Arc::new(Parts {
                inline: value.to_string(),
                shared: Vec::new(),
            }));
        };
        let mut inline = String::from("{");
        let mut shared = Vec::new();
        for (key, member) in map {
            let text = member.to_string();
            drop(member);
            if text.len() >= SHARED_MIN_BYTES {
                shared.push(SharedParam {
                    hash: text_hash(&text),
                    name: key,
                    content: text,
                });
            } else {
                if inline.len() > 1 {
                    inline.push(',');
                }
                inline.push_str(&Value::String(key).to_string());
                inline.push(':');
                inline.push_str(&text);
            }
        }
        inline.push('}');
        Params(Arc::new(Parts { inline, shared }))
    }

    /// The text of `requests.params`: everything but the shared members.
    pub(crate) fn inline(&self) -> &str {
        &self.0.inline
    }

    /// The members stored once per distinct value.
    pub(crate) fn shared(&self) -> &[SharedParam] {
        &self.0.shared
    }

    /// The parameters as a value again: what a reader of the row gets.
    pub fn to_value(&self) -> Value {
        assemble(
            self.0.inline.clone(),
            self.0
                .shared
                .iter()
                .map(|s| (s.name.clone(), s.content.clone())),
        )
    }
}

impl From<Value> for Params {
    fn from(value: Value) -> Params {
        Params::new(value)
    }
}

/// Sizes only: the parameters may be tens of kilobytes, and a log line needs none of them.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared: Vec<(&str, usize)> = self
            .0
            .shared
            .iter()
            .map(|s| (s.name.as_str(), s.content.len()))
            .collect();
        f.debug_struct("Params")
            .field("inline_bytes", &self.0.inline.len())
            .field("shared_bytes", &shared)
            .finish()
    }
}

/// A request's parameters from its row: the `params` text with each linked shared member
/// put back under its name. A row written before the split has no links and reads as its
/// text. Text that is not JSON (never written by us) stays a string, as `parse_json` has it.
pub(crate) fn assemble(
    inline: String,
    shared: impl IntoIterator<Item = (String, String)>,
) -> Value {
    let mut value = super::codec::parse_json(inline);
    if let Value::Object(map) = &mut value {
        for (name, content) in shared {
            map.insert(name, super::codec::parse_json(content));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tools(n: usize) -> Value {
        (0..n)
            .map(|i| {
                let (name, description, parameters) = crate::perf::tool(i);
                json!({"type": "function", "function": {
                    "name": name, "description": description, "parameters": parameters}})
            })
            .collect()
    }

    #[test]
    fn large_members_are_split_off_and_put_back() {
        let instructions = "Be brief. ".repeat(200);
        let value = json!({
            "model": "qwen3-max", "stream": true, "temperature": 0.25,
            "tools": tools(20), "instructions": instructions,
            "metadata": {"user": "u-1"}, "stop": ["\n\n", "END"],
        });
        let params = Params::new(value.clone());
        let names: Vec<&str> = params.shared().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["instructions", "tools"]);
        assert!(params.inline().len() < 200, "{}", params.inline());
        assert!(!params.inline().contains("tool_0"));
        for s in params.shared() {
            assert_eq!(s.content, value[&s.name].to_string());
            assert_eq!(s.hash, text_hash(&s.content));
        }
        assert_eq!(params.to_value(), value);
    }

    #[test]
    fn small_parameters_stay_whole_and_keep_their_old_text() {
        for value in [
            json!({"model": "qwen3-max", "temperature": 0.5,
                   "tools": [{"type": "function", "function": {"name": "f"}}]}),
            json!({}),
            json!({"b": {"z": [1, 2.5, null]}, "a": "é \" \\ \n", "c": false}),
            json!("not json at all {"),
            Value::Null,
            json!([1, 2, 3]),
        ] {
            let params = Params::new(value.clone());
            assert!(params.shared().is_empty(), "{value}");
            assert_eq!(params.inline(), value.to_string());
            assert_eq!(params.to_value(), value);
        }
    }

    #[test]
    fn the_text_is_canonical() {
        let a: Value =
            serde_json::from_str(r#"{"tools": [{"b": 1, "a": 2}], "model": "m"}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"model": "m", "tools": [{"a": 2, "b": 1}]}"#).unwrap();
        assert_eq!(Params::new(a).inline(), Params::new(b).inline());
    }

    #[test]
    fn a_row_without_links_reads_as_its_text() {
        let whole = json!({"model": "m", "tools": tools(20)});
        assert_eq!(assemble(whole.to_string(), []), whole);
        assert_eq!(
            assemble("{oops".to_owned(), [("tools".to_owned(), "[]".to_owned())]),
            json!("{oops")
        );
    }

    #[test]
    fn debug_shows_sizes_not_content() {
        let params = Params::new(json!({"model": "secret-ish", "tools": tools(20)}));
        let shown = format!("{params:?}");
        assert!(shown.contains("inline_bytes"), "{shown}");
        assert!(
            !shown.contains("secret-ish") && !shown.contains("tool_0"),
            "{shown}"
        );
    }
}
