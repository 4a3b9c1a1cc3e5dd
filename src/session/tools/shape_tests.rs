use std::time::Instant;

use serde_json::json;

use super::*;
use crate::session::{Limits, RequestMeta};

fn weather() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: Some("Weather of a city".into()),
        parameters: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        }),
    }
}

fn request(tools: Vec<ToolSpec>, choice: ToolChoice, format: OutputFormat) -> TurnRequest {
    TurnRequest {
        model: "m".into(),
        messages: Vec::new(),
        thinking: None,
        search: None,
        limits: Limits::default(),
        tools,
        tool_choice: choice,
        parallel_tool_calls: true,
        format,
        meta: RequestMeta {
            id: "r".into(),
            response_id: "c".into(),
            endpoint: "chat.completions",
            stream: false,
            client_request_id: None,
            api_key_id: None,
            params: json!({}).into(),
            received: Instant::now(),
            received_at_ms: 0,
        },
    }
}

fn shaper(choice: ToolChoice) -> Shaper {
    Shaper::new(&mut request(vec![weather()], choice, OutputFormat::Text))
}

/// Feeds `answer` in chunks of `size` bytes (on char boundaries) and finishes.
fn run(shaper: &mut Shaper, answer: &str, size: usize) -> (Vec<Out>, Ending) {
    let mut out = Vec::new();
    let mut rest = answer;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        out.extend(shaper.answer(&rest[..cut]));
        rest = &rest[cut..];
    }
    (out, shaper.finish())
}

/// All text and calls of a finished turn, the ending's included.
fn everything(out: Vec<Out>, ending: Ending) -> (String, Vec<ToolCall>) {
    let Ending::Done(tail) = ending else {
        panic!("expected a usable answer, got {ending:?}");
    };
    let mut text = String::new();
    let mut calls = Vec::new();
    for item in out.into_iter().chain(tail) {
        match item {
            Out::Text(t) => text.push_str(&t),
            Out::Call(c) => calls.push(c),
        }
    }
    (text, calls)
}

const CALL: &str = "<<<TOOL_CALL>>>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n<<<END_TOOL_CALL>>>";

#[test]
fn plain_text_passes_through() {
    let mut s = Shaper::new(&mut request(vec![], ToolChoice::Auto, OutputFormat::Text));
    assert!(s.is_plain());
    let (text, calls) = {
        let (out, end) = run(&mut s, "hello <<<TOOL_CALL>>> world", 3);
        everything(out, end)
    };
    assert_eq!(text, "hello <<<TOOL_CALL>>> world");
    assert!(calls.is_empty());
}

#[test]
fn a_call_after_text() {
    for size in [1, 2, 7, 1000] {
        let mut s = shaper(ToolChoice::Auto);
        let (out, end) = run(&mut s, &format!("Let me check.\n{CALL}\nDone, bye."), size);
        let (text, calls) = everything(out, end);
        assert_eq!(text, "Let me check.\n", "chunk size {size}");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].name, "get_weather");
        assert_eq!(calls[0].arguments, r#"{"city":"Paris"}"#);
        assert!(calls[0].id.starts_with("call_"));
    }
}

#[test]
fn names_match_case_insensitively_and_keep_the_declared_spelling() {
    let mut s = shaper(ToolChoice::Auto);
    let (out, end) = run(&mut s, &CALL.replace("get_weather", "Get_Weather"), 5);
    let (_, calls) = everything(out, end);
    assert_eq!(calls[0].name, "get_weather");
}

#[test]
fn an_unknown_tool_gets_one_correction_then_the_second_answer() {
    let mut s = shaper(ToolChoice::Auto);
    let (_, end) = run(&mut s, &CALL.replace("get_weather", "get_wether"), 4);
    let Ending::Correct(message) = end else {
        panic!("expected a correction, got {end:?}");
    };
    assert!(message.starts_with(prompt::CORRECTION_START), "{message}");
    assert!(
        message.contains("get_wether") && message.contains("get_weather"),
        "{message}"
    );
    s.restart();
    let (out, end) = run(&mut s, CALL, 4);
    let (_, calls) = everything(out, end);
    assert_eq!(calls.len(), 1);
}

#[test]
fn invalid_arguments_twice_end_as_plain_content() {
    let broken = CALL.replace("\"city\"", "\"town\"");
    let mut s = shaper(ToolChoice::Auto);
    let (_, end) = run(&mut s, &broken, 6);
    let Ending::Correct(message) = end else {
        panic!("expected a correction");
    };
    assert!(message.contains("city"), "{message}");
    s.restart();
    let (out, end) = run(&mut s, &format!("Sure. {broken}"), 6);
    let (text, calls) = everything(out, end);
    assert!(calls.is_empty());
    assert_eq!(text, format!("Sure. {broken}"));
}

