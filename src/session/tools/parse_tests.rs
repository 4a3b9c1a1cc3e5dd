//! The call-block reader against every tolerant form of design.md §9, then the properties a
//! streaming reader must keep: no input panics it, text without an opening marker passes
//! through byte for byte, and how an answer is cut into deltas never changes what is read.
//! Kept whole: the generators serve all three properties.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use super::*;
use crate::session::tools::markup;

/// The answer cut into `chunks`, pushed in order and finished; adjacent texts joined, since
/// where text is cut is the one thing chunking may change.
fn read(chunks: &[&str]) -> Vec<Event> {
    let mut parser = ToolParser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(parser.push(chunk));
    }
    events.extend(parser.finish());
    join_texts(events)
}

fn join_texts(events: Vec<Event>) -> Vec<Event> {
    let mut joined: Vec<Event> = Vec::new();
    for event in events {
        match (joined.last_mut(), event) {
            (Some(Event::Text(last)), Event::Text(more)) => last.push_str(&more),
            (_, event) => joined.push(event),
        }
    }
    joined
}

fn text(text: &str) -> Event {
    Event::Text(text.to_owned())
}

fn call(name: &str, arguments: Value) -> Event {
    Event::Call(RawCall {
        name: name.to_owned(),
        arguments,
    })
}

fn reason(events: &[Event]) -> Option<&str> {
    events.iter().find_map(|event| match event {
        Event::Malformed { reason, .. } => Some(reason.as_str()),
        _ => None,
    })
}

/// One block around `inner`, as the convention spells it.
fn block(inner: &str) -> String {
    format!("{CALL_OPEN}\n{inner}\n{CALL_CLOSE}")
}

const WEATHER: &str = r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#;

fn weather() -> Event {
    call("get_weather", json!({"city": "Paris"}))
}

#[test]
fn text_without_blocks_passes_through() {
    assert_eq!(read(&["Hello, ", "world."]), [text("Hello, world.")]);
    assert_eq!(read(&[""]), []);
    let mut parser = ToolParser::new();
    assert_eq!(parser.push("no tools here"), [text("no tools here")]);
    assert!(!parser.saw_block());
}

#[test]
fn one_block_after_text() {
    let answer = format!("Let me check.\n{}", block(WEATHER));
    assert_eq!(read(&[&answer]), [text("Let me check.\n"), weather()]);
    assert_eq!(read(&[&block(WEATHER)]), [weather()]);
}

#[test]
fn a_call_is_emitted_by_the_push_that_closes_its_block() {
    let mut parser = ToolParser::new();
    assert_eq!(parser.push("Sure.\n<<<TOOL_CALL>>>\n"), [text("Sure.\n")]);
    assert!(parser.saw_block());
    assert_eq!(parser.push(WEATHER), []);
    assert_eq!(parser.push("\n<<<END_TOOL"), []);
    assert_eq!(parser.push("_CALL>>>"), [weather()]);
    assert_eq!(parser.finish(), []);
}

#[test]
fn only_a_possible_marker_prefix_is_held_back() {
    let mut parser = ToolParser::new();
    assert_eq!(parser.push("Hello <<<TO"), [text("Hello ")]);
    assert_eq!(parser.push("day"), [text("<<<TOday")]);
    assert_eq!(parser.push("a<"), [text("a")]);
    assert_eq!(parser.push("<<<"), [text("<")]);
    assert_eq!(parser.push(" é"), [text("<<< é")]);
    assert_eq!(parser.push("<<<TOOL_CALL>>"), []);
    assert_eq!(parser.finish(), [text("<<<TOOL_CALL>>")]);
    assert!(!parser.saw_block());
}

#[test]
fn fenced_json_is_read() {
    for inner in [
        format!("```json\n{WEATHER}\n```"),
        format!("```\n{WEATHER}\n```"),
        format!("```JSON {WEATHER}```"),
        format!("  ```json\n{WEATHER}\n```  "),
    ] {
        assert_eq!(read(&[&block(&inner)]), [weather()], "{inner}");
    }
}

#[test]
fn arguments_in_every_tolerated_form() {
    for inner in [
        r#"{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}"#,
        r#"{"name": "get_weather", "parameters": {"city": "Paris"}}"#,
        r#"{"name": "get_weather", "input": {"city": "Paris"}}"#,
        r#"{"name": " get_weather ", "input": " {\"city\": \"Paris\"} "}"#,
        r#"{"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}"#,
    ] {
        assert_eq!(read(&[&block(inner)]), [weather()], "{inner}");
    }
    for inner in [
        r#"{"name": "now"}"#,
        r#"{"name": "now", "arguments": null}"#,
        r#"{"name": "now", "arguments": ""}"#,
        r#"{"name": "now", "arguments": "{}"}"#,
    ] {
        assert_eq!(read(&[&block(inner)]), [call("now", json!({}))], "{inner}");
    }
}

