//! The JSON bodies the client sends (PROTOCOL.md §3 new chat, §4 completion turn) and the
//! chat id it reads back.
//!
//! Pure functions, apart from the fresh ids and timestamps the web app also puts in every
//! body, so the shape can be checked field by field without a server.

use serde_json::{Value, json};

use super::CompletionRequest;
use crate::time::since_epoch;

/// The body of `POST /api/v2/chats/new` for `model`.
pub(crate) fn new_chat_body(model: &str) -> Value {
    json!({
        "title": "New Chat",
        "models": [model],
        "chat_mode": "normal",
        "chat_type": "t2t",
        "timestamp": since_epoch().as_millis() as u64,
    })
}

/// The completion request body of PROTOCOL.md §4 for one user turn. `fid` and the
/// timestamps are fresh on every call.
pub fn completion_body(req: &CompletionRequest) -> Value {
    let now = since_epoch().as_secs();
    let parent = req.parent_id.as_deref().filter(|p| !p.is_empty());
    let chat_type = req.chat_type.as_str();
    json!({
        "stream": true,
        "version": "2.1",
        "incremental_output": true,
        "chat_id": req.chat_id,
        "chatId": req.chat_id,
        "chat_mode": "normal",
        "model": req.model,
        "parent_id": parent,
        "parentId": parent,
        "messages": [{
            "id": null,
            "fid": uuid::Uuid::new_v4().to_string(),
            "parentId": parent,
            "parent_id": parent,
            "childrenIds": [],
            "role": "user",
            "content": req.content,
            "user_action": "chat",
            "files": [],
            "timestamp": now,
            "models": [req.model],
            "model": "",
            "chat_type": chat_type,
            "sub_chat_type": chat_type,
            "feature_config": {
                "thinking_enabled": req.thinking,
                // Without it the upstream drops `phase` and the stream cannot be read.
                "output_schema": "phase",
                "research_mode": "normal",
                "auto_thinking": false,
                "thinking_mode": if req.thinking { "Thinking" } else { "Fast" },
                "thinking_format": "summary",
                "auto_search": false,
            },
            "extra": {"meta": {"subChatType": chat_type}},
        }],
        "timestamp": now,
    })
}

/// `data.id`, or the `data.chat.chat_id` shape some deployments return.
pub(crate) fn chat_id_of(reply: &Value) -> Option<String> {
    reply
        .pointer("/data/id")
        .or_else(|| reply.pointer("/data/chat/chat_id"))
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
}

/// The sign-in body: the email and the SHA-256 hex of the password, never the password.
pub(crate) fn signin_body(email: &str, password_sha256: &str) -> Value {
    json!({"email": email.trim(), "password": password_sha256})
}

/// The token of a sign-in reply: top-level `token` (v1), or `data.token` in the envelope
/// of the newer endpoint (PROTOCOL.md §1).
pub(crate) fn token_of(reply: &Value) -> Option<String> {
    reply
        .get("token")
        .or_else(|| reply.pointer("/data/token"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The token in a `wu.json` body: the argument of `umx.wu('…')` or `__fycb('…')`.
pub(crate) fn umid_of(body: &str) -> Option<String> {
    ["umx.wu(", "__fycb("].iter().find_map(|call| {
        let rest = body[body.find(call)? + call.len()..].trim_start();
        let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let inner = &rest[1..];
        let token = &inner[..inner.find(quote)?];
        (!token.trim().is_empty()).then(|| token.trim().to_owned())
    })
}

/// A one-message text turn ("Hi" to `qwen3.7-plus`), for the tests of this module and of
/// the client.
#[cfg(test)]
pub(super) fn test_request(
    chat_id: &str,
    parent: Option<&str>,
    thinking: bool,
) -> CompletionRequest {
    CompletionRequest {
        chat_id: chat_id.into(),
        parent_id: parent.map(str::to_owned),
        model: "qwen3.7-plus".into(),
        content: "Hi".into(),
        thinking,
        chat_type: super::ChatType::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::test_request as request;
    use super::*;
    use crate::qwen::ChatType;

    #[test]
    fn sign_in_and_umid_replies_are_read() {
        assert_eq!(
            signin_body("a@example.com ", "ab12")["password"],
            json!("ab12")
        );
        assert_eq!(
            token_of(&json!({"token": "eyJ.x"})).as_deref(),
            Some("eyJ.x")
        );
        assert_eq!(
            token_of(&json!({"success": true, "data": {"token": "eyJ.y"}})).as_deref(),
            Some("eyJ.y")
        );
        assert_eq!(token_of(&json!({"token": ""})), None);
        assert_eq!(
            umid_of("umx.wu('T2gAabc==');").as_deref(),
            Some("T2gAabc==")
        );
        assert_eq!(
            umid_of("x; __fycb(\"T2gAdef\")").as_deref(),
            Some("T2gAdef")
        );
        assert_eq!(umid_of("umx.wu()"), None);
        assert_eq!(umid_of("nothing here"), None);
    }

    #[test]
    fn completion_body_follows_the_protocol() {
        let body = completion_body(&request("chat-9", None, false));
        assert_eq!(body["stream"], true);
        assert_eq!(body["version"], "2.1");
        assert_eq!(body["incremental_output"], true);
        assert_eq!(body["chat_id"], "chat-9");
        assert_eq!(body["chatId"], "chat-9");
        assert_eq!(body["chat_mode"], "normal");
        assert_eq!(body["model"], "qwen3.7-plus");
        assert!(body["parent_id"].is_null() && body["parentId"].is_null());
        let messages = body["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert!(uuid::Uuid::parse_str(m["fid"].as_str().unwrap_or_default()).is_ok());
        assert!(m["parentId"].is_null() && m["parent_id"].is_null());
        assert_eq!(m["childrenIds"], json!([]));
        assert_eq!(m["role"], "user");
        assert_eq!(m["content"], "Hi");
        assert_eq!(m["user_action"], "chat");
        assert_eq!(m["models"], json!(["qwen3.7-plus"]));
        assert_eq!(m["chat_type"], "t2t");
        assert_eq!(m["sub_chat_type"], "t2t");
        assert_eq!(m["extra"]["meta"]["subChatType"], "t2t");
        assert_eq!(m["feature_config"]["output_schema"], "phase");
        assert_eq!(m["feature_config"]["thinking_enabled"], false);
        assert_eq!(m["feature_config"]["thinking_mode"], "Fast");
        let secs = body["timestamp"].as_u64().expect("timestamp");
        assert!(
            (1_000_000_000..10_000_000_000).contains(&secs),
            "seconds, not ms"
        );

        let mut req = request("chat-9", Some("resp-1"), true);
        req.chat_type = ChatType::Search;
        let body = completion_body(&req);
        assert_eq!(body["parent_id"], "resp-1");
        assert_eq!(body["parentId"], "resp-1");
        let m = &body["messages"][0];
        assert_eq!(m["parent_id"], "resp-1");
        assert_eq!(m["chat_type"], "search");
        assert_eq!(m["feature_config"]["thinking_enabled"], true);
        assert_eq!(m["feature_config"]["thinking_mode"], "Thinking");
    }

    #[test]
    fn chat_id_shapes() {
        assert_eq!(
            chat_id_of(&json!({"data": {"id": "a"}})).as_deref(),
            Some("a")
        );
        assert_eq!(
            chat_id_of(&json!({"data": {"chat": {"chat_id": "b"}}})).as_deref(),
            Some("b")
        );
        assert_eq!(chat_id_of(&json!({"data": {}})), None);
    }
}
