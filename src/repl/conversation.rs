//! The conversation the chat holds: its messages, system prompt, model and session.
//!
//! The chat is a stateless client of the engine: it keeps the whole history and sends all
//! of it every turn ([`Conversation::request`]), and only a successful answer becomes part
//! of it ([`Conversation::answered`]), so a cancelled or failed turn leaves nothing half
//! said behind. Resuming a stored session, whichever command made it, is loading its
//! message list ([`Conversation::resume`]), tool calls and results included, so a session an
//! agent recorded through `serve` continues with the history it really had.

use crate::qwen;
use crate::session::{Message, Role, models};
use crate::store::{ListQuery, MAX_LIMIT, Store};

use super::Resume;

/// The model as the user named it and what it means upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    /// As typed (`qwen3-max-thinking`); used as `model` of `--json` output.
    pub name: String,
    /// The upstream model id.
    pub upstream: String,
    /// The name asked for thinking (`-thinking`).
    pub thinking: bool,
    /// The name asked for web search (`-search`).
    pub search: bool,
}

impl Default for ModelChoice {
    fn default() -> Self {
        let name = super::DEFAULT_MODEL.to_owned();
        ModelChoice {
            upstream: name.clone(),
            name,
            thinking: false,
            search: false,
        }
    }
}

/// Resolves a model name against the upstream list. Without a list (it could not be
/// fetched) the name is taken as an upstream id, minus a `-thinking`/`-search` suffix,
/// so the chat still works and any real problem surfaces from the chat request itself.
pub fn choose_model(name: &str, models: Option<&[qwen::Model]>) -> Result<ModelChoice, String> {
    let name = name.trim();
    let resolved = match models {
        Some(models) => models::resolve_model(name, models).ok_or_else(|| {
            format!("unknown model `{name}`: see `qwenctl models` (or /models in the chat)")
        })?,
        None => models::assume_model(name),
    };
    if resolved.upstream.is_empty() {
        return Err("the model name is empty".to_owned());
    }
    Ok(ModelChoice {
        name: name.to_owned(),
        upstream: resolved.upstream,
        thinking: resolved.thinking,
        search: resolved.search,
    })
}

/// Every name `/model` accepts: upstream ids and their virtual variants.
pub fn model_names(models: &[qwen::Model]) -> Vec<String> {
    models::entries(models).map(|(id, _)| id).collect()
}

/// What was loaded by [`Conversation::resume`].
#[derive(Debug, Clone)]
pub struct Resumed {
    pub session_id: String,
    /// The session's upstream model.
    pub model: String,
    pub messages: usize,
    /// Tool calls among those messages.
    pub tool_calls: usize,
}

/// The conversation in progress.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub model: ModelChoice,
    /// Ask for (and show) reasoning.
    pub thinking: bool,
    pub system: Option<String>,
    /// The history without the system prompt, ending with an answer (or, after resuming a
    /// session whose last turn failed, with that unanswered message).
    pub messages: Vec<Message>,
    /// The stored session this history belongs to, once known.
    pub session_id: Option<String>,
}

impl Conversation {
    /// The whole history to send: system prompt, messages, then `new` when given.
    pub fn request(&self, new: Option<&str>) -> Vec<Message> {
        let system = self
            .system
            .iter()
            .map(|s| Message::text(Role::System, s.clone()));
        let new = new.map(|text| Message::text(Role::User, text));
        system
            .chain(self.messages.iter().cloned())
            .chain(new)
            .collect()
    }

    /// Records an answered turn: the exact texts the engine remembered.
    pub fn answered(&mut self, user: Option<String>, answer: String, session_id: String) {
        if let Some(user) = user {
            self.messages.push(Message::text(Role::User, user));
        }
        self.messages.push(Message::text(Role::Assistant, answer));
        self.session_id = Some(session_id);
    }

    /// Forgets the history (the system prompt and model stay).
    pub fn clear(&mut self) {
        self.messages.clear();
        self.session_id = None;
    }

    /// The history without its last answer, for `/regenerate`; `None` when it does not end
    /// with one.
    pub fn without_last_answer(&self) -> Option<Vec<Message>> {
        let last = self.messages.last()?;
        if last.role != Role::Assistant {
            return None;
        }
        let mut all = self.request(None);
        all.pop();
        Some(all)
    }