#[test]
fn required_and_named_choices_correct_an_answer_without_a_call() {
    let mut s = shaper(ToolChoice::Required);
    let (out, end) = run(&mut s, "It is sunny.", 3);
    assert!(out.is_empty(), "text is held while a call is required");
    assert!(matches!(end, Ending::Correct(_)));
    s.restart();
    let (out, end) = run(&mut s, &format!("Checking. {CALL}"), 3);
    let (text, calls) = everything(out, end);
    assert_eq!((text.as_str(), calls.len()), ("Checking. ", 1));

    let other = ToolSpec {
        name: "get_time".into(),
        ..weather()
    };
    let mut s = Shaper::new(&mut request(
        vec![weather(), other],
        ToolChoice::Named("get_time".into()),
        OutputFormat::Text,
    ));
    let (_, end) = run(&mut s, CALL, 10);
    let Ending::Correct(message) = end else {
        panic!("a call of the wrong tool is corrected");
    };
    assert!(message.contains("`get_time`"), "{message}");
}

#[test]
fn a_call_only_in_the_thinking_phase_is_used() {
    let mut s = shaper(ToolChoice::Auto);
    s.thinking("I should call it.\n");
    s.thinking(CALL);
    let (out, end) = run(&mut s, "I will use the tools.", 4);
    let (text, calls) = everything(out, end);
    assert_eq!(text, "I will use the tools.");
    assert_eq!(calls.len(), 1);

    // Not when the answer has its own block.
    let mut s = shaper(ToolChoice::Auto);
    s.thinking(&CALL.replace("Paris", "Lyon"));
    let (out, end) = run(&mut s, CALL, 4);
    let (_, calls) = everything(out, end);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].arguments.contains("Paris"));
}

#[test]
fn one_call_only_without_parallel_calls() {
    let mut req = request(vec![weather()], ToolChoice::Auto, OutputFormat::Text);
    req.parallel_tool_calls = false;
    let mut s = Shaper::new(&mut req);
    let (out, end) = run(&mut s, &format!("{CALL}\n{CALL}"), 8);
    let (_, calls) = everything(out, end);
    assert_eq!(calls.len(), 1);
}

#[test]
fn tool_choice_none_leaves_markers_as_text() {
    let mut s = shaper(ToolChoice::None);
    assert!(s.is_plain());
    let (out, end) = run(&mut s, CALL, 8);
    let (text, calls) = everything(out, end);
    assert_eq!(text, CALL);
    assert!(calls.is_empty());
}

#[test]
fn structured_output_is_exactly_the_json_text() {
    let format = OutputFormat::JsonSchema {
        name: "weather".into(),
        schema: json!({"type": "object", "properties": {"temp": {"type": "integer"}}, "required": ["temp"]}),
    };
    let mut s = Shaper::new(&mut request(vec![], ToolChoice::Auto, format.clone()));
    assert!(!s.is_plain());
    let (out, end) = run(&mut s, "Here:\n```json\n{\"temp\": 21}\n```\nEnjoy.", 5);
    let (text, _) = everything(out, end);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        json!({"temp": 21})
    );

    let mut s = Shaper::new(&mut request(vec![], ToolChoice::Auto, format));
    let (_, end) = run(&mut s, "{\"temp\": \"warm\"}", 5);
    let Ending::Correct(message) = end else {
        panic!("an invalid value is corrected");
    };
    assert!(
        message.ends_with("Answer again with only the JSON value."),
        "{message}"
    );
    s.restart();
    let (out, end) = run(&mut s, "no json at all", 5);
    assert_eq!(everything(out, end).0, "no json at all");

    let mut s = Shaper::new(&mut request(
        vec![],
        ToolChoice::Auto,
        OutputFormat::JsonObject,
    ));
    let (_, end) = run(&mut s, "[1, 2]", 5);
    assert!(
        matches!(end, Ending::Correct(_)),
        "json_object wants an object"
    );
}

#[test]
fn a_corrected_answer_does_not_repeat_text_already_passed_on() {
    let mut s = shaper(ToolChoice::Auto);
    let (out, end) = run(
        &mut s,
        &format!("Let me check.\n{}", CALL.replace("get_weather", "nope")),
        4,
    );
    let said: String = out
        .iter()
        .map(|o| match o {
            Out::Text(t) => t.as_str(),
            Out::Call(_) => "",
        })
        .collect();
    assert_eq!(said, "Let me check.\n");
    assert!(matches!(end, Ending::Correct(_)));
    s.restart();
    let (out, end) = run(&mut s, &format!("Let me check.\n{CALL}"), 4);
    let (text, calls) = everything(out, end);
    assert_eq!((text.as_str(), calls.len()), ("", 1));
}
