//! The chats the fake remembers, with their turns, bounded by count and by bytes.
//!
//! Turns are what later `parent_id`s point at and what the deterministic answers read to
//! prove context was kept, so a chat is kept whole or not at all. Past either budget the
//! least recently used chats are forgotten (creating a chat or answering in it counts as
//! use), and a forgotten chat then answers exactly like one that never existed: `Not_Found`,
//! "chat not found", which is how the real service treats a chat it no longer knows and
//! what a client has to handle anyway. A single chat larger than the whole byte budget is
//! forgotten too, so the budget holds under any traffic.

use std::collections::{BTreeMap, HashMap};

/// Bytes charged per chat and per turn on top of their text (structs, ids, map entries).
const CHAT_OVERHEAD: usize = 256;
const TURN_OVERHEAD: usize = 128;

/// One chat created through `POST /api/v2/chats/new`.
#[derive(Debug, Clone)]
pub(crate) struct Chat {
    pub id: String,
    pub title: String,
    pub chat_type: String,
    pub models: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub turns: Vec<Turn>,
    /// Index of the account that created it (`None` without accounts).
    pub owner: Option<usize>,
}

/// One answered user message; `response_id` is what the next turn sends as `parent_id`.
#[derive(Debug, Clone)]
pub(crate) struct Turn {
    /// Server id of the stored user message (`response.created.parent_id`).
    pub user_message_id: String,
    pub user_text: String,
    /// The `parent_id` the request carried (`None` for a root turn).
    pub parent_response_id: Option<String>,
    pub response_id: String,
    pub answer: String,
    pub model: String,
    pub timestamp: u64,
}

impl Chat {
    /// User texts from the root to the turn whose answer is `parent`, oldest first.
    pub(crate) fn chain_texts(&self, parent: Option<&str>) -> Vec<String> {
        let mut texts = Vec::new();
        let mut next = parent;
        // Parents always exist before their children, so there are no cycles; the bound
        // only guards against a logic slip turning into an endless loop.
        for _ in 0..=self.turns.len() {
            let Some(id) = next else { break };
            let Some(turn) = self.turns.iter().find(|t| t.response_id == id) else {
                break;
            };
            texts.push(turn.user_text.clone());
            next = turn.parent_response_id.as_deref();
        }
        texts.reverse();
        texts
    }

    pub(crate) fn has_response(&self, response_id: &str) -> bool {
        self.turns.iter().any(|t| t.response_id == response_id)
    }

    /// Bytes charged for this chat against the budget.
    fn size(&self) -> usize {
        CHAT_OVERHEAD
            + self.id.len()
            + self.title.len()
            + self.chat_type.len()
            + self.models.iter().map(String::len).sum::<usize>()
            + self.turns.iter().map(Turn::size).sum::<usize>()
    }
}

impl Turn {
    fn size(&self) -> usize {
        TURN_OVERHEAD
            + self.user_message_id.len()
            + self.user_text.len()
            + self.parent_response_id.as_ref().map_or(0, String::len)
            + self.response_id.len()
            + self.answer.len()
            + self.model.len()
    }
}

/// Live chats by id, with least-recently-used eviction past `max_chats` or `max_bytes`.
pub(crate) struct Chats {
    live: HashMap<String, Slot>,
    /// Last use → chat id; the first entry is the least recently used chat.
    by_use: BTreeMap<u64, String>,
    /// Source of use stamps (strictly increasing, so stamps are unique keys).
    clock: u64,
    /// Sum of the sizes of the live chats.
    bytes: usize,
    max_chats: usize,
    max_bytes: usize,
}

struct Slot {
    chat: Chat,
    used: u64,
    size: usize,
}

