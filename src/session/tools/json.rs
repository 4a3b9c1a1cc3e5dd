//! The one JSON value in a model's answer, for structured outputs (design.md §9). Asked for
//! JSON, models still wrap it: in a ```` ```json ```` fence, after "Here is the result:",
//! before a closing remark. This finds the value the answer meant and hands back its text as
//! the model wrote it (key order and number spelling kept), so the client's `content` is
//! exactly that JSON. Deciding whether it is the right value is the schema's job ([`super::schema`]).

use serde_json::Value;

/// How many opening brackets [`balanced`] tries as a value's start: scanning from each is
/// linear, so this bounds the work on long answers full of brackets that open no JSON.
const MAX_STARTS: usize = 256;

/// The one JSON value in `text` and its text: the whole trimmed answer if it parses, else the
/// first ```` ```json ```` (or bare ```` ``` ````) fence whose content parses, else the first
/// balanced `{…}` or `[…]` span that parses.
pub(crate) fn extract(text: &str) -> Option<(Value, String)> {
    parse(text)
        .or_else(|| fenced(text))
        .or_else(|| balanced(text))
}

/// `text`, trimmed, when it is one JSON value.
fn parse(text: &str) -> Option<(Value, String)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let value = serde_json::from_str(text).ok()?;
    Some((value, text.to_owned()))
}

/// The first JSON fence whose content parses. A fence labelled with another language is
/// skipped whole, so its braces are not mistaken for the answer.
fn fenced(text: &str) -> Option<(Value, String)> {
    const FENCE: &str = "```";
    let mut rest = text;
    while let Some(open) = rest.find(FENCE) {
        let after = rest.get(open + FENCE.len()..).unwrap_or_default();
        let label_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+-_.".contains(c)))
            .unwrap_or(after.len());
        let (label, body) = after.split_at(label_end);
        let (content, next) = match body.find(FENCE) {
            Some(close) => (
                body.get(..close).unwrap_or_default(),
                body.get(close + FENCE.len()..).unwrap_or_default(),
            ),
            None => (body, ""),
        };
        let json = label.is_empty() || label.to_ascii_lowercase().starts_with("json");
        if json && let Some(found) = parse(content) {
            return Some(found);
        }
        rest = next;
    }
    None
}

/// The first balanced `{…}` or `[…]` span that parses. A span that balances without parsing
/// is prose (`{like this}`) and skipped whole; a bracket that never closes is skipped alone,
/// since the value may start inside it.
fn balanced(text: &str) -> Option<(Value, String)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut starts = 0;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'{' || b == b'['))
    {
        let start = at + offset;
        starts += 1;
        if starts > MAX_STARTS {
            return None;
        }
        at = match span_end(bytes, start) {
            Some(end) => {
                if let Some(found) = text.get(start..end).and_then(parse) {
                    return Some(found);
                }
                end
            }
            None => start + 1,
        };
    }
    None
}

