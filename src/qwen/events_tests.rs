//! Tests of the payload decoder: its rules (summary snapshots, candidates, odd payloads),
//! and its equivalence with the `serde_json::Value` decoder it replaced, kept here as the
//! reference: on every recorded fixture and on generated payloads shaped like the
//! upstream's (every field of the protocol, with values of every JSON type, repeated keys
//! and escaped names), both yield the same events, errors and verdicts, payload by payload.
//! Kept whole: the reference decoder and the payload generators exist for that property.

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::*;

fn thinking_of(decoder: &mut Decoder) -> Vec<String> {
    decoder
        .queue
        .drain(..)
        .filter_map(|e| match e {
            QwenEvent::Thinking(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn summary(items: &[&str]) -> String {
    serde_json::json!({"choices": [{"delta": {"content": "", "phase": "thinking_summary",
        "extra": {"summary_thought": {"content": items}}, "status": "typing"}}]})
    .to_string()
}

#[test]
fn summary_snapshots_become_deltas() {
    let mut d = Decoder::default();
    for snap in [
        &["a"][..],
        &["a", "b"],
        &["a", "b"],
        &["a", "bc"],
        &["a", "bc", "d"],
    ] {
        d.handle("", &summary(snap)).expect("decodes");
    }
    assert_eq!(thinking_of(&mut d), ["a", "\nb", "c", "\nd"]);
}

#[test]
fn rewritten_snapshot_yields_only_new_items() {
    let mut d = Decoder::default();
    d.handle("", &summary(&["one", "two"])).expect("decodes");
    d.handle("", &summary(&["two", "three"])).expect("decodes");
    d.handle("", &summary(&["two", "three", "four"]))
        .expect("decodes");
    assert_eq!(thinking_of(&mut d), ["one\ntwo", "\nthree", "\nfour"]);
}

#[test]
fn other_candidates_are_ignored() {
    let mut d = Decoder::default();
    let created = r#"{"response.created":{"chat_id":"c","response_id":"r0","response_index":"0"}}"#;
    let other = r#"{"response.created":{"chat_id":"c","response_id":"r1","response_index":"1"}}"#;
    d.handle("", created).expect("decodes");
    d.handle("", other).expect("decodes");
    let foreign = r#"{"choices":[{"delta":{"content":"x","phase":"answer"}}],"response_id":"r1"}"#;
    d.handle("", foreign).expect("decodes");
    assert_eq!(d.queue.len(), 1);
    assert!(matches!(d.queue[0], QwenEvent::Created(_)));
}

#[test]
fn garbage_payloads_are_harmless() {
    let mut d = Decoder::default();
    for junk in [
        "not json",
        "[]",
        "42",
        "{\"choices\": 5}",
        "{\"choices\": [{\"delta\": []}]}",
    ] {
        assert_eq!(d.handle("", junk), Ok(Step::Continue), "{junk}");
    }
    assert!(d.handle("error", "boom").is_err());
    assert_eq!(d.end(), Err(QwenError::EmptyStream));
}

/// The decoder as it was before typed decoding (commit 861b71f), reading each payload into a
/// `serde_json::Value`: the reference the typed one must match.
mod reference {
    use std::collections::VecDeque;

    use serde_json::Value;

    use crate::qwen::classify::{classify_code, classify_json};
    use crate::qwen::{Created, QwenError, QwenEvent, SearchResult, Usage};

    use super::Step;

    #[derive(Debug, Default)]
    pub(super) struct Reference {
        /// Events decoded but not yet handed out.
        pub(super) queue: VecDeque<QwenEvent>,
        /// The answer phase reported `finished`.
        pub(super) finished: bool,
        /// Answer or reasoning text has been yielded (decides truncated vs. empty).
        pub(super) saw_content: bool,
        /// `response_id` of candidate "0"; events of other candidates are dropped.
        primary_response_id: Option<String>,
        last_usage: Option<Usage>,
        last_search: Option<Vec<SearchResult>>,
        /// The joined thinking-summary snapshot as far as it has been yielded.
        summary_text: String,
        /// Every summary item ever yielded, to avoid repeats when a snapshot is not an extension.
        summary_items: Vec<String>,
    }

    impl Reference {
        /// Decodes one SSE event (`event` name and `data` payload).
        pub(super) fn handle(&mut self, event: &str, data: &str) -> Result<Step, QwenError> {
            let data = data.trim();
            if data.is_empty() {
                return Ok(Step::Continue);
            }
            if data == "[DONE]" {
                return Ok(Step::Done);
            }
            let json: Value = match serde_json::from_str(data) {
                Ok(json) => json,
                Err(_) if event == "error" => {
                    return Err(classify_code(None, Some(data), None));
                }
                Err(_) => {
                    // Not worth failing a stream for: the upstream has sent odd keep-alive lines
                    // before. The content is not logged (it may be user text).
                    return Ok(Step::Continue);
                }
            };
            if let Some(err) = classify_json(&json) {
                return Err(err);
            }
            if let Some(created) = json.get("response.created") {
                self.created(created);
            } else if json.get("response.info").is_some() {
                self.queue.push_back(QwenEvent::KeepAlive);
            } else if json.get("choices").is_some() || json.get("usage").is_some() {
                if self.is_other_candidate(&json) {
                    return Ok(Step::Continue);
                }
                self.delta(&json);
            }
            Ok(Step::Continue)
        }

        /// The body ended (or `[DONE]` arrived): `Ok(())` when the turn is complete.
        pub(super) fn end(&self) -> Result<(), QwenError> {
            if self.finished {
                Ok(())
            } else if self.saw_content {
                Err(QwenError::Truncated)
            } else {
                Err(QwenError::EmptyStream)
            }
        }

        fn created(&mut self, created: &Value) {
            let index_is_primary = match created.get("response_index") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim() == "0",
                Some(Value::Number(n)) => n.as_u64() == Some(0),
                Some(_) => false,
            };
            if !index_is_primary {
                return;
            }
            let text = |key: &str| created.get(key).and_then(Value::as_str).map(str::to_owned);
            let response_id = text("response_id").unwrap_or_default();
            if !response_id.is_empty() {
                self.primary_response_id = Some(response_id.clone());
            }
            self.queue.push_back(QwenEvent::Created(Created {
                chat_id: text("chat_id").unwrap_or_default(),
                parent_id: text("parent_id").filter(|p| !p.is_empty()),
                response_id,
            }));
        }

        fn is_other_candidate(&self, json: &Value) -> bool {
            match (
                &self.primary_response_id,
                json.get("response_id").and_then(Value::as_str),
            ) {
                (Some(primary), Some(id)) => primary != id,
                _ => false,
            }
        }

        fn delta(&mut self, json: &Value) {
            let delta = json.pointer("/choices/0/delta");
            let field = |key: &str| delta.and_then(|d| d.get(key)).and_then(Value::as_str);
            // Without `output_schema: "phase"` the upstream omits the phase; the text is the answer.
            let phase = field("phase").unwrap_or("answer");
            let content = field("content").unwrap_or_default();
            let finished = field("status") == Some("finished");
            match phase {
                "answer" if !content.is_empty() => {
                    self.saw_content = true;
                    self.queue.push_back(QwenEvent::Answer(content.to_owned()));
                }
                "think" if !content.is_empty() => {
                    self.saw_content = true;
                    self.queue
                        .push_back(QwenEvent::Thinking(content.to_owned()));
                }
                "thinking_summary" => {
                    let extra = delta.and_then(|d| d.get("extra"));
                    match extra.and_then(|e| e.pointer("/summary_thought/content")) {
                        Some(snapshot) => self.summary_snapshot(snapshot),
                        None if !content.is_empty() => {
                            self.saw_content = true;
                            self.queue
                                .push_back(QwenEvent::Thinking(content.to_owned()));
                        }
                        None => {}
                    }
                }
                "web_search" => {
                    if let Some(Value::Array(items)) =
                        delta.and_then(|d| d.pointer("/extra/web_search_info"))
                    {
                        let results: Vec<SearchResult> = items.iter().map(search_result).collect();
                        if self.last_search.as_ref() != Some(&results) {
                            self.last_search = Some(results.clone());
                            self.queue.push_back(QwenEvent::WebSearch(results));
                        }
                    }
                }
                _ => {}
            }
            if let Some(usage) = json.get("usage").and_then(parse_usage)
                && self.last_usage != Some(usage)
            {
                self.last_usage = Some(usage);
                self.queue.push_back(QwenEvent::Usage(usage));
            }
            if phase == "answer" && finished && !self.finished {
                self.finished = true;
                self.queue.push_back(QwenEvent::Finished);
            }
        }

        /// `summary_thought.content` is the whole list so far (a snapshot), not a delta: yield
        /// only what extends the text already yielded. If the upstream rewrote earlier items the
        /// snapshot is no extension, and only items never seen before are yielded.
        /// `summary_title` is a headline of the same thoughts; it is not yielded, so reasoning text
        /// stays one readable sequence instead of interleaving two cumulative lists.
        fn summary_snapshot(&mut self, snapshot: &Value) {
            let items: Vec<String> = match snapshot {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Value::String(s) if !s.is_empty() => vec![s.clone()],
                _ => return,
            };
            let joined = items.join("\n");
            let new_text = match joined.strip_prefix(self.summary_text.as_str()) {
                Some(rest) => rest.to_owned(),
                None => {
                    let fresh: Vec<&str> = items
                        .iter()
                        .filter(|item| !self.summary_items.contains(item))
                        .map(String::as_str)
                        .collect();
                    if fresh.is_empty() || self.summary_text.is_empty() {
                        fresh.join("\n")
                    } else {
                        format!("\n{}", fresh.join("\n"))
                    }
                }
            };
            for item in items {
                if !self.summary_items.contains(&item) {
                    self.summary_items.push(item);
                }
            }
            self.summary_text = joined;
            if !new_text.is_empty() {
                self.saw_content = true;
                self.queue.push_back(QwenEvent::Thinking(new_text));
            }
        }
    }

    fn search_result(item: &Value) -> SearchResult {
        let text = |key: &str| {
            item.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        SearchResult {
            url: text("url"),
            title: text("title"),
            snippet: text("snippet"),
            hostname: text("hostname"),
        }
    }

    /// Maps both usage generations (PROTOCOL.md §5): `cached_tokens` moved from `usage` into
    /// `prompt_tokens_details` in 2026.
    fn parse_usage(usage: &Value) -> Option<Usage> {
        if !usage.is_object() {
            return None;
        }
        let num = |path: &str| usage.pointer(path).and_then(Value::as_u64);
        Some(Usage {
            input_tokens: num("/input_tokens").or(num("/prompt_tokens")).unwrap_or(0),
            output_tokens: num("/output_tokens")
                .or(num("/completion_tokens"))
                .unwrap_or(0),
            reasoning_tokens: num("/output_tokens_details/reasoning_tokens").unwrap_or(0),
            cached_tokens: num("/prompt_tokens_details/cached_tokens")
                .or(num("/cached_tokens"))
                .or(num("/input_tokens_details/cached_tokens"))
                .unwrap_or(0),
        })
    }
}

/// Feeds the same payloads to both decoders and compares every step.
fn assert_equivalent(payloads: &[(String, String)]) {
    let mut typed = Decoder::default();
    let mut reference = reference::Reference::default();
    for (event, data) in payloads {
        let got = typed.handle(event, data);
        let want = reference.handle(event, data);
        assert_eq!(got, want, "result of {event:?} {data}");
        let got: Vec<QwenEvent> = typed.queue.drain(..).collect();
        let want: Vec<QwenEvent> = reference.queue.drain(..).collect();
        assert_eq!(got, want, "events of {data}");
        assert_eq!(typed.finished, reference.finished, "finished after {data}");
        assert_eq!(
            typed.saw_content, reference.saw_content,
            "content after {data}"
        );
    }
    assert_eq!(typed.end(), reference.end());
}

#[test]
fn every_fixture_decodes_as_the_value_decoder_did() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/qwen-fake/fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "sse") {
            continue;
        }
        let mut parser = crate::qwen::sse::SseParser::default();
        let mut raw = VecDeque::new();
        let bytes = std::fs::read(&path).expect("fixture");
        parser.push(&bytes, &mut raw).expect("within bounds");
        parser.finish(&mut raw);
        let payloads: Vec<(String, String)> = raw.into_iter().map(|e| (e.event, e.data)).collect();
        assert!(!payloads.is_empty(), "{}", path.display());
        assert_equivalent(&payloads);
        seen += 1;
    }
    assert!(seen >= 10, "the fixtures were read ({seen})");
}

/// A JSON value that can repeat keys and spell names with escapes, rendered as text.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    /// A number as written.
    Num(String),
    Str(String),
    /// A string exactly as written, escapes included.
    Raw(&'static str),
    Arr(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

impl Node {
    fn render(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Num(n) => out.push_str(n),
            Node::Raw(n) => out.push_str(n),
            Node::Str(s) => out.push_str(&Value::from(s.as_str()).to_string()),
            Node::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Node::Obj(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // A key starting with `\\` is written as it is (an escaped name).
                    match key.strip_prefix('\\') {
                        Some(raw) => out.push_str(raw),
                        None => out.push_str(&Value::from(key.as_str()).to_string()),
                    }
                    out.push(':');
                    value.render(out);
                }
                out.push('}');
            }
        }
    }
}

fn leaf() -> BoxedStrategy<Node> {
    prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "-0",
            "7",
            "2.5",
            "0.0",
            "18446744073709551616",
            "1e3"
        ])
        .prop_map(|n| Node::Num(n.to_owned())),
        text(),
        prop::sample::select(vec![
            "\"\\u0061nswer\"",
            "\"r\\u0030\"",
            "\"\\u0030\"",
            "\"a\\nb\""
        ])
        .prop_map(Node::Raw),
    ]
    .boxed()
}

