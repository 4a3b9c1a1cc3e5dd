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
    let weight: u64 = text.chars().map(char_weight).sum();
    u32::try_from(weight.div_ceil(4)).unwrap_or(u32::MAX)
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
                + count(&t.parameters.to_string())
        })
        .sum();
    messages + tools + REPLY_PRIMING
}

/// Weight of one character for [`estimate_tokens`].
pub(crate) fn char_weight(c: char) -> u64 {
    if c.is_ascii() { 1 } else { 3 }
}

#[cfg(test)]
mod tests {
    use super::*;

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
