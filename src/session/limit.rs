//! `max_tokens` and `stop` applied to an answer as it streams.
//!
//! The web chat has neither control, so the proxy enforces both on the answer text it passes
//! on: the answer is cut at the first stop sequence (finish reason `stop`) or where the
//! estimated token count ([`estimate_tokens`](super::estimate_tokens)) would exceed
//! `max_tokens` (finish reason `length`), whichever comes first. A stop sequence can straddle
//! two deltas, so the tail of the text that could still be the start of one is held back until
//! the next delta (or [`OutputLimiter::finish`]) settles it; at most the longest stop sequence's
//! length minus one byte is ever held. Every cut falls on a character boundary. Reasoning text
//! is never passed through a limiter: OpenAI limits neither on it.

use super::usage::char_weight;

/// Why a choice ended, as OpenAI's `finish_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// The answer ended on its own or hit a stop sequence.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The answer ended with tool calls.
    ToolCalls,
}

impl FinishReason {
    /// `"stop"`, `"length"` or `"tool_calls"`, as OpenAI spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
        }
    }
}

/// What one [`OutputLimiter::push`] or [`OutputLimiter::finish`] yields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// Text to pass on now (may be empty).
    pub emit: String,
    /// Set when the answer is over: from `push`, only on the delta that ended it (stop the
    /// upstream then); from `finish`, always.
    pub finished: Option<FinishReason>,
}

/// Applies `max_tokens` and `stop` to a stream of answer deltas. See the module docs.
#[derive(Debug, Clone)]
pub struct OutputLimiter {
    /// Token budget in [`char_weight`] units (4 per token); `None` is unlimited.
    budget: Option<u64>,
    stops: Vec<String>,
    /// Accepted text not yet emitted: a possible beginning of a stop sequence.
    held: String,
    /// Weight of the text emitted so far.
    spent: u64,
    finished: Option<FinishReason>,
    /// The stop sequence that ended the answer, if one did.
    matched: Option<usize>,
}

impl OutputLimiter {
    /// A limiter for `max_tokens` (none: unlimited) and `stop` (empty sequences are ignored).
    pub fn new(max_tokens: Option<u32>, stop: &[String]) -> Self {
        OutputLimiter {
            budget: max_tokens.map(|t| u64::from(t) * 4),
            stops: stop.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
            spent: 0,
            finished: None,
            matched: None,
        }
    }

    /// Feeds one answer delta. After the answer finished, further deltas are ignored.
    pub fn push(&mut self, delta: &str) -> Step {
        if self.finished.is_some() {
            return Step::default();
        }
        self.held.push_str(delta);
        match self.first_stop() {
            Some((at, which)) => {
                let step = self.release(at, Some(FinishReason::Stop));
                if step.finished == Some(FinishReason::Stop) {
                    self.matched = Some(which);
                }
                step
            }
            None => {
                let safe = self.held.len() - self.partial_stop_len();
                self.release(safe, None)
            }
        }
    }

    /// Ends the answer: releases the held text (still subject to `max_tokens`) and gives the
    /// finish reason, `Stop` for an answer that ended on its own.
    pub fn finish(&mut self) -> Step {
        if let Some(reason) = self.finished {
            return Step {
                emit: String::new(),
                finished: Some(reason),
            };
        }
        let mut step = self.release(self.held.len(), None);
        let reason = *self.finished.get_or_insert(FinishReason::Stop);
        step.finished = Some(reason);
        step
    }

    /// Emits `held[..end]`, cut further by the token budget; `stop` is the reason to finish
    /// with when the whole of it fits.
    fn release(&mut self, end: usize, stop: Option<FinishReason>) -> Step {
        let (fits, over_budget) = self.within_budget(end);
        let emit = self.held[..fits].to_owned();
        let finished = if over_budget {
            Some(FinishReason::Length)
        } else {
            stop
        };
        if finished.is_some() {
            self.held.clear();
            self.finished = finished;
        } else {
            self.held.drain(..end);
        }
        Step { emit, finished }
    }

