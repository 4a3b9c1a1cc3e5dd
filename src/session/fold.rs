//! Folding an OpenAI message list into the one user message the upstream accepts per turn.
//!
//! The upstream has no system role and takes exactly one new user message per turn, keeping
//! the context itself. When a conversation cannot be continued upstream (new, edited or
//! expired), the whole history is folded into the first message of a fresh chat; when it can,
//! only the messages after the remembered prefix are folded. Both use one format, chosen so
//! the common cases stay untouched and the rest has unmistakable role boundaries:
//!
//! ```text
//! System instructions:
//! <system and developer messages, joined by a blank line>
//!
//! Conversation so far:            ("Messages since your last reply:" for a continued chat)
//!
//! [user]
//! <text>
//!
//! [assistant]
//! <text>
//!
//! [tool]
//! <text>
//!
//! New request:
//! <the last message, when it is a user message>
//! ```
//!
//! - without instructions, the first block is left out;
//! - a lone user message is its text exactly, with no transcript around it;
//! - messages with empty text (an assistant turn that only called tools) are left out;
//! - when the last message is not a user message (say, a tool result), the transcript holds
//!   every message and ends with `Reply to the conversation above.` instead of a new request.

use super::message::{Message, Role};

const INSTRUCTIONS: &str = "System instructions:\n";
const HISTORY_HEADER: &str = "Conversation so far:";
const NEW_TURN_HEADER: &str = "Messages since your last reply:";
const NEW_REQUEST: &str = "New request:\n";
const REPLY: &str = "Reply to the conversation above.";

/// Folds a whole history into the first message of a fresh upstream chat. A single user
/// message without instructions folds to exactly its text. See the module docs for the format.
pub fn fold_messages(messages: &[Message]) -> String {
    fold(messages.iter(), HISTORY_HEADER)
}

/// Folds the messages of a continued chat: `system` holds instructions to (re)state with this
/// turn, usually none, since the chat's first message already carried them; `new` holds the
/// messages after the remembered prefix (instructions among them are stated first too). One
/// user message alone folds to exactly its text.
pub fn fold_new_turn(system: &[Message], new: &[Message]) -> String {
    fold(system.iter().chain(new), NEW_TURN_HEADER)
}

fn fold<'a>(messages: impl Iterator<Item = &'a Message>, header: &str) -> String {
    let (instructions, turns): (Vec<&Message>, Vec<&Message>) =
        messages.partition(|m| m.role.is_instruction());
    let mut out = String::new();
    let instructions: Vec<&str> = instructions
        .iter()
        .map(|m| m.content.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    if !instructions.is_empty() {
        out.push_str(INSTRUCTIONS);
        out.push_str(&instructions.join("\n\n"));
        if turns.is_empty() {
            return out;
        }
        out.push_str("\n\n");
    }
    let (last_user, history) = match turns.split_last() {
        Some((last, history)) if last.role == Role::User => (Some(*last), history),
        _ => (None, &turns[..]),
    };
    let transcript: Vec<&&Message> = history.iter().filter(|m| !m.content.is_empty()).collect();
    if transcript.is_empty() {
        // Nothing before the request worth showing: the request alone, undecorated.
        if let Some(last) = last_user {
            out.push_str(&last.content);
        }
        return out;
    }
    out.push_str(header);
    out.push_str("\n\n");
    for m in transcript {
        out.push('[');
        out.push_str(m.role.as_str());
        out.push_str("]\n");
        out.push_str(&m.content);
        out.push_str("\n\n");
    }
    match last_user {
        Some(last) => {
            out.push_str(NEW_REQUEST);
            out.push_str(&last.content);
        }
        None => out.push_str(REPLY),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: Role, content: &str) -> Message {
        Message::text(role, content)
    }

    #[test]
    fn lone_user_message_is_untouched() {
        let text = "Hello\n\n[assistant]\nnot a real tag";
        assert_eq!(fold_messages(&[msg(Role::User, text)]), text);
        assert_eq!(fold_new_turn(&[], &[msg(Role::User, text)]), text);
        assert_eq!(fold_messages(&[msg(Role::User, "")]), "");
    }

    #[test]
    fn instructions_come_first() {
        let messages = [
            msg(Role::System, "Be brief."),
            msg(Role::Developer, "Answer in French."),
            msg(Role::User, "Hi"),
        ];
        assert_eq!(
            fold_messages(&messages),
            "System instructions:\nBe brief.\n\nAnswer in French.\n\nHi"
        );
        assert_eq!(
            fold_messages(&[msg(Role::System, "Only this.")]),
            "System instructions:\nOnly this."
        );
    }

    #[test]
    fn history_becomes_a_transcript() {
        let messages = [
            msg(Role::System, "S"),
            msg(Role::User, "What is 2+2?"),
            msg(Role::Assistant, "4"),
            msg(Role::User, "And 3+3?"),
        ];
        assert_eq!(
            fold_messages(&messages),
            "System instructions:\nS\n\nConversation so far:\n\n[user]\nWhat is 2+2?\n\n\
             [assistant]\n4\n\nNew request:\nAnd 3+3?"
        );
        let no_system = &messages[1..];
        assert_eq!(
            fold_messages(no_system),
            "Conversation so far:\n\n[user]\nWhat is 2+2?\n\n[assistant]\n4\n\nNew request:\nAnd 3+3?"
        );
    }

    #[test]
    fn tool_turns_and_trailing_non_user() {
        let messages = [
            msg(Role::User, "Weather?"),
            msg(Role::Assistant, ""),
            msg(Role::Tool, "sunny"),
        ];
        assert_eq!(
            fold_messages(&messages),
            "Conversation so far:\n\n[user]\nWeather?\n\n[tool]\nsunny\n\nReply to the conversation above."
        );
        // Empty assistant turns alone do not force a transcript.
        let messages = [msg(Role::Assistant, ""), msg(Role::User, "Hi")];
        assert_eq!(fold_messages(&messages), "Hi");
    }

    #[test]
    fn new_turn_with_several_messages() {
        let new = [msg(Role::Tool, "42"), msg(Role::User, "Thanks, and now?")];
        assert_eq!(
            fold_new_turn(&[], &new),
            "Messages since your last reply:\n\n[tool]\n42\n\nNew request:\nThanks, and now?"
        );
        let system = [msg(Role::System, "Be terse.")];
        assert_eq!(
            fold_new_turn(&system, &[msg(Role::User, "Go")]),
            "System instructions:\nBe terse.\n\nGo"
        );
    }
}
