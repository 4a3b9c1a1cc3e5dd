//! The fake as a tool-calling model, message by message: the behaviour without directives,
//! each directive and form, schema-driven arguments, and scripts across result turns.

use super::*;
use crate::convention::{JSON_OBJECT, SCHEMA_INTRO};

const WEATHER: &str = r#"{"properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city"],"type":"object"}"#;

/// The tool block as qwenctl's `prompt::tool_block` writes it, with `rule` as its last line.
fn tool_block(rule: &str) -> String {
    format!(
        "Tools you can call:\n\
         - get_weather: Get the weather for a city.\n  parameters: {WEATHER}\n\
         - now\n\n\
         To call a tool, answer with a block in exactly this form:\n\
         <<<TOOL_CALL>>>\n{{\"name\": \"TOOL_NAME\", \"arguments\": {{…the arguments as JSON…}}}}\n<<<END_TOOL_CALL>>>\n\
         Write one block per call; for several calls at once, put the blocks one after another. \
         Write nothing after the last block. Results come back in <<<TOOL_RESULT name=\"…\" id=\"…\">>> blocks.\n\
         {rule}"
    )
}

const AUTO: &str = "Call a tool when it helps; otherwise answer in plain text.";

/// A chat's first message: the tool block under `rule`, then `user`.
fn first(rule: &str, user: &str) -> String {
    format!("{}\n\n{user}", tool_block(rule))
}

fn result(name: &str, content: &str) -> String {
    format!(
        "<<<TOOL_RESULT name=\"{name}\" id=\"call_{name}\">>>\n{content}\n<<<END_TOOL_RESULT>>>"
    )
}

fn correction() -> String {
    format!(
        "{CORRECTION_START} unknown tool `x`. Answer again, writing each tool call in exactly this form:\n<<<TOOL_CALL>>>\n{{\"name\": \"TOOL_NAME\", \"arguments\": {{…}}}}\n<<<END_TOOL_CALL>>>"
    )
}

/// The answer text to `current` after `chain` (without thinking).
fn say(chain: &[String], current: &str) -> String {
    answer(chain, current, false)
        .expect("valid directives")
        .expect("a tool chat")
        .text
}

fn block(json: &str) -> String {
    format!("<<<TOOL_CALL>>>\n{json}\n<<<END_TOOL_CALL>>>")
}

const WEATHER_CALL: &str = r#"{"name": "get_weather", "arguments": {"city":"example","unit":"c"}}"#;
const NOW_CALL: &str = r#"{"name": "now", "arguments": {}}"#;

#[test]
fn fake_obeys_forcing_rules_with_synthesised_arguments() {
    let named = first("You must call the tool `get_weather` now.", "Hi");
    assert_eq!(say(&[], &named), block(WEATHER_CALL));
    let one = first(
        "You must call the tool `now` now. Call at most one tool per answer.",
        "Hi",
    );
    assert_eq!(say(&[], &one), block(NOW_CALL));
    let required = first("You must call at least one tool now.", "Hi");
    assert_eq!(say(&[], &required), block(WEATHER_CALL));
    // A restated rule on a later turn forces a call too.
    let later = format!(
        "{}\n\nAnd again?\n\nYou must call the tool `now` now.",
        result("get_weather", "sunny")
    );
    assert_eq!(say(&[first(AUTO, "Hi")], &later), block(NOW_CALL));
}

#[test]
fn fake_calls_the_tools_the_user_names() {
    assert_eq!(
        say(&[], &first(AUTO, "Please use get_weather for Paris.")),
        block(WEATHER_CALL)
    );
    assert_eq!(
        say(&[], &first(AUTO, "Call `now`, then use get_weather.")),
        format!("{}\n{}", block(NOW_CALL), block(WEATHER_CALL))
    );
    let one = "Call a tool when it helps; otherwise answer in plain text. Call at most one tool per answer.";
    assert_eq!(
        say(&[], &first(one, "use get_weather and call now")),
        block(WEATHER_CALL)
    );
    // Whole words only, and never against the rule.
    assert_eq!(
        say(&[], &first(AUTO, "because get_weather_x is down")),
        "You said: because get_weather_x is down"
    );
    assert_eq!(
        say(
            &[],
            &first("Do not call any tool now; answer in plain text.", "use now")
        ),
        "You said: use now"
    );
    // The echo and the name recall read the user text, not the tool block.
    let chain = [first(AUTO, "my name is Ada")];
    assert_eq!(
        say(&chain, "what is my name?"),
        "Your name is Ada.",
        "a later turn of the chat"
    );
}

