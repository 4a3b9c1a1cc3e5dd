//! Fingerprints of message lists, computed incrementally.
//!
//! A fingerprint names "this exact conversation so far" for one upstream model. It is a
//! chain: `fp[0]` is derived from the model id, and `fp[k+1] = H(fp[k] ‖ H(message k))`, so
//! one pass over a request yields the fingerprint of every prefix at once and a 200-message
//! history costs one hash of its bytes (xxh3-128: tens of GB/s), not a re-hash per lookup.
//! The hash is stable across builds and platforms, because fingerprints are stored in SQLite
//! and must survive upgrades.
//!
//! What counts as the same message (normalisation):
//! - roles: `system` and `developer` are the same role (both are instructions); every other
//!   role is itself (`function` was already mapped to `tool` by the parser);
//! - content: line endings are normalised (`\r\n` and `\r` → `\n`) and leading/trailing
//!   whitespace is ignored, because clients commonly trim what they send back;
//! - tool calls (design.md §9): name and arguments count, the arguments compared as parsed
//!   JSON (LangChain re-serialises them, so spacing and key order must not matter); call ids
//!   do not (they name a call, they say nothing of the conversation). A message without calls
//!   hashes exactly as it did before tools existed, so stored fingerprints stay valid;
//! - the tool set is part of the chain's seed: a request whose tools differ from the ones the
//!   chat was opened with never continues it;
//! - nothing else: any other difference in an earlier message is an edited history, and an
//!   edited history must not continue the upstream chat that saw the original.

use xxhash_rust::xxh3::Xxh3;

use serde_json::Value;

use crate::session::{Message, Role, ToolSpec};
use crate::store::Fingerprint;

/// The fingerprints of every prefix of a message list: `prefixes()[k]` covers the first `k`
/// messages (so there are `len + 1` of them).
#[derive(Debug, Clone)]
pub struct Chain {
    prefixes: Vec<Fingerprint>,
}

impl Chain {
    /// Fingerprints every prefix of `messages` under `model` and the declared `tools`.
    pub fn new(model: &str, tools: &[ToolSpec], messages: &[Message]) -> Chain {
        let mut prefixes = Vec::with_capacity(messages.len() + 2);
        prefixes.push(seed(model, tools));
        let mut chain = Chain { prefixes };
        for m in messages {
            chain.push(m);
        }
        chain
    }

    /// Extends the chain by one message (e.g. the assistant's answer).
    pub fn push(&mut self, message: &Message) {
        let last = *self.prefixes.last().unwrap_or(&[0; 16]);
        let mut h = Xxh3::new();
        h.update(&last);
        h.update(&message_hash(message).to_le_bytes());
        self.prefixes.push(h.digest128().to_le_bytes());
    }

    /// All prefix fingerprints, shortest first.
    pub fn prefixes(&self) -> &[Fingerprint] {
        &self.prefixes
    }

    /// The fingerprint of the whole list.
    pub fn full(&self) -> Fingerprint {
        *self.prefixes.last().unwrap_or(&[0; 16])
    }
}

/// The normalised role tag hashed for a message.
fn role_tag(role: Role) -> u8 {
    match role {
        Role::System | Role::Developer => b's',
        Role::User => b'u',
        Role::Assistant => b'a',
        Role::Tool => b't',
    }
}

/// `fp[0]`: the model, and the tool set when there is one (without tools, the seed every
/// stored fingerprint was made with).
fn seed(model: &str, tools: &[ToolSpec]) -> Fingerprint {
    let mut h = Xxh3::new();
    h.update(b"qwenctl/v1\0");
    h.update(model.as_bytes());
    for tool in tools {
        h.update(b"\0tool\0");
        h.update(tool.name.as_bytes());
        h.update(b"\0");
        h.update(tool.description.as_deref().unwrap_or_default().as_bytes());
        h.update(b"\0");
        // serde_json's map is ordered by key, so this text is canonical.
        hash_json(&mut h, &tool.parameters);
    }
    h.digest128().to_le_bytes()
}

/// Hash of one message after normalisation (see the module docs).
fn message_hash(message: &Message) -> u128 {
    let trimmed = message.content.trim();
    let mut h = Xxh3::new();
    h.update(&[role_tag(message.role), 0]);
    if trimmed.contains('\r') {
        h.update(trimmed.replace("\r\n", "\n").replace('\r', "\n").as_bytes());
    } else {
        h.update(trimmed.as_bytes());
    }
    for call in &message.tool_calls {
        h.update(b"\0call\0");
        h.update(call.name.as_bytes());
        h.update(b"\0");
        match serde_json::from_str::<Value>(&call.arguments) {
            Ok(arguments) => hash_json(&mut h, &arguments),
            Err(_) => h.update(call.arguments.trim().as_bytes()),
        }
    }
    h.digest128()
}

