//! Token counts of an answer: the upstream's when it reported any, else a documented
//! estimate. Every wire format renders these numbers in its own shape (OpenAI's `usage`,
//! Anthropic's `input_tokens`/`output_tokens`, …), so the counting rule lives here once.

use super::{Message, ToolSpec};
use crate::qwen;

/// What OpenAI's chat format adds to every message's text (`<|start|>`, `<|message|>`,
/// `<|end|>`; the role is counted as text), to a message's `name`, and once for the reply
/// (`<|start|>assistant<|message|>`): the figures of OpenAI's own token-counting recipe,
/// which tiktoken-based counters such as LiteLLM follow.
const PER_MESSAGE: u64 = 3;
const PER_NAME: u64 = 1;
const REPLY_PRIMING: u64 = 3;

/// What an answer cost, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: u64,
    /// Answer plus reasoning tokens (OpenAI counts reasoning as completion, and so does the
    /// upstream's `output_tokens`).
    pub completion_tokens: u64,
    /// The part of `completion_tokens` spent on reasoning.
    pub reasoning_tokens: u64,
    /// The part of `prompt_tokens` the upstream served from its cache.
    pub cached_tokens: u64,
}

impl Usage {
    /// The upstream's counts: prompt ← `input_tokens`, completion ← `output_tokens`,
    /// reasoning ← `reasoning_tokens`, cached ← `cached_tokens`.
    pub fn from_qwen(u: &qwen::Usage) -> Usage {
        Usage {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            reasoning_tokens: u.reasoning_tokens,
            cached_tokens: u.cached_tokens,
        }
    }

    /// The upstream's counts, with the reasoning estimated from `reasoning` when the upstream
    /// reported none for it (Qwen often leaves `output_tokens_details` out), at most the
    /// completion it is part of.
    pub fn from_qwen_with(u: &qwen::Usage, reasoning: &str) -> Usage {
        let mut usage = Usage::from_qwen(u);
        if usage.reasoning_tokens == 0 {
            usage.reasoning_tokens =
                u64::from(estimate_tokens(reasoning)).min(usage.completion_tokens);
        }
        usage
    }

    /// Estimated: `prompt_tokens` as [`estimate_prompt`] counted them, the answer and the
    /// reasoning with [`estimate_tokens`] (completion = answer + reasoning).
    pub fn estimate(prompt_tokens: u64, completion: &str, reasoning: &str) -> Usage {
        let reasoning = u64::from(estimate_tokens(reasoning));
        Usage {
            prompt_tokens,
            completion_tokens: u64::from(estimate_tokens(completion)) + reasoning,
            reasoning_tokens: reasoning,
            cached_tokens: 0,
        }
    }

    /// Prompt plus completion.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    /// The counts of two upstream turns of one answer, together.
    fn add(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
            reasoning_tokens: self.reasoning_tokens.saturating_add(other.reasoning_tokens),
            cached_tokens: self.cached_tokens.saturating_add(other.cached_tokens),
        }
    }
}

/// Estimated token count of `text`, for when the upstream reports no usage and for
/// `max_tokens`.
///
/// Heuristic: ASCII characters weigh 1, every other character weighs 3, and a token is 4 units
/// of weight, rounded up. That is the usual "4 characters per token" for English and code, and
/// about 0.75 tokens per character for Chinese, Japanese and Korean, close to what Qwen's
/// tokenizer does for them. Empty text is 0 tokens; any other text at least 1.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text_weight(text.as_bytes()).div_ceil(4)).unwrap_or(u32::MAX)
}

/// The sum of [`char_weight`] over the UTF-8 `text`, counted on its bytes: an ASCII byte is
/// an ASCII character (1), a lead byte (`0xC0` and up) starts one other character (3), and
/// continuation bytes add nothing. The same sum as over `chars()`, without decoding them
/// (every turn of an agent counts its whole history, hundreds of kilobytes, this way), and
/// additive: text cut anywhere weighs what its pieces weigh.
fn text_weight(text: &[u8]) -> u64 {
    if text.is_ascii() {
        return text.len() as u64;
    }
    // Two counts that the compiler turns into vector compares.
    let ascii = text.iter().filter(|&&b| b < 0x80).count() as u64;
    let leads = text.iter().filter(|&&b| b >= 0xC0).count() as u64;
    ascii + 3 * leads
}

/// Estimated prompt tokens of a chat request, counted the way OpenAI counts a chat: each
/// message's text (role, content, name, tool call id, its calls' names and arguments) with
/// [`estimate_tokens`], plus 3 per message, 1 per name and 3 for the reply; the tools'
/// names, descriptions and schemas as text. A one-line question is then about 12 tokens, as
/// tiktoken-based counters say, not the 5 of its text alone.
pub fn estimate_prompt(messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let count = |text: &str| u64::from(estimate_tokens(text));
    let messages: u64 = messages
        .iter()
        .map(|m| {
            let calls: u64 = m
                .tool_calls
                .iter()
                .map(|c| count(&c.id) + count(&c.name) + count(&c.arguments))
                .sum();
            PER_MESSAGE
                + count(m.role.as_str())
                + count(&m.content)
                + m.name.as_deref().map_or(0, |n| count(n) + PER_NAME)
                + m.tool_call_id.as_deref().map_or(0, count)
                + calls
        })
        .sum();
    let tools: u64 = tools
        .iter()
        .map(|t| {
            count(&t.name)
                + count(t.description.as_deref().unwrap_or_default())
                + json_tokens(&t.parameters)
        })
        .sum();
    messages + tools + REPLY_PRIMING
}