    /// How much of `held[..end]` fits the remaining budget (spending it), and whether it ran
    /// out before `end`.
    fn within_budget(&mut self, end: usize) -> (usize, bool) {
        let Some(budget) = self.budget else {
            return (end, false);
        };
        for (i, c) in self.held[..end].char_indices() {
            let w = char_weight(c);
            if self.spent + w > budget {
                return (i, true);
            }
            self.spent += w;
        }
        (end, false)
    }

    /// The stop sequence that ended the answer (Anthropic reports it), if one did.
    pub fn stop_sequence(&self) -> Option<&str> {
        self.matched.map(|i| self.stops[i].as_str())
    }

    /// Byte offset of the earliest complete stop sequence in the held text, and which one.
    fn first_stop(&self) -> Option<(usize, usize)> {
        self.stops
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|at| (at, i)))
            .min()
    }

    /// Length of the longest tail of the held text that is a proper prefix of a stop sequence:
    /// the part that must wait for the next delta.
    fn partial_stop_len(&self) -> usize {
        let held = self.held.as_bytes();
        self.stops
            .iter()
            .filter_map(|s| {
                let longest = (s.len() - 1).min(held.len());
                // A prefix ending on a char boundary is valid UTF-8 starting at a char start,
                // so a match also starts on a char boundary of the held text.
                (1..=longest)
                    .rev()
                    .find(|&k| s.is_char_boundary(k) && held.ends_with(&s.as_bytes()[..k]))
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matched_stop_sequence_is_known() {
        let mut l = OutputLimiter::new(None, &["END".into(), "STOP".into()]);
        assert_eq!(l.push("abc ST").emit, "abc ");
        assert_eq!(l.stop_sequence(), None);
        let step = l.push("OP and END");
        assert_eq!(
            (step.emit.as_str(), step.finished),
            ("", Some(FinishReason::Stop))
        );
        assert_eq!(l.stop_sequence(), Some("STOP"));
        let mut l = OutputLimiter::new(None, &["END".into()]);
        l.push("no stop here");
        assert_eq!(l.finish().finished, Some(FinishReason::Stop));
        assert_eq!(l.stop_sequence(), None);
    }

    /// The limiter over a complete answer in one delta.
    fn apply(max_tokens: Option<u32>, stop: &[String], text: &str) -> (String, FinishReason) {
        let mut limiter = OutputLimiter::new(max_tokens, stop);
        let mut out = limiter.push(text).emit;
        let last = limiter.finish();
        out.push_str(&last.emit);
        (out, last.finished.unwrap_or(FinishReason::Stop))
    }

    fn stops(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Feeds all deltas, returning the emitted pieces and the finish reason.
    fn run(limiter: &mut OutputLimiter, deltas: &[&str]) -> (Vec<String>, FinishReason) {
        let mut out = Vec::new();
        for d in deltas {
            let step = limiter.push(d);
            out.push(step.emit);
            if let Some(reason) = step.finished {
                return (out, reason);
            }
        }
        let last = limiter.finish();
        out.push(last.emit);
        (out, last.finished.expect("finish always has a reason"))
    }

    #[test]
    fn no_limits_pass_everything_through_immediately() {
        let mut l = OutputLimiter::new(None, &[]);
        let (out, reason) = run(&mut l, &["Hel", "lo ", "wörld 😀"]);
        assert_eq!(out, ["Hel", "lo ", "wörld 😀", ""]);
        assert_eq!(reason, FinishReason::Stop);
    }

    #[test]
    fn stop_sequence_across_deltas() {
        let mut l = OutputLimiter::new(None, &stops(&["END"]));
        let (out, reason) = run(&mut l, &["abc E", "N", "D tail"]);
        assert_eq!(out, ["abc ", "", ""]);
        assert_eq!(reason, FinishReason::Stop);
        assert_eq!(l.push("more"), Step::default());
        assert_eq!(l.finish().finished, Some(FinishReason::Stop));
    }

    #[test]
    fn false_start_is_released() {
        let mut l = OutputLimiter::new(None, &stops(&["END"]));
        let (out, reason) = run(&mut l, &["xE", "Nx", "EN"]);
        assert_eq!(out, ["x", "ENx", "", "EN"]);
        assert_eq!(reason, FinishReason::Stop);
    }

    #[test]
    fn earliest_of_several_stops_wins() {
        let (text, reason) = apply(None, &stops(&["zz", "b"]), "aaazzab");
        assert_eq!((text.as_str(), reason), ("aaa", FinishReason::Stop));
        let (text, _) = apply(None, &stops(&["", "c"]), "abcd");
        assert_eq!(text, "ab");
    }

    #[test]
    fn multibyte_stop_and_text() {
        let mut l = OutputLimiter::new(None, &stops(&["。完"]));
        // The stop's first char arrives split from its second: held, then cut.
        let (out, reason) = run(&mut l, &["你好", "。", "完了"]);
        assert_eq!(out, ["你好", "", ""]);
        assert_eq!(reason, FinishReason::Stop);
        let mut l = OutputLimiter::new(None, &stops(&["é!"]));
        let (out, _) = run(&mut l, &["café", "?"]);
        assert_eq!(out.concat(), "café?");
    }

    #[test]
    fn max_tokens_cuts_with_length() {
        // 2 tokens = 8 ASCII characters.
        let mut l = OutputLimiter::new(Some(2), &[]);
        let (out, reason) = run(&mut l, &["abcde", "fghij", "klm"]);
        assert_eq!(out, ["abcde", "fgh"]);
        assert_eq!(reason, FinishReason::Length);
        // Exactly at the limit and then the answer ends: a natural stop.
        let (text, reason) = apply(Some(2), &[], "abcdefgh");
        assert_eq!((text.as_str(), reason), ("abcdefgh", FinishReason::Stop));
    }

    #[test]
    fn max_tokens_never_splits_a_char() {
        // Non-ASCII characters weigh 3: one token fits one of them.
        let (text, reason) = apply(Some(1), &[], "日本語");
        assert_eq!((text.as_str(), reason), ("日", FinishReason::Length));
        let (text, _) = apply(Some(3), &[], "a😀😀😀😀😀");
        assert_eq!(text, "a😀😀😀");
    }

    #[test]
    fn length_before_stop_and_stop_before_length() {
        let (text, reason) = apply(Some(1), &stops(&["STOP"]), "abcdefSTOP");
        assert_eq!((text.as_str(), reason), ("abcd", FinishReason::Length));
        let (text, reason) = apply(Some(10), &stops(&["STOP"]), "abSTOPcd");
        assert_eq!((text.as_str(), reason), ("ab", FinishReason::Stop));
    }

    #[test]
    fn held_text_is_limited_on_finish() {
        let mut l = OutputLimiter::new(Some(1), &stops(&["xyz"]));
        assert_eq!(l.push("abxy").emit, "ab");
        let last = l.finish();
        assert_eq!(
            (last.emit.as_str(), last.finished),
            ("xy", Some(FinishReason::Stop))
        );
        let mut l = OutputLimiter::new(Some(1), &stops(&["xyz"]));
        assert_eq!(l.push("abcxy").emit, "abc");
        let last = l.finish();
        assert_eq!(
            (last.emit.as_str(), last.finished),
            ("x", Some(FinishReason::Length))
        );
    }

    #[test]
    fn every_split_gives_the_same_text() {
        let text = "héllo wörld END 日本 END";
        for at in text.char_indices().map(|(i, _)| i) {
            let mut l = OutputLimiter::new(Some(4), &stops(&["END", "世界"]));
            let (out, reason) = run(&mut l, &[&text[..at], &text[at..]]);
            assert_eq!(out.concat(), "héllo wörld ", "split at {at}");
            assert_eq!(reason, FinishReason::Stop);
        }
    }

    #[test]
    fn finish_reason_strings() {
        assert_eq!(FinishReason::Stop.as_str(), "stop");
        assert_eq!(FinishReason::Length.as_str(), "length");
    }
}
