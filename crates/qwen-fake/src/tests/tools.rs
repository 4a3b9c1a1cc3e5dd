//! The fake as a tool-calling model over HTTP: a scripted call loop along the parent chain,
//! calls streamed in word chunks, calls in the thinking phase, and malformed directives
//! rejected like unknown faults.

use serde_json::{Value, json};

use super::{answer_of, body, complete, events, fake, new_chat, response_id};

const TOOL_BLOCK: &str = "Tools you can call:\n\
    - get_weather: Get the weather.\n  \
    parameters: {\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],\"type\":\"object\"}\n\n\
    To call a tool, answer with a block in exactly this form:\n\
    <<<TOOL_CALL>>>\n{\"name\": \"TOOL_NAME\", \"arguments\": {…the arguments as JSON…}}\n<<<END_TOOL_CALL>>>\n\
    Write one block per call; for several calls at once, put the blocks one after another. \
    Write nothing after the last block. Results come back in <<<TOOL_RESULT name=\"…\" id=\"…\">>> blocks.\n\
    Call a tool when it helps; otherwise answer in plain text.";

const CALL: &str = "<<<TOOL_CALL>>>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"example\"}}\n<<<END_TOOL_CALL>>>";

fn result(content: &str) -> String {
    format!(
        "<<<TOOL_RESULT name=\"get_weather\" id=\"call_1\">>>\n{content}\n<<<END_TOOL_RESULT>>>"
    )
}

/// The answer-phase content pieces of an SSE body.
fn pieces(text: &str) -> Vec<String> {
    events(text)
        .iter()
        .filter(|e| e["choices"][0]["delta"]["phase"] == "answer")
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|c| !c.is_empty())
        .collect()
}

#[tokio::test]
async fn fake_runs_a_scripted_tool_loop_along_the_chain() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let first = format!(
        "{TOOL_BLOCK}\n\nWeather? [[fake:slow=1]] [[call:get_weather]] [[then]] [[call:get_weather]]"
    );
    let text = complete(&fake, &chat, &body(&chat, None, &first))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), CALL);
    assert!(pieces(&text).len() > 3, "streamed in word chunks");
    let r1 = response_id(&text);

    let text = complete(&fake, &chat, &body(&chat, Some(&r1), &result("rain")))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), CALL, "step two answers the first result");
    let r2 = response_id(&text);

    let text = complete(&fake, &chat, &body(&chat, Some(&r2), &result("sun\nlater")))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), "Done. get_weather returned: sun.");

    // A sibling branch from the first answer is one step in, like the original.
    let text = complete(&fake, &chat, &body(&chat, Some(&r1), &result("fog")))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(answer_of(&text), CALL);
}

#[tokio::test]
async fn fake_puts_calls_in_the_thinking_phase_on_request() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let content = format!("{TOOL_BLOCK}\n\n[[call:get_weather]] [[form:thinking]]");
    let mut request = body(&chat, None, &content);
    request["messages"][0]["feature_config"]["thinking_enabled"] = json!(true);
    let text = complete(&fake, &chat, &request).await.text().await.unwrap();
    assert_eq!(answer_of(&text), "I will use the tools.");
    let thoughts: Vec<Value> = events(&text)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["extra"]["summary_thought"]["content"]
                .as_array()
                .cloned()
        })
        .next_back()
        .unwrap_or_default();
    assert_eq!(thoughts.last(), Some(&json!(CALL)));
}

#[tokio::test]
async fn fake_rejects_a_malformed_directive() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let content = format!("{TOOL_BLOCK}\n\n[[call:get_weather {{\"city\": ]]");
    let rejected: Value = complete(&fake, &chat, &body(&chat, None, &content))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["success"], false);
    assert_eq!(rejected["data"]["code"], "Bad_Request");
    assert!(
        rejected["data"]["details"]
            .as_str()
            .is_some_and(|d| d.starts_with("bad fake directive `[[call:`")),
        "{rejected}"
    );
    assert_eq!(fake.chat_count(), 1);
}