#[test]
fn several_calls_in_one_block() {
    let array = r#"[{"name": "a", "arguments": {"x": 1}}, {"name": "b"}]"#;
    let expected = [call("a", json!({"x": 1})), call("b", json!({}))];
    assert_eq!(read(&[&block(array)]), expected);
    let wrapped = format!(r#"{{"tool_calls": {array}}}"#);
    assert_eq!(read(&[&block(&wrapped)]), expected);
    let in_a_row = r#"{"name": "a", "arguments": {"x": 1}}
{"name": "b"}"#;
    assert_eq!(read(&[&block(in_a_row)]), expected);
}

#[test]
fn blocks_in_a_row_and_the_text_around_them() {
    let answer = format!(
        "I'll check both.\n{}\nand then\n{}\nThat should do it.",
        block(r#"{"name": "a"}"#),
        block(r#"{"name": "b"}"#)
    );
    assert_eq!(
        read(&[&answer]),
        [
            text("I'll check both.\n"),
            call("a", json!({})),
            call("b", json!({}))
        ]
    );
}

#[test]
fn a_missing_end_marker_at_the_end_of_the_answer() {
    let mut parser = ToolParser::new();
    assert_eq!(parser.push(&format!("{CALL_OPEN}\n{WEATHER}\n")), []);
    assert_eq!(parser.finish(), [weather()]);
    for tail in [
        "",
        "\n",
        "\nI will wait for the result.",
        "\n<<<END_TOOL_CA",
        "\n<",
    ] {
        let answer = format!("{CALL_OPEN}{WEATHER}{tail}");
        assert_eq!(read(&[&answer]), [weather()], "{tail:?}");
    }
    let fenced = format!("{CALL_OPEN}\n```json\n{WEATHER}\n```\nDone.");
    assert_eq!(read(&[&fenced]), [weather()]);
    let cut = format!("{CALL_OPEN}\n{{\"name\": \"get_wea");
    assert_eq!(reason(&read(&[&cut])), Some("the block is not JSON"));
}

#[test]
fn a_missing_end_marker_between_two_blocks() {
    let answer = format!(
        "{CALL_OPEN}\n{{\"name\": \"a\"}}\n{}",
        block(r#"{"name": "b"}"#)
    );
    assert_eq!(
        read(&[&answer]),
        [call("a", json!({})), call("b", json!({}))]
    );
    let repeated = format!("{CALL_OPEN}\n{}", block(WEATHER));
    assert_eq!(read(&[&repeated]), [weather()]);
}

#[test]
fn an_opening_marker_inside_a_string_argument_is_text() {
    let inner = r#"{"name": "write", "arguments": {"text": "a <<<TOOL_CALL>>> b"}}"#;
    assert_eq!(
        read(&[&block(inner)]),
        [call("write", json!({"text": "a <<<TOOL_CALL>>> b"}))]
    );
}

#[test]
fn blocks_that_are_not_calls() {
    for (inner, expected) in [
        ("", "the block is empty"),
        ("```json\n```", "the block is empty"),
        ("get_weather(city='Paris')", "the block is not JSON"),
        (r#"{"name": "a"}}"#, "the block is not JSON"),
        (r#"{"arguments": {}}"#, "the call has no name"),
        (r#"{"name": "", "arguments": {}}"#, "the call has no name"),
        (r#"{"name": 3}"#, "the call has no name"),
        (
            r#"{"name": "a", "arguments": 3}"#,
            "arguments must be a JSON object",
        ),
        (
            r#"{"name": "a", "arguments": "[1]"}"#,
            "arguments must be a JSON object",
        ),
        (
            r#"{"name": "a", "arguments": "{oops"}"#,
            "arguments must be a JSON object",
        ),
        ("[]", "the block holds no call"),
        (r#""get_weather""#, "a call must be a JSON object"),
        (
            r#"[{"name": "a"}, {"nom": "b"}]"#,
            "call 2: the call has no name",
        ),
    ] {
        let mut parser = ToolParser::new();
        let mut events = parser.push(&block(inner));
        events.extend(parser.finish());
        assert_eq!(
            events,
            [Event::Malformed {
                raw: format!("\n{inner}\n"),
                reason: expected.to_owned()
            }],
            "{inner}"
        );
        assert!(parser.saw_block());
    }
}

#[test]
fn a_malformed_block_does_not_stop_the_next_one() {
    let answer = format!("{}{}", block("nope"), block(WEATHER));
    let events = read(&[&answer]);
    assert_eq!(events.len(), 2);
    assert_eq!(reason(&events), Some("the block is not JSON"));
    assert_eq!(events.get(1), Some(&weather()));
}

#[test]
fn the_blocks_markup_writes_read_back() {
    let answer = markup::call_block("get_weather", r#"{"city": "Paris"}"#);
    assert_eq!(read(&[&answer]), [weather()]);
}

/// Every char boundary of `s`, ends included.
fn boundaries(s: &str) -> Vec<usize> {
    (0..=s.len()).filter(|&at| s.is_char_boundary(at)).collect()
}

#[test]
fn markers_split_at_every_boundary_read_the_same() {
    let answer = format!(
        "Voilà 😀 <<<T\n{}\nbetween\n{}\nafter",
        block(&format!("```json\n{WEATHER}\n```")),
        block(r#"[{"name": "a"}, {"name": "b", "input": "{\"k\": \"<<<\"}"}]"#)
    );
    let expected = read(&[&answer]);
    assert_eq!(
        expected,
        [
            text("Voilà 😀 <<<T\n"),
            weather(),
            call("a", json!({})),
            call("b", json!({"k": "<<<"}))
        ]
    );
    let cuts = boundaries(&answer);
    for (i, &first) in cuts.iter().enumerate() {
        for &second in cuts.iter().skip(i) {
            let (head, rest) = answer.split_at(first);
            let (middle, tail) = rest.split_at(second - first);
            assert_eq!(
                read(&[head, middle, tail]),
                expected,
                "cut at {first} and {second}"
            );
        }
    }
}

#[test]
fn one_byte_at_a_time() {
    let answer = format!("é{}x{}", block(WEATHER), block(r#"{"name": "b"}"#));
    let chars: Vec<String> = answer.chars().map(String::from).collect();
    let chunks: Vec<&str> = chars.iter().map(String::as_str).collect();
    assert_eq!(read(&chunks), [text("é"), weather(), call("b", json!({}))]);
}

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// `text` cut at the given places (each moved down to a char boundary).
fn cut<'a>(text: &'a str, places: &[Index]) -> Vec<&'a str> {
    let mut cuts: Vec<usize> = places
        .iter()
        .map(|place| {
            let mut at = place.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        })
        .collect();
    cuts.push(0);
    cuts.push(text.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .filter_map(|pair| text.get(pair[0]..pair[1]))
        .collect()
}

/// Text built from pieces that come close to the markers, plus multibyte chars.
fn near_markers() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<",
        "<<",
        "<<<",
        ">",
        ">>>",
        "T",
        "TOOL",
        "_CALL",
        "<<<TOOL_CAL",
        "<<<TOOL_CALL>>",
        "OOL_CALL>>>",
        "<<<END_TOOL_CALL>>>",
        "é",
        "😀",
        "a",
        " ",
        "\n",
        "`",
        "{",
        "\"",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

/// Anything at all, markers and JSON included.
fn anything() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        prop::sample::select(vec![
            CALL_OPEN,
            CALL_CLOSE,
            "<<<",
            "<<<END_TOOL",
            "```json",
            "```",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            ",",
            ":",
            "\"name\"",
            "\"arguments\"",
            "\"a\"",
            "é",
            "😀",
            " ",
            "\n",
            WEATHER,
        ])
        .prop_map(str::to_owned),
        "\\PC{0,8}",
    ];
    prop::collection::vec(pieces, 0..30).prop_map(|pieces| pieces.concat())
}

fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-zé😀<>{}\"\\\\ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop::collection::btree_map("[a-z]{1,5}", inner, 0..3)
            .prop_map(|map| Value::Object(map.into_iter().collect()))
    })
}

fn arguments() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,6}", small_json(), 0..4)
        .prop_map(|map| map.into_iter().collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_input_panics(answer in anything(), places in prop::collection::vec(any::<Index>(), 0..8)) {
        let mut parser = ToolParser::new();
        for chunk in cut(&answer, &places) {
            parser.push(chunk);
        }
        parser.finish();
        parser.push(&answer);
        parser.finish();
    }

    #[test]
    fn text_without_an_opening_marker_passes_through(
        answer in near_markers().prop_filter("no marker", |text| !text.contains(CALL_OPEN)),
        places in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut parser = ToolParser::new();
        let mut passed = String::new();
        let mut events = Vec::new();
        for chunk in cut(&answer, &places) {
            events.extend(parser.push(chunk));
        }
        events.extend(parser.finish());
        for event in events {
            match event {
                Event::Text(text) => passed.push_str(&text),
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        prop_assert_eq!(passed, answer);
        prop_assert!(!parser.saw_block());
    }

    #[test]
    fn cutting_a_valid_answer_changes_nothing(
        before in near_markers().prop_filter("no marker", |text| !text.contains(CALL_OPEN)),
        name in "[a-z_]{1,12}",
        arguments in arguments(),
        form in 0..6usize,
        after in near_markers(),
        places in prop::collection::vec(any::<Index>(), 0..10),
    ) {
        let object = json!({"name": name, "arguments": arguments});
        let inner = match form {
            0 => object.to_string(),
            1 => format!("```json\n{object:#}\n```"),
            2 => json!({"name": name, "arguments": Value::Object(arguments.clone()).to_string()}).to_string(),
            3 => json!({"name": name, "parameters": arguments}).to_string(),
            4 => json!([object, object]).to_string(),
            _ => format!("```\n{object}"),
        };
        // The last form leaves the end marker out, so nothing may follow it.
        let answer = if form == 5 {
            format!("{before}{CALL_OPEN}{inner}")
        } else {
            format!("{before}{CALL_OPEN}\n{inner}\n{CALL_CLOSE}{after}")
        };
        let whole = read(&[&answer]);
        let expected_call = call(&name, Value::Object(arguments));
        prop_assert!(whole.contains(&expected_call), "{whole:?}");
        prop_assert_eq!(&read(&cut(&answer, &places)), &whole);
    }
}