fn text() -> BoxedStrategy<Node> {
    prop::sample::select(vec![
        "",
        "0",
        " 0 ",
        "1",
        "answer",
        "think",
        "thinking_summary",
        "web_search",
        "finished",
        "typing",
        "r0",
        "r1",
        "hi",
        "a\nb",
        "ü😊",
        "quote \" and \\",
    ])
    .prop_map(|s| Node::Str(s.to_owned()))
    .boxed()
}

fn any_node() -> BoxedStrategy<Node> {
    leaf()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Node::Arr),
                prop::collection::vec((key(), inner), 0..4).prop_map(Node::Obj),
            ]
        })
        .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop::sample::select(vec![
        "x",
        "0",
        "content",
        "phase",
        "status",
        "delta",
        "choices",
        "usage",
        "response_id",
        "error",
        "code",
        "details",
        "success",
        "data",
        "message",
    ])
    .prop_map(str::to_owned)
    .boxed()
}

/// An object of entries drawn (with repeats) from `entries`, or now and then any value.
fn object(entries: Vec<BoxedStrategy<(String, Node)>>) -> BoxedStrategy<Node> {
    let entry = prop::strategy::Union::new(entries);
    prop_oneof![
        6 => prop::collection::vec(entry, 0..5).prop_map(Node::Obj),
        1 => any_node(),
    ]
    .boxed()
}