#[test]
fn fake_summarises_results() {
    let chain = [first(AUTO, "use get_weather and call now")];
    let turn = format!(
        "{}\n{}",
        result("get_weather", "Sunny, 21 °C.\nwind: none"),
        result("now", "")
    );
    assert_eq!(
        say(&chain, &turn),
        "Done. get_weather returned: Sunny, 21 °C. now returned nothing."
    );
    let long = "x".repeat(100);
    let turn = format!("{}\n\nThanks!", result("now", &format!("\n  {long}")));
    assert_eq!(
        say(&chain, &turn),
        format!("Done. now returned: {}….", "x".repeat(80))
    );
}

#[test]
fn fake_answers_structured_outputs() {
    let object = format!("List three colours.\n\n{JSON_OBJECT}");
    assert_eq!(say(&[], &object), r#"{"answer":"List three colours."}"#);
    let schema = format!(
        "Weather?\n\n{SCHEMA_INTRO}\n{{\"type\":\"object\",\"properties\":{{\"temp\":{{\"type\":\"number\"}},\"when\":{{\"type\":\"string\",\"format\":\"date\"}}}}}}"
    );
    assert_eq!(say(&[], &schema), r#"{"temp":1.5,"when":"2026-01-01"}"#);
    // A correction is answered with the value the message before it asked for.
    let again = format!("{CORRECTION_START} not JSON. Answer again with only the JSON value.");
    assert_eq!(
        say(std::slice::from_ref(&schema), &again),
        r#"{"temp":1.5,"when":"2026-01-01"}"#
    );
    // In a tool chat too, when nothing forces a call.
    let with_tools = format!("{}\n\n{JSON_OBJECT}", first(AUTO, "Hi"));
    assert_eq!(say(&[], &with_tools), r#"{"answer":"Hi"}"#);
    // Neither tools nor JSON: not a tool chat, directives are ordinary text.
    assert_eq!(answer(&[], "[[call:now]]", false), Ok(None));
}

#[test]
fn fake_scripts_calls_with_explicit_or_synthesised_arguments() {
    let text = first(
        AUTO,
        "[[fake:slow=1]] Go [[call:get_weather {\"city\": \"Paris\"}]] [[call:now]] [[call:odd \"raw\"]]",
    );
    assert_eq!(
        say(&[], &text),
        [
            block(r#"{"name": "get_weather", "arguments": {"city":"Paris"}}"#),
            block(NOW_CALL),
            block(r#"{"name": "odd", "arguments": "raw"}"#),
        ]
        .join("\n")
    );
    assert_eq!(
        say(&[], &first(AUTO, "[[call:Get_Weather]]")),
        block(r#"{"name": "Get_Weather", "arguments": {"city":"example","unit":"c"}}"#),
        "the schema of a case-insensitive match"
    );
}

#[test]
fn fake_writes_each_form() {
    let forms = |form: &str| {
        say(
            &[],
            &first(
                AUTO,
                &format!("[[call:now]] [[call:get_weather {{\"city\":\"Oslo\"}}]] [[form:{form}]]"),
            ),
        )
    };
    let oslo = r#"{"city":"Oslo"}"#;
    assert_eq!(
        forms("fenced"),
        format!(
            "<<<TOOL_CALL>>>\n```json\n{NOW_CALL}\n```\n<<<END_TOOL_CALL>>>\n\
             <<<TOOL_CALL>>>\n```json\n{{\"name\": \"get_weather\", \"arguments\": {oslo}}}\n```\n<<<END_TOOL_CALL>>>"
        )
    );
    assert_eq!(
        forms("string-args"),
        format!(
            "{}\n{}",
            block(r#"{"name": "now", "arguments": "{}"}"#),
            block(r#"{"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}"#)
        )
    );
    assert_eq!(
        forms("parameters"),
        format!(
            "{}\n{}",
            block(r#"{"name": "now", "parameters": {}}"#),
            block(r#"{"name": "get_weather", "parameters": {"city":"Oslo"}}"#)
        )
    );
    assert!(forms("input").contains(r#"{"name": "now", "input": {}}"#));
    assert_eq!(
        forms("array"),
        block(&format!(
            "[{NOW_CALL}, {{\"name\": \"get_weather\", \"arguments\": {oslo}}}]"
        ))
    );
    assert_eq!(
        forms("no-end"),
        format!(
            "{}\n<<<TOOL_CALL>>>\n{{\"name\": \"get_weather\", \"arguments\": {oslo}}}",
            block(NOW_CALL)
        )
    );
    assert!(forms("prose-before").starts_with("Let me check.\n<<<TOOL_CALL>>>\n"));
    assert!(forms("prose-after").ends_with("<<<END_TOOL_CALL>>>\nI will wait for the results."));
    assert_eq!(forms("fenced,array"), forms("array, fenced"));
    assert!(forms("array,fenced").starts_with("<<<TOOL_CALL>>>\n```json\n[{"));

    // Thinking: the blocks go to the thinking phase, only when the request thinks.
    let text = first(AUTO, "[[call:now]] [[form:thinking]]");
    let thought = answer(&[], &text, true).unwrap().unwrap();
    assert_eq!(thought.text, THINKING_ANSWER);
    assert_eq!(thought.thought, Some(block(NOW_CALL)));
    assert_eq!(say(&[], &text), block(NOW_CALL));
}

#[test]
fn fake_scripts_a_three_step_loop() {
    let script = first(
        AUTO,
        "Plan [[call:get_weather {\"city\":\"Rome\"}]] [[then]] [[call:now]] [[then]] [[say:Rome is sunny at noon.]]",
    );
    let mut chain = Vec::new();
    let mut turn = |current: String| {
        let answer = say(&chain, &current);
        chain.push(current);
        answer
    };
    assert_eq!(
        turn(script),
        block(r#"{"name": "get_weather", "arguments": {"city":"Rome"}}"#)
    );
    assert_eq!(turn(result("get_weather", "sunny")), block(NOW_CALL));
    assert_eq!(turn(result("now", "12:00")), "Rome is sunny at noon.");
    // Past the script: the default behaviour.
    assert_eq!(turn(result("now", "12:01")), "Done. now returned: 12:01.");
    // A user turn without directives ends the script.
    assert_eq!(turn("Thanks".into()), "You said: Thanks");
}

#[test]
fn fake_counts_steps_in_a_folded_transcript() {
    let folded = first(
        AUTO,
        &format!(
            "Conversation so far:\n\n[user]\nGo [[call:now]] [[then]] [[say:second]] [[then]] [[say:third]]\n\n\
             [assistant]\n{}\n\n[tool]\n{}\n\nReply to the conversation above.",
            block(NOW_CALL),
            result("now", "12:00")
        ),
    );
    assert_eq!(say(&[], &folded), "second");
    assert_eq!(say(&[folded], &result("now", "12:01")), "third");
    // A new script in the new request starts over, whatever results came before it.
    let restart = first(
        AUTO,
        &format!(
            "Conversation so far:\n\n[user]\n[[call:now]]\n\n[tool]\n{}\n\nNew request:\n[[say:fresh]] [[then]] [[say:next]]",
            result("now", "12:00")
        ),
    );
    assert_eq!(say(&[], &restart), "fresh");
    // A script continues across a result turn that also carries user text.
    let chain = [first(AUTO, "[[call:now]] [[then]] [[say:after]]")];
    let turn = format!("{}\n\nok, go on", result("now", "1"));
    assert_eq!(say(&chain, &turn), "after");
}

#[test]
fn fake_breaks_calls_until_corrected() {
    let broken = first(AUTO, "[[call:get_weather {\"city\":\"Oslo\"}]] [[broken]]");
    let wrong = format!(
        "{}\n{}",
        block(r#"{"name": "get_weather_v2", "arguments": {}}"#),
        block(r#"{"name": "get_weather", "arguments": {}}"#)
    );
    let right = block(r#"{"name": "get_weather", "arguments": {"city":"Oslo"}}"#);
    assert_eq!(say(&[], &broken), wrong);
    assert_eq!(say(std::slice::from_ref(&broken), &correction()), right);

    let twice = first(
        AUTO,
        "[[call:get_weather {\"city\":\"Oslo\"}]] [[broken:twice]] [[form:fenced]]",
    );
    assert_eq!(say(&[], &twice), wrong);
    let chain = [twice.clone()];
    assert_eq!(say(&chain, &correction()), wrong);
    let chain = [twice, correction()];
    assert_eq!(
        say(&chain, &correction()),
        right,
        "plain convention after a correction, whatever the forms"
    );

    // Corrections neither end a script nor count as steps.
    let script = first(
        AUTO,
        "[[call:now]] [[broken]] [[then]] [[call:now]] [[then]] [[say:end]]",
    );
    let chain = [script.clone(), correction(), result("now", "1")];
    assert_eq!(say(&chain[..2], &chain[2]), wrong_now());
    let chain = [script, correction(), result("now", "1"), correction()];
    assert_eq!(say(&chain[..3], &chain[3]), block(NOW_CALL));
    assert_eq!(say(&chain, &result("now", "2")), "end");
}

fn wrong_now() -> String {
    format!(
        "{}\n{}",
        block(r#"{"name": "now_v2", "arguments": {}}"#),
        block(NOW_CALL)
    )
}

#[test]
fn fake_answers_json_directives() {
    let wrapped = first(AUTO, "[[json:{\"ok\": true}]]");
    assert_eq!(
        say(&[], &wrapped),
        "Here is the JSON:\n```json\n{\"ok\":true}\n```\nThat is all."
    );
    assert_eq!(
        say(std::slice::from_ref(&wrapped), &correction()),
        "{\"ok\":true}"
    );

    let schema = format!(
        "[[json-broken]] Count.\n\n{SCHEMA_INTRO}\n{{\"type\":\"object\",\"properties\":{{\"n\":{{\"type\":\"integer\"}}}}}}"
    );
    assert_eq!(say(&[], &schema), BROKEN_JSON);
    let again = format!("{CORRECTION_START} invalid JSON. Answer again with only the JSON value.");
    assert_eq!(say(std::slice::from_ref(&schema), &again), "{\"n\":1}");
    let object = format!("[[json-broken]] Count.\n\n{JSON_OBJECT}");
    assert_eq!(
        say(std::slice::from_ref(&object), &again),
        "{\"answer\":\"Count.\"}"
    );
}

#[test]
fn fake_rejects_malformed_directives_only_in_the_current_message() {
    let bad = first(AUTO, "[[call:now {]]");
    assert!(answer(&[], &bad, false).unwrap_err().contains("[[call:"));
    assert!(answer(&[], &first(AUTO, "[[form:sideways]]"), false).is_err());
    // An old malformed script is no script.
    assert_eq!(
        say(&[bad], &result("now", "12:00")),
        "Done. now returned: 12:00."
    );
    // Directive lookalikes inside tool results are not directives.
    let chain = [first(AUTO, "[[call:now]]")];
    assert_eq!(
        say(&chain, &result("now", "[[say:forged]] [[call:{")),
        "Done. now returned: [[say:forged]] [[call:{."
    );
}

#[test]
fn fake_tool_answers_never_panic_on_odd_input() {
    let samples = [
        String::new(),
        "Tools you can call:\n".into(),
        first(AUTO, ""),
        first(AUTO, "[[then]][[then]]"),
        first(AUTO, "[[broken]]"),
        first("You must call the tool `` now.", "x"),
        first(AUTO, "<<<TOOL_RESULT name=\"now\">>>\né"),
        format!("{SCHEMA_INTRO}\nnot json"),
        CORRECTION_START.to_owned(),
    ];
    for current in &samples {
        for chain in [&[][..], &samples[..2], &samples[..]] {
            for thinking in [false, true] {
                let _ = answer(chain, current, thinking);
            }
        }
    }
}
