//! The JSON columns: how a list of tool calls is spelled in `messages.tool_calls` and
//! `responses.tool_calls`, and how stored JSON reads back.
//!
//! An empty list is NULL, so a plain message stays exactly the row it was before tool calls
//! existed. The spelling is serde's of [`StoredToolCall`], which is deterministic: equal lists
//! give equal text, and the dedup of messages compares that text. A column that does not
//! parse (never written by us) reads as no calls, or as a JSON string, rather than failing
//! the whole read.

use super::StoredToolCall;

/// The column value for `calls`: `None` (NULL) when there are none.
pub(crate) fn encode_calls(calls: &[StoredToolCall]) -> Option<String> {
    if calls.is_empty() {
        return None;
    }
    // Strings only: serialising cannot fail.
    serde_json::to_string(calls).ok()
}

/// The calls a column holds; none for NULL or anything that is not a list of calls.
pub(crate) fn decode_calls(text: Option<String>) -> Vec<StoredToolCall> {
    let Some(text) = text else {
        return Vec::new();
    };
    serde_json::from_str(&text).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a stored tool-call list does not parse; read as none");
        Vec::new()
    })
}

/// Stored JSON back as a value; text that is not JSON (never written by us) stays a string.
pub(crate) fn parse_json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip_and_none_is_null() {
        assert_eq!(encode_calls(&[]), None);
        let calls = vec![StoredToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }];
        let text = encode_calls(&calls).expect("some");
        assert_eq!(
            text,
            r#"[{"id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]"#
        );
        assert_eq!(decode_calls(Some(text)), calls);
        assert_eq!(decode_calls(None), Vec::new());
        assert_eq!(decode_calls(Some("not json".into())), Vec::new());
    }
}