/// [`estimate_tokens`] of the compact JSON text of `value` (what `to_string` gives), without
/// building the text: the tools' schemas are counted on every turn.
pub fn json_tokens(value: &serde_json::Value) -> u64 {
    json_weight(value).div_ceil(4).min(u64::from(u32::MAX))
}

/// [`text_weight`] of the compact JSON text of `value`, walked: serde_json writes no spaces,
/// a `,` between items and entries and a `:` after each key, and in strings escapes `"`, the
/// backslash and the five short control characters as two characters, the other control
/// characters as six (`\u001f`).
fn json_weight(value: &serde_json::Value) -> u64 {
    use serde_json::Value;
    fn string(s: &str) -> u64 {
        let escapes: u64 = s
            .bytes()
            .filter(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                _ => 5,
            })
            .sum();
        2 + text_weight(s.as_bytes()) + escapes
    }
    let separators = |n: usize| n.saturating_sub(1) as u64;
    match value {
        Value::Null => 4,
        Value::Bool(b) => 4 + u64::from(!*b),
        Value::Number(n) => n.to_string().len() as u64,
        Value::String(s) => string(s),
        Value::Array(items) => {
            2 + separators(items.len()) + items.iter().map(json_weight).sum::<u64>()
        }
        Value::Object(map) => {
            2 + separators(map.len())
                + map
                    .iter()
                    .map(|(key, item)| string(key) + 1 + json_weight(item))
                    .sum::<u64>()
        }
    }
}

/// Weight of one character for [`estimate_tokens`].
pub(crate) fn char_weight(c: char) -> u64 {
    if c.is_ascii() { 1 } else { 3 }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, failure_persistence: None, ..Default::default() })]

        #[test]
        fn weight_on_bytes_is_the_weight_on_chars(text in "\\PC{0,64}|[a-z\u{e9}\u{4e2d}\u{1f600} ]{0,64}") {
            let on_chars: u64 = text.chars().map(char_weight).sum();
            prop_assert_eq!(text_weight(text.as_bytes()), on_chars);
        }
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "\\PC{0,12}|[\"\\\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀a]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,4}|[\"\\\\\n\u{1}é]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, failure_persistence: None, ..Default::default() })]

        #[test]
        fn json_is_counted_as_its_text(value in any_json()) {
            let text = value.to_string();
            prop_assert_eq!(json_weight(&value), text_weight(text.as_bytes()));
            prop_assert_eq!(json_tokens(&value), u64::from(estimate_tokens(&text)));
        }
    }

    #[test]
    fn maps_upstream_usage() {
        let u = qwen::Usage {
            input_tokens: 1047,
            output_tokens: 168,
            reasoning_tokens: 83,
            cached_tokens: 512,
        };
        let usage = Usage::from_qwen(&u);
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 1047,
                completion_tokens: 168,
                reasoning_tokens: 83,
                cached_tokens: 512,
            }
        );
        assert_eq!(usage.total_tokens(), 1215);
    }

    #[test]
    fn estimates() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("你好世界"), 3);
        assert_eq!(estimate_tokens(&"word ".repeat(100)), 125);
    }

    #[test]
    fn estimated_usage_counts_reasoning_in_completion() {
        let usage = Usage::estimate(2, "abcd", "abcdabcdabcd");
        assert_eq!(usage.prompt_tokens, 2);
        assert_eq!(usage.completion_tokens, 4);
        assert_eq!(usage.reasoning_tokens, 3);
        assert_eq!(usage.total_tokens(), 6);
    }

    #[test]
    fn prompts_count_the_chat_format_like_openai() {
        use crate::session::{Role, ToolCall};
        // "Hi, my name is Alice." is 21 characters: 6 tokens of text, 12 with the format
        // (3 + "user" + text, then 3 for the reply), where tiktoken counts 7 and 14.
        let hi = [Message::text(Role::User, "Hi, my name is Alice.")];
        assert_eq!(estimate_prompt(&hi, &[]), 3 + 1 + 6 + 3);
        let mut call = Message::text(Role::Assistant, "");
        call.tool_calls = vec![ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }];
        let mut result = Message::text(Role::Tool, "sunny");
        result.tool_call_id = Some("call_1".into());
        result.name = Some("get_weather".into());
        let tools = [ToolSpec {
            name: "get_weather".into(),
            description: Some("Weather".into()),
            parameters: serde_json::json!({"type": "object"}),
        }];
        let history = [hi[0].clone(), call, result];
        assert_eq!(
            estimate_prompt(&history, &tools),
            // user: 3 + role + text; assistant: 3 + role + the call's id, name and
            // arguments (no text); tool: 3 + role + text + name and its 1 + call id; the
            // tool's name, description and schema; the reply.
            (3 + 1 + 6) + (3 + 3 + (2 + 3 + 4)) + (3 + 1 + 2 + (3 + 1) + 2) + (3 + 2 + 5) + 3
        );
    }

    #[test]
    fn unreported_reasoning_is_estimated_within_the_completion() {
        let u = qwen::Usage {
            input_tokens: 10,
            output_tokens: 20,
            reasoning_tokens: 0,
            cached_tokens: 0,
        };
        assert_eq!(
            Usage::from_qwen_with(&u, "abcdabcdabcd").reasoning_tokens,
            3
        );
        assert_eq!(
            Usage::from_qwen_with(&u, &"x".repeat(400)).reasoning_tokens,
            20
        );
        assert_eq!(Usage::from_qwen_with(&u, "").reasoning_tokens, 0);
        let reported = qwen::Usage {
            reasoning_tokens: 7,
            ..u
        };
        assert_eq!(Usage::from_qwen_with(&reported, "abcd").reasoning_tokens, 7);
    }
}
