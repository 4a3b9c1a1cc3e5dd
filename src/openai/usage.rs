//! The OpenAI `usage` object, from the upstream's counts or, when the upstream reported none,
//! from a documented estimate.
//!
//! OpenAI counts reasoning tokens as part of `completion_tokens` and also reports them on their
//! own in `completion_tokens_details.reasoning_tokens`; the upstream's `output_tokens` already
//! includes its reasoning tokens the same way, so the mapping is one to one.

use serde::{Deserialize, Serialize};

use crate::qwen;

/// `usage` of a completion, as the OpenAI API reference spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OpenAiUsage {
    pub prompt_tokens: u64,
    /// Answer plus reasoning tokens.
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptTokensDetails,
    pub completion_tokens_details: CompletionTokensDetails,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
}

/// `usage.completion_tokens_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    /// The part of `completion_tokens` spent on reasoning.
    pub reasoning_tokens: u64,
}

impl OpenAiUsage {
    /// A usage object from its three counts; `total_tokens` is derived.
    pub fn new(prompt: u64, completion: u64, reasoning: u64, cached: u64) -> Self {
        OpenAiUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.saturating_add(completion),
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: cached,
            },
            completion_tokens_details: CompletionTokensDetails {
                reasoning_tokens: reasoning,
            },
        }
    }

    /// The JSON object.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "prompt_tokens_details": {"cached_tokens": self.prompt_tokens_details.cached_tokens},
            "completion_tokens_details": {
                "reasoning_tokens": self.completion_tokens_details.reasoning_tokens,
            },
        })
    }
}

/// Maps the upstream's usage: prompt ← `input_tokens`, completion ← `output_tokens`,
/// reasoning ← `reasoning_tokens`, cached ← `cached_tokens`, total = prompt + completion.
pub fn usage_from_qwen(u: &qwen::Usage) -> OpenAiUsage {
    OpenAiUsage::new(
        u.input_tokens,
        u.output_tokens,
        u.reasoning_tokens,
        u.cached_tokens,
    )
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

/// Weight of one character for [`estimate_tokens`].
pub(crate) fn char_weight(c: char) -> u64 {
    if c.is_ascii() { 1 } else { 3 }
}

/// Usage estimated with [`estimate_tokens`]: completion = answer + reasoning.
pub fn estimated_usage(prompt: &str, completion: &str, reasoning: &str) -> OpenAiUsage {
    let reasoning = u64::from(estimate_tokens(reasoning));
    OpenAiUsage::new(
        u64::from(estimate_tokens(prompt)),
        u64::from(estimate_tokens(completion)) + reasoning,
        reasoning,
        0,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_upstream_usage() {
        let u = qwen::Usage {
            input_tokens: 1047,
            output_tokens: 168,
            reasoning_tokens: 83,
            cached_tokens: 512,
        };
        let expected = json!({
            "prompt_tokens": 1047,
            "completion_tokens": 168,
            "total_tokens": 1215,
            "prompt_tokens_details": {"cached_tokens": 512},
            "completion_tokens_details": {"reasoning_tokens": 83},
        });
        let usage = usage_from_qwen(&u);
        assert_eq!(usage.to_value(), expected);
        assert_eq!(serde_json::to_value(usage).unwrap(), expected);
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
        let usage = estimated_usage("abcdefgh", "abcd", "abcdabcdabcd");
        assert_eq!(usage, OpenAiUsage::new(2, 4, 3, 0));
        assert_eq!(usage.total_tokens, 6);
    }
}