impl Chats {
    pub(crate) fn new(max_chats: usize, max_bytes: usize) -> Self {
        Chats {
            live: HashMap::new(),
            by_use: BTreeMap::new(),
            clock: 0,
            bytes: 0,
            max_chats,
            max_bytes,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Chat> {
        self.live.get(id).map(|slot| &slot.chat)
    }

    /// Chat `id` when `owner` created it: another account's chat is as unknown as one that
    /// never existed, since chat ids belong to one account upstream.
    pub(crate) fn get_owned(&self, id: &str, owner: Option<usize>) -> Option<&Chat> {
        self.get(id).filter(|chat| chat.owner == owner)
    }

    /// Removes chat `id` when `owner` created it.
    pub(crate) fn remove_owned(&mut self, id: &str, owner: Option<usize>) -> Option<Chat> {
        self.get_owned(id, owner)?;
        self.remove(id)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Chat> {
        self.live.values().map(|slot| &slot.chat)
    }

    /// Adds `chat` as the most recently used one, then evicts past the budgets.
    pub(crate) fn insert(&mut self, chat: Chat) {
        self.remove(&chat.id);
        let used = self.tick();
        let size = chat.size();
        self.by_use.insert(used, chat.id.clone());
        self.bytes += size;
        self.live.insert(chat.id.clone(), Slot { chat, used, size });
        self.evict();
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Chat> {
        let slot = self.live.remove(id)?;
        self.by_use.remove(&slot.used);
        self.bytes -= slot.size;
        Some(slot.chat)
    }

    /// Applies `change` to chat `id` (false when it is not live), marks the chat as just
    /// used and re-measures it, then evicts past the budgets.
    pub(crate) fn update(&mut self, id: &str, change: impl FnOnce(&mut Chat)) -> bool {
        let used = self.tick();
        let Some(slot) = self.live.get_mut(id) else {
            return false;
        };
        change(&mut slot.chat);
        self.by_use.remove(&slot.used);
        self.by_use.insert(used, slot.chat.id.clone());
        slot.used = used;
        let size = slot.chat.size();
        self.bytes = self.bytes - slot.size + size;
        slot.size = size;
        self.evict();
        true
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn evict(&mut self) {
        while self.live.len() > self.max_chats || self.bytes > self.max_bytes {
            let Some((_, id)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(slot) = self.live.remove(&id) {
                self.bytes -= slot.size;
            }
        }
    }

    /// Bytes charged for the live chats (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn chat(id: &str) -> Chat {
        Chat {
            id: id.into(),
            title: "New Chat".into(),
            chat_type: "t2t".into(),
            models: vec!["qwen3-max".into()],
            created_at: 0,
            updated_at: 0,
            turns: Vec::new(),
            owner: None,
        }
    }

    fn turn(text: &str) -> Turn {
        Turn {
            user_message_id: "u".into(),
            user_text: text.into(),
            parent_response_id: None,
            response_id: format!("r-{text}"),
            answer: format!("You said: {text}"),
            model: "qwen3-max".into(),
            timestamp: 0,
        }
    }

    #[test]
    fn fake_chats_evict_the_least_recently_used_past_the_count() {
        let mut chats = Chats::new(2, usize::MAX);
        chats.insert(chat("a"));
        chats.insert(chat("b"));
        // Using "a" makes "b" the least recently used.
        assert!(chats.update("a", |c| c.turns.push(turn("hi"))));
        chats.insert(chat("c"));
        assert_eq!(chats.len(), 2);
        assert!(chats.get("b").is_none(), "b was evicted");
        assert!(chats.get("a").is_some_and(|c| c.turns.len() == 1));
        assert!(!chats.update("b", |c| c.turns.push(turn("lost"))));
        let total: usize = chats.values().map(Chat::size).sum();
        assert_eq!(chats.bytes(), total);
        assert!(chats.remove("a").is_some());
        assert_eq!(chats.bytes(), chats.get("c").map_or(0, Chat::size));
    }

    #[test]
    fn fake_chats_are_bounded_by_bytes() {
        let budget = 4 * 1024;
        let mut chats = Chats::new(usize::MAX, budget);
        chats.insert(chat("long"));
        // One chat that keeps growing is forgotten once it alone exceeds the budget.
        let mut turns = 0;
        while chats.update("long", |c| c.turns.push(turn(&"x".repeat(300)))) {
            turns += 1;
            assert!(chats.bytes() <= budget);
        }
        assert!(turns > 3, "{turns}");
        assert_eq!(chats.len(), 0);
        assert_eq!(chats.bytes(), 0);
        // Many small chats: the oldest go first.
        for i in 0..100 {
            chats.insert(chat(&format!("chat-{i}")));
            assert!(chats.bytes() <= budget);
        }
        assert!(chats.get("chat-99").is_some());
        assert!(chats.get("chat-0").is_none());
        assert!(chats.len() > 10, "{}", chats.len());
    }
}
