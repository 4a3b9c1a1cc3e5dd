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
//! - nothing else: any other difference in an earlier message is an edited history, and an
//!   edited history must not continue the upstream chat that saw the original.

use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::session::{Message, Role};
use crate::store::Fingerprint;

/// The fingerprints of every prefix of a message list: `prefixes()[k]` covers the first `k`
/// messages (so there are `len + 1` of them).
#[derive(Debug, Clone)]
pub struct Chain {
    prefixes: Vec<Fingerprint>,
}

impl Chain {
    /// Fingerprints every prefix of `messages` under `model`.
    pub fn new(model: &str, messages: &[Message]) -> Chain {
        let mut prefixes = Vec::with_capacity(messages.len() + 2);
        prefixes.push(xxh3_128(format!("qwenctl/v1\0{model}").as_bytes()).to_le_bytes());
        let mut chain = Chain { prefixes };
        for m in messages {
            chain.push(m.role, &m.content);
        }
        chain
    }

    /// Extends the chain by one message (e.g. the assistant's answer).
    pub fn push(&mut self, role: Role, content: &str) {
        let last = *self.prefixes.last().unwrap_or(&[0; 16]);
        let mut h = Xxh3::new();
        h.update(&last);
        h.update(&message_hash(role, content).to_le_bytes());
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

/// Hash of one message after normalisation (see the module docs).
fn message_hash(role: Role, content: &str) -> u128 {
    let trimmed = content.trim();
    let mut h = Xxh3::new();
    h.update(&[role_tag(role), 0]);
    if trimmed.contains('\r') {
        h.update(trimmed.replace("\r\n", "\n").replace('\r', "\n").as_bytes());
    } else {
        h.update(trimmed.as_bytes());
    }
    h.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let full = Chain::new("qwen3-max", &history);
        assert_eq!(full.prefixes().len(), 5);
        for k in 0..=history.len() {
            assert_eq!(
                Chain::new("qwen3-max", &history[..k]).full(),
                full.prefixes()[k]
            );
        }
        let mut extended = Chain::new("qwen3-max", &history[..2]);
        extended.push(Role::Assistant, "hello");
        assert_eq!(extended.full(), full.prefixes()[3]);
    }

    #[test]
    fn normalisation_rules() {
        let base = Chain::new("m", &[msg(Role::User, "a\nb"), msg(Role::Assistant, "x")]);
        // whitespace at the ends and line endings do not matter
        let same = Chain::new(
            "m",
            &[msg(Role::User, "  a\r\nb\n"), msg(Role::Assistant, "x ")],
        );
        assert_eq!(base.full(), same.full());
        // system and developer are one role
        assert_eq!(
            Chain::new("m", &[msg(Role::System, "s")]).full(),
            Chain::new("m", &[msg(Role::Developer, "s")]).full()
        );
        // content, inner whitespace, role, order and model all matter
        for other in [
            Chain::new("m", &[msg(Role::User, "a\nB"), msg(Role::Assistant, "x")]),
            Chain::new("m", &[msg(Role::User, "a \nb"), msg(Role::Assistant, "x")]),
            Chain::new(
                "m",
                &[msg(Role::Assistant, "a\nb"), msg(Role::Assistant, "x")],
            ),
            Chain::new("m", &[msg(Role::Assistant, "x"), msg(Role::User, "a\nb")]),
            Chain::new("n", &[msg(Role::User, "a\nb"), msg(Role::Assistant, "x")]),
        ] {
            assert_ne!(base.full(), other.full());
        }
        // message boundaries matter: ["ab"] is not ["a", "b"]
        assert_ne!(
            Chain::new("m", &[msg(Role::User, "ab")]).full(),
            Chain::new("m", &[msg(Role::User, "a"), msg(Role::User, "b")]).full()
        );
    }

    #[test]
    fn fingerprints_are_stable_across_builds() {
        // Stored in SQLite: a change here orphans every remembered conversation.
        let fp = Chain::new("qwen3-max", &[msg(Role::User, "hello")]).full();
        let again = Chain::new("qwen3-max", &[msg(Role::User, "hello")]).full();
        assert_eq!(fp, again);
        assert_eq!(fp.len(), 16);
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
        let chain = Chain::new("m", &history);
        assert_eq!(chain.prefixes().len(), 201);
    }
}