/// Hashes `value`'s compact JSON text (what `to_string` gives) without building the text.
fn hash_json(h: &mut Xxh3, value: &Value) {
    struct Sink<'a>(&'a mut Xxh3);
    impl std::io::Write for Sink<'_> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(Sink(h), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ToolCall;
    use xxhash_rust::xxh3::xxh3_128;

    fn msg(role: Role, content: &str) -> Message {
        Message::text(role, content)
    }

    #[test]
    fn prefixes_match_separately_computed_chains() {
        let history = [
            msg(Role::System, "be brief"),
            msg(Role::User, "hi"),
            msg(Role::Assistant, "hello"),
            msg(Role::User, "more"),
        ];
        let full = Chain::new("qwen3-max", &[], &history);
        assert_eq!(full.prefixes().len(), 5);
        for k in 0..=history.len() {
            assert_eq!(
                Chain::new("qwen3-max", &[], &history[..k]).full(),
                full.prefixes()[k]
            );
        }
        let mut extended = Chain::new("qwen3-max", &[], &history[..2]);
        extended.push(&msg(Role::Assistant, "hello"));
        assert_eq!(extended.full(), full.prefixes()[3]);
    }

    #[test]
    fn normalisation_rules() {
        let base = Chain::new(
            "m",
            &[],
            &[msg(Role::User, "a\nb"), msg(Role::Assistant, "x")],
        );
        // whitespace at the ends and line endings do not matter
        let same = Chain::new(
            "m",
            &[],
            &[msg(Role::User, "  a\r\nb\n"), msg(Role::Assistant, "x ")],
        );
        assert_eq!(base.full(), same.full());
        // system and developer are one role
        assert_eq!(
            Chain::new("m", &[], &[msg(Role::System, "s")]).full(),
            Chain::new("m", &[], &[msg(Role::Developer, "s")]).full()
        );
        // content, inner whitespace, role, order and model all matter
        for other in [
            Chain::new(
                "m",
                &[],
                &[msg(Role::User, "a\nB"), msg(Role::Assistant, "x")],
            ),
            Chain::new(
                "m",
                &[],
                &[msg(Role::User, "a \nb"), msg(Role::Assistant, "x")],
            ),
            Chain::new(
                "m",
                &[],
                &[msg(Role::Assistant, "a\nb"), msg(Role::Assistant, "x")],
            ),
            Chain::new(
                "m",
                &[],
                &[msg(Role::Assistant, "x"), msg(Role::User, "a\nb")],
            ),
            Chain::new(
                "n",
                &[],
                &[msg(Role::User, "a\nb"), msg(Role::Assistant, "x")],
            ),
        ] {
            assert_ne!(base.full(), other.full());
        }
        // message boundaries matter: ["ab"] is not ["a", "b"]
        assert_ne!(
            Chain::new("m", &[], &[msg(Role::User, "ab")]).full(),
            Chain::new("m", &[], &[msg(Role::User, "a"), msg(Role::User, "b")]).full()
        );
    }

    #[test]
    fn fingerprints_are_stable_across_builds() {
        // Stored in SQLite: a change here orphans every remembered conversation.
        let fp = Chain::new("qwen3-max", &[], &[msg(Role::User, "hello")]).full();
        let again = Chain::new("qwen3-max", &[], &[msg(Role::User, "hello")]).full();
        assert_eq!(fp, again);
        // The same value computed the way the first release did, in one-shot hashes.
        let seed = xxh3_128(b"qwenctl/v1\0qwen3-max").to_le_bytes();
        let message = xxh3_128(b"u\0hello").to_le_bytes();
        let expected = xxh3_128(&[seed, message].concat()).to_le_bytes();
        assert_eq!(fp, expected);
    }

    fn call(name: &str, arguments: &str, id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    fn with_calls(content: &str, calls: Vec<ToolCall>) -> Message {
        Message {
            tool_calls: calls,
            ..msg(Role::Assistant, content)
        }
    }

    #[test]
    fn tool_calls_compare_as_parsed_json_not_by_id() {
        let sent = with_calls(
            "",
            vec![call(
                "get_weather",
                r#"{"city":"Paris","days":2}"#,
                "call_a",
            )],
        );
        // LangChain re-serialises the arguments and may keep other ids.
        let resent = with_calls(
            "  ",
            vec![call(
                "get_weather",
                "{\"days\": 2, \"city\": \"Paris\"}",
                "call_b",
            )],
        );
        assert_eq!(message_hash(&sent), message_hash(&resent));
        for other in [
            with_calls(
                "",
                vec![call("get_weather", r#"{"city":"Lyon","days":2}"#, "call_a")],
            ),
            with_calls(
                "",
                vec![call("get_time", r#"{"city":"Paris","days":2}"#, "call_a")],
            ),
            with_calls("", vec![]),
            with_calls(
                "text",
                vec![call(
                    "get_weather",
                    r#"{"city":"Paris","days":2}"#,
                    "call_a",
                )],
            ),
        ] {
            assert_ne!(message_hash(&sent), message_hash(&other));
        }
    }

    #[test]
    fn json_is_hashed_as_its_compact_text() {
        let value = serde_json::json!({"b": [1, 2.5, "x\n\"y"], "a": {"c": null, "d": true}});
        let mut streamed = Xxh3::new();
        hash_json(&mut streamed, &value);
        let mut whole = Xxh3::new();
        whole.update(value.to_string().as_bytes());
        assert_eq!(streamed.digest128(), whole.digest128());
    }

    #[test]
    fn the_tool_set_is_part_of_the_seed() {
        let tool = |name: &str| ToolSpec {
            name: name.into(),
            description: None,
            parameters: serde_json::json!({"type": "object"}),
        };
        let history = [msg(Role::User, "hi")];
        let plain = Chain::new("m", &[], &history).full();
        let one = Chain::new("m", &[tool("a")], &history).full();
        assert_ne!(plain, one);
        assert_eq!(one, Chain::new("m", &[tool("a")], &history).full());
        assert_ne!(one, Chain::new("m", &[tool("b")], &history).full());
        assert_ne!(
            one,
            Chain::new("m", &[tool("a"), tool("b")], &history).full()
        );
    }

    #[test]
    fn long_history_is_cheap() {
        let history: Vec<Message> = (0..200)
            .map(|i| {
                msg(
                    if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    &"word ".repeat(100),
                )
            })
            .collect();
        let chain = Chain::new("m", &[], &history);
        assert_eq!(chain.prefixes().len(), 201);
    }
}
