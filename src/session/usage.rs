//! Token counts of an answer: the upstream's when it reported any, else a documented
//! estimate. Every wire format renders these numbers in its own shape (OpenAI's `usage`,
//! Anthropic's `input_tokens`/`output_tokens`, …), so the counting rule lives here once.

use crate::qwen;

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

    /// Estimated with [`estimate_tokens`]: completion = answer + reasoning.
    pub fn estimate(prompt: &str, completion: &str, reasoning: &str) -> Usage {
        let reasoning = u64::from(estimate_tokens(reasoning));
        Usage {
            prompt_tokens: u64::from(estimate_tokens(prompt)),
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
        let usage = Usage::estimate("abcdefgh", "abcd", "abcdabcdabcd");
        assert_eq!(usage.prompt_tokens, 2);
        assert_eq!(usage.completion_tokens, 4);
        assert_eq!(usage.reasoning_tokens, 3);
        assert_eq!(usage.total_tokens(), 6);
    }
}
