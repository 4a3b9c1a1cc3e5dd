//! The fake's "model": deterministic answers, their chunking and their token counts.
//!
//! Answers depend on the parent chain so tests can prove that context reached the
//! upstream: "my name is X" said anywhere on the chain (or earlier in the current message,
//! because proxies fold history into one message) is recalled by "what is my name".
//! Everything else is echoed. Echoes longer than [`ECHO_LIMIT`] characters are cut and end
//! with `…`, keeping answers for huge folded histories short. In a chat with tools, or when
//! a structured output is asked for, the fake answers like a tool-calling model instead
//! ([`crate::tools`]).

/// Characters of the user's message echoed before the answer is cut with `…`.
pub(crate) const ECHO_LIMIT: usize = 200;

use super::tools;

/// Reasoning tokens counted per thinking snapshot.
pub(crate) const REASONING_PER_STEP: u64 = 10;

/// One answer: the text of the answer phase, and a thought for the thinking phase when the
/// answer put something there (tool calls under `[[form:thinking]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub text: String,
    pub thought: Option<String>,
}

impl Answer {
    pub(crate) fn plain(text: String) -> Answer {
        Answer {
            text,
            thought: None,
        }
    }
}

/// The answer to `current`, given the user texts of the chain before it (oldest first) and
/// whether the request thinks; `Err` (for `Bad_Request`) is a malformed test directive.
pub(crate) fn respond(chain: &[String], current: &str, thinking: bool) -> Result<Answer, String> {
    Ok(match tools::answer(chain, current, thinking)? {
        Some(answer) => answer,
        None => Answer::plain(compose(chain, current)),
    })
}

/// The plain answer to `current`, given the user texts of the chain before it (oldest first).
pub(crate) fn compose(chain: &[String], current: &str) -> String {
    if current.to_ascii_lowercase().contains("what is my name") {
        let name = chain
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(current))
            .rev()
            .find_map(last_name_in);
        return match name {
            Some(name) => format!("Your name is {name}."),
            None => "I don't know your name yet.".to_owned(),
        };
    }
    match current.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("You said: {}…", &current[..cut]),
        None => format!("You said: {current}"),
    }
}

/// The word after the last "my name is" in `text`, stripped of surrounding punctuation.
fn last_name_in(text: &str) -> Option<String> {
    const NEEDLE: &str = "my name is";
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut found = None;
    let mut from = 0;
    while let Some(pos) = lower[from..].find(NEEDLE) {
        let end = from + pos + NEEDLE.len();
        if let Some(name) = word_after(&text[end..]) {
            found = Some(name);
        }
        from = end;
    }
    found
}

fn word_after(rest: &str) -> Option<String> {
    // "my name isn't" must not yield "n't".
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let word = rest.split_whitespace().next()?;
    let name = word.trim_matches(|c: char| !c.is_alphanumeric());
    (!name.is_empty()).then(|| name.to_owned())
}

/// The answer's content chunks: `exactly` pieces when set, else one per word.
pub(crate) fn chunks(answer: &str, exactly: Option<usize>) -> Vec<String> {
    match exactly {
        Some(n) => split_even(answer, n),
        None => split_words(answer),
    }
}

/// One chunk per word, each carrying the whitespace before it, like the real stream
/// (`"Your"`, `" name"`, `" is"`, `" Alice."`); the chunks concatenate to `text`.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if space && !prev_space && i > start {
            chunks.push(text[start..i].to_owned());
            start = i;
        }
        prev_space = space;
    }
    if start < text.len() {
        chunks.push(text[start..].to_owned());
    }
    chunks
}

/// Exactly `n` (at least 1) chunks of near-equal character counts; when the text is
/// shorter than `n` the tail chunks are empty, so no text is ever lost.
pub(crate) fn split_even(text: &str, n: usize) -> Vec<String> {
    let n = n.max(1);
    let chars: Vec<char> = text.chars().collect();
    let (base, extra) = (chars.len() / n, chars.len() % n);
    let mut out = Vec::with_capacity(n);
    let mut at = 0;
    for i in 0..n {
        let len = base + usize::from(i < extra);
        out.push(chars[at..at + len].iter().collect());
        at += len;
    }
    out
}

/// `ceil(chars / 4)`, at least 1: the fake's token estimate for the user message.
pub(crate) fn input_tokens(content: &str) -> u64 {
    (content.chars().count() as u64).div_ceil(4).max(1)
}

/// Cumulative `(titles, thoughts)` snapshots of the thinking summary, one per event;
/// `thought`, when the answer has one, is the last thought.
pub(crate) fn thinking_snapshots(
    content: &str,
    thought: Option<&str>,
) -> Vec<(Vec<String>, Vec<String>)> {
    let title1 = "Reading the message".to_owned();
    let title2 = "Composing the reply".to_owned();
    let thoughts = [
        format!("The user wrote {} characters.", content.chars().count()),
        match thought {
            Some(_) => "A tool call is needed.".to_owned(),
            None => "Nothing needs a tool; the reply is deterministic.".to_owned(),
        },
        thought.unwrap_or("The answer is ready.").to_owned(),
    ];
    vec![
        (vec![title1.clone()], thoughts[..1].to_vec()),
        (vec![title1.clone()], thoughts[..2].to_vec()),
        (vec![title1, title2], thoughts.to_vec()),
    ]
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn fake_recalls_the_latest_name_on_the_chain() {
        let chain = vec![
            "Hi, my name is Alice.".to_owned(),
            "my name is Bob!".to_owned(),
        ];
        assert_eq!(compose(&chain, "What is my name?"), "Your name is Bob.");
        assert_eq!(
            compose(&chain[..1], "what is my name"),
            "Your name is Alice."
        );
        assert_eq!(
            compose(&[], "What is my name?"),
            "I don't know your name yet."
        );
        let folded = "user: My name is Carol;\nuser: what is my name?";
        assert_eq!(compose(&[], folded), "Your name is Carol.");
        assert_eq!(
            compose(&[], "my name isn't here. what is my name"),
            "I don't know your name yet."
        );
    }

    #[test]
    fn fake_echoes_and_truncates_long_messages() {
        assert_eq!(compose(&[], "héllo"), "You said: héllo");
        let long = "é".repeat(250);
        let answer = compose(&[], &long);
        assert_eq!(answer, format!("You said: {}…", "é".repeat(200)));
    }

    #[test]
    fn fake_chunks_join_back_exactly() {
        let text = "You said:  two  spaces\nand a newline ";
        let words = split_words(text);
        assert_eq!(words[0], "You");
        assert_eq!(words.concat(), text);
        assert_eq!(
            split_words("Your name is Alice."),
            ["Your", " name", " is", " Alice."]
        );
        for n in [0, 1, 3, 7, 100] {
            let parts = split_even("héllo wörld", n);
            assert_eq!(parts.len(), n.max(1));
            assert_eq!(parts.concat(), "héllo wörld");
        }
    }

    #[test]
    fn fake_input_tokens_round_up() {
        assert_eq!(input_tokens(""), 1);
        assert_eq!(input_tokens("abcd"), 1);
        assert_eq!(input_tokens("abcde"), 2);
    }
}