fn field(key: &'static str, value: BoxedStrategy<Node>) -> BoxedStrategy<(String, Node)> {
    (Just(key.to_owned()), value).boxed()
}

fn count() -> BoxedStrategy<Node> {
    prop_oneof![
        3 => (0u64..5000).prop_map(|n| Node::Num(n.to_string())),
        1 => leaf(),
    ]
    .boxed()
}

fn usage() -> BoxedStrategy<Node> {
    let details =
        |name: &'static str| object(vec![field(name, count()), field("text_tokens", count())]);
    object(vec![
        field("input_tokens", count()),
        field("prompt_tokens", count()),
        field("output_tokens", count()),
        field("completion_tokens", count()),
        field("cached_tokens", count()),
        field("output_tokens_details", details("reasoning_tokens")),
        field("prompt_tokens_details", details("cached_tokens")),
        field("input_tokens_details", details("cached_tokens")),
    ])
}

fn delta() -> BoxedStrategy<Node> {
    let snapshot = prop_oneof![
        3 => prop::collection::vec(prop_oneof![4 => text(), 1 => leaf()], 0..4).prop_map(Node::Arr),
        1 => text(),
        1 => any_node(),
    ];
    let search_item = object(vec![
        field("url", text()),
        field("title", text()),
        field("snippet", text()),
        field("hostname", text()),
        field("date", any_node()),
    ]);
    let extra = object(vec![
        field("summary_thought", object(vec![field("content", snapshot.boxed())])),
        field("summary_title", any_node()),
        field(
            "web_search_info",
            prop_oneof![3 => prop::collection::vec(search_item, 0..3).prop_map(Node::Arr), 1 => any_node()]
                .boxed(),
        ),
    ]);
    object(vec![
        field("phase", prop_oneof![4 => text(), 1 => leaf()].boxed()),
        field("content", prop_oneof![4 => text(), 1 => leaf()].boxed()),
        field("status", prop_oneof![4 => text(), 1 => leaf()].boxed()),
        field("role", text()),
        field("extra", extra),
        field("\\\"ph\\u0061se\"", text()),
    ])
}

