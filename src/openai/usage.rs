//! The OpenAI `usage` object, rendered from the engine's [`Usage`] counts.
//!
//! OpenAI counts reasoning tokens as part of `completion_tokens` and also reports them on their
//! own in `completion_tokens_details.reasoning_tokens`; the upstream's `output_tokens` already
//! includes its reasoning tokens the same way, so the mapping is one to one.

use serde::{Deserialize, Serialize};

use crate::session::Usage;

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
    pub fn to_value(self) -> serde_json::Value {
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

impl From<Usage> for OpenAiUsage {
    fn from(u: Usage) -> Self {
        OpenAiUsage::new(
            u.prompt_tokens,
            u.completion_tokens,
            u.reasoning_tokens,
            u.cached_tokens,
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_the_openai_shape() {
        let usage = OpenAiUsage::from(Usage {
            prompt_tokens: 1047,
            completion_tokens: 168,
            reasoning_tokens: 83,
            cached_tokens: 512,
        });
        let expected = json!({
            "prompt_tokens": 1047,
            "completion_tokens": 168,
            "total_tokens": 1215,
            "prompt_tokens_details": {"cached_tokens": 512},
            "completion_tokens_details": {"reasoning_tokens": 83},
        });
        assert_eq!(usage.to_value(), expected);
        assert_eq!(serde_json::to_value(usage).unwrap(), expected);
    }
}