/// Just past the bracket that closes the one at `start`, skipping JSON strings; `None` when it
/// is never closed, or closed by the wrong kind. Bytes suffice: in UTF-8 no byte of a
/// multibyte char is ASCII, so brackets and quotes are always whole chars.
fn span_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut open = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' => open.push(b'}'),
            b'[' => open.push(b']'),
            b'}' | b']' => {
                if open.pop() != Some(byte) {
                    return None;
                }
                if open.is_empty() {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::Config;
    use serde_json::json;

    use super::*;

    /// The value and text found in `answer`.
    fn found(answer: &str) -> (Value, String) {
        match extract(answer) {
            Some(found) => found,
            None => panic!("nothing found in {answer:?}"),
        }
    }

    #[test]
    fn a_bare_value() {
        assert_eq!(
            found("{\"a\": 1}"),
            (json!({"a": 1}), "{\"a\": 1}".to_owned())
        );
        assert_eq!(found("\n  [1, 2]\n"), (json!([1, 2]), "[1, 2]".to_owned()));
        assert_eq!(found(" 42 "), (json!(42), "42".to_owned()));
        // The model's own text, not a re-serialisation: key order and spelling survive.
        assert_eq!(found(r#"{"b": 1.0, "a": 2}"#).1, r#"{"b": 1.0, "a": 2}"#);
    }

    #[test]
    fn a_fenced_value_among_prose() {
        let answer =
            "Here you go:\n```json\n{\n  \"city\": \"Paris\"\n}\n```\nHope it helps {you}.";
        assert_eq!(
            found(answer),
            (
                json!({"city": "Paris"}),
                "{\n  \"city\": \"Paris\"\n}".to_owned()
            )
        );
        assert_eq!(found("Result:\n```\n[1]\n```").0, json!([1]));
        assert_eq!(found("```JSON {\"a\": 1}```").0, json!({"a": 1}));
        assert_eq!(found("Cut off:\n```json\n{\"a\": 1}").0, json!({"a": 1}));
        let skipped =
            "```python\nd = {\"x\": 1}\n```\nand\n```json\nnot yet\n```\n```json\n{\"a\": 2}\n```";
        assert_eq!(found(skipped).0, json!({"a": 2}));
    }

    #[test]
    fn a_value_in_prose() {
        assert_eq!(
            found("Sure! {\"a\": 1} Let me know."),
            (json!({"a": 1}), "{\"a\": 1}".to_owned())
        );
        assert_eq!(found("The list: [1, 2, 3].").0, json!([1, 2, 3]));
        assert_eq!(
            found(r#"See [note] and {this}: {"a": 1}"#).0,
            json!({"a": 1})
        );
        assert_eq!(
            found(r#"Nearly {"a": 1, oops} then {"b": 2}"#).0,
            json!({"b": 2})
        );
        assert_eq!(found(r#"{ never closed {"a": 1}"#).0, json!({"a": 1}));
        assert_eq!(found("Voilà 😀 {\"é\": \"😀\"} fin").0, json!({"é": "😀"}));
    }

    #[test]
    fn braces_inside_strings() {
        let answer = r#"Result: {"text": "a } b { c \" ]", "n": [1, "]"]} done"#;
        assert_eq!(
            found(answer),
            (
                json!({"text": "a } b { c \" ]", "n": [1, "]"]}),
                r#"{"text": "a } b { c \" ]", "n": [1, "]"]}"#.to_owned()
            )
        );
        let fenced = "```json\n{\"md\": \"```rust\\nfn main() {}\\n```\"}\n```";
        assert_eq!(found(fenced).0, json!({"md": "```rust\nfn main() {}\n```"}));
    }

    #[test]
    fn nothing_to_find() {
        for answer in [
            "",
            "   ",
            "no json here",
            "{not json}",
            "[unclosed",
            "} ] {",
            "```json\n```",
            "{\"a\": }",
        ] {
            assert_eq!(extract(answer), None, "{answer:?}");
        }
    }

    #[test]
    fn long_answers_of_brackets_stay_cheap() {
        let answer = "{[".repeat(50_000);
        assert_eq!(extract(&answer), None);
    }

    fn config() -> Config {
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z{}\\[\\]\"\\\\`é😀 ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z{}\"]{1,4}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn no_answer_panics(answer in "\\PC{0,64}|[{}\\[\\]\"\\\\`a ]{0,64}") {
            let _ = extract(&answer);
        }

        #[test]
        fn a_value_in_plain_prose_is_found(
            value in any_json().prop_filter("a container", |v| v.is_object() || v.is_array()),
            pretty in any::<bool>(),
            before in "[a-zA-Z .,:é😀\n]{0,20}",
            after in "[a-zA-Z .,:é😀\n]{0,20}",
        ) {
            let text = match pretty {
                true => format!("{value:#}"),
                false => value.to_string(),
            };
            let answer = format!("{before}{text}{after}");
            prop_assert_eq!(extract(&answer), Some((value, text)));
        }
    }
}