    /// Replaces the history with a stored session's. A leading system message becomes the
    /// system prompt. Errors are complete messages for the user.
    pub async fn resume(&mut self, store: &Store, which: &Resume) -> Result<Resumed, String> {
        let id = match which {
            Resume::Id(id) => find_session(store, id).await?,
            Resume::Latest => {
                let q = ListQuery {
                    limit: 1,
                    ..ListQuery::default()
                };
                store
                    .session_ids(&q)
                    .await
                    .map_err(|e| format!("cannot read the sessions: {e}"))?
                    .into_iter()
                    .next()
                    .ok_or("there is no session to continue yet")?
            }
        };
        let session = store
            .get_session(&id)
            .await
            .map_err(|e| format!("cannot read session {id}: {e}"))?
            .ok_or_else(|| format!("session {id} disappeared"))?;
        let stored = store
            .conversation(&id)
            .await
            .map_err(|e| format!("cannot read session {id}: {e}"))?
            .unwrap_or_default();
        let mut messages: Vec<Message> = stored.iter().map(Message::from).collect();
        self.system = match messages.first() {
            Some(m) if m.role.is_instruction() => Some(messages.remove(0).content),
            _ => None,
        };
        let count = messages.len();
        let tool_calls = messages.iter().map(|m| m.tool_calls.len()).sum();
        self.messages = messages;
        self.session_id = Some(id.clone());
        Ok(Resumed {
            session_id: id,
            model: session.model,
            messages: count,
            tool_calls,
        })
    }
}

/// The full id of the session `id` names: itself, or the one stored id it is a prefix of.
async fn find_session(store: &Store, id: &str) -> Result<String, String> {
    let id = id.trim();
    let read_err = |e: crate::store::Error| format!("cannot read the sessions: {e}");
    if store.get_session(id).await.map_err(read_err)?.is_some() {
        return Ok(id.to_owned());
    }
    let not_found = || format!("no session `{id}` in the database (see `qwenctl sessions list`)");
    // A short prefix (as people copy from a table) is accepted when it is unambiguous.
    if id.len() < 4 {
        return Err(not_found());
    }
    let q = ListQuery {
        limit: MAX_LIMIT,
        ..ListQuery::default()
    };
    let ids = store.session_ids(&q).await.map_err(read_err)?;
    let matches: Vec<String> = ids.into_iter().filter(|s| s.starts_with(id)).collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(not_found()),
        _ => Err(format!(
            "`{id}` matches {} sessions: give more of the id",
            matches.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredMessage;

    fn model(id: &str) -> qwen::Model {
        qwen::Model {
            id: id.to_owned(),
            name: id.to_owned(),
            context_length: None,
            capabilities: qwen::Capabilities {
                thinking: true,
                vision: false,
                search: true,
            },
            created: 0,
        }
    }

    #[test]
    fn models_resolve_with_and_without_a_list() {
        let list = [model("qwen3-max")];
        let c = choose_model("qwen3-max-thinking", Some(&list)).unwrap();
        assert_eq!((c.upstream.as_str(), c.thinking), ("qwen3-max", true));
        assert!(
            choose_model("nope", Some(&list))
                .unwrap_err()
                .contains("nope")
        );
        let c = choose_model("qwen-plus-search", None).unwrap();
        assert_eq!((c.upstream.as_str(), c.search), ("qwen-plus", true));
        assert!(choose_model("-thinking", None).is_err());
        assert!(model_names(&list).contains(&"qwen3-max-search".to_owned()));
    }

    #[test]
    fn stored_messages_keep_their_calls_and_results() {
        let stored = StoredMessage {
            tool_calls: vec![crate::store::StoredToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            }],
            ..StoredMessage::text("assistant", "")
        };
        let m = Message::from(&stored);
        assert_eq!((m.role, m.content.as_str()), (Role::Assistant, ""));
        assert_eq!(m.tool_calls[0].name, "get_weather");
        let result = StoredMessage {
            tool_call_id: Some("call_1".into()),
            name: Some("get_weather".into()),
            ..StoredMessage::text("tool", "sunny")
        };
        let m = Message::from(&result);
        assert_eq!(m.role, Role::Tool);
        assert_eq!(
            (m.tool_call_id.as_deref(), m.name.as_deref()),
            (Some("call_1"), Some("get_weather"))
        );
    }

    #[test]
    fn history_round_trip() {
        let mut conv = Conversation {
            system: Some("be brief".into()),
            ..Conversation::default()
        };
        assert_eq!(conv.without_last_answer(), None);
        let sent = conv.request(Some("hi"));
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].role, Role::System);
        conv.answered(Some("hi".into()), "hello".into(), "s1".into());
        let again = conv.without_last_answer().unwrap();
        assert_eq!(again, sent);
        assert_eq!(conv.request(Some("more")).len(), 4);
        conv.clear();
        assert_eq!(conv.request(None).len(), 1);
        assert_eq!(conv.session_id, None);
    }
}