fn payload() -> BoxedStrategy<Node> {
    let choice = object(vec![field("delta", delta()), field("index", count())]);
    let choices = prop_oneof![
        4 => prop::collection::vec(choice.clone(), 0..3).prop_map(Node::Arr),
        1 => choice.prop_map(|c| Node::Obj(vec![("0".to_owned(), c)])),
        1 => any_node(),
    ];
    let created = object(vec![
        field("chat_id", text()),
        field("parent_id", text()),
        field("response_id", text()),
        field("response_index", leaf()),
    ]);
    object(vec![
        field("choices", choices.boxed()),
        field("usage", usage()),
        field("response_id", text()),
        field("response.created", created),
        field("response.info", any_node()),
        field("timestamp", count()),
        field("\\\"choic\\u0065s\"", any_node()),
        field("error", any_node()),
        field("success", any_node()),
        field("data", any_node()),
    ])
}

fn payloads() -> impl Strategy<Value = Vec<(String, String)>> {
    let one = prop_oneof![
        12 => (Just(String::new()), payload().prop_map(|n| { let mut s = String::new(); n.render(&mut s); s })),
        1 => (Just("error".to_owned()), payload().prop_map(|n| { let mut s = String::new(); n.render(&mut s); s })),
        1 => (prop::sample::select(vec!["", "error"]), prop::sample::select(vec!["[DONE]", "not json", "", "{", " [] "]))
            .prop_map(|(e, d)| (e.to_owned(), d.to_owned())),
    ];
    prop::collection::vec(one, 1..8)
}

proptest! {
    #![proptest_config(Config { cases: 2048, failure_persistence: None, ..Config::default() })]

    #[test]
    fn typed_decoding_matches_the_value_decoder(payloads in payloads()) {
        assert_equivalent(&payloads);
    }
}
