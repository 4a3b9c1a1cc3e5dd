//! TEMPORARY stub (replaced by the streaming parser).
use serde_json::Value;
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Text(String),
    Call(RawCall),
    Malformed { raw: String, reason: String },
}
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawCall {
    pub name: String,
    pub arguments: Value,
}
#[derive(Debug, Default)]
pub(crate) struct ToolParser {
    buf: String,
}
impl ToolParser {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, delta: &str) -> Vec<Event> {
        self.buf.push_str(delta);
        Vec::new()
    }
    pub fn finish(&mut self) -> Vec<Event> {
        let text = std::mem::take(&mut self.buf);
        let Some(at) = text.find(super::markup::CALL_OPEN) else {
            return vec![Event::Text(text)];
        };
        let mut out = vec![Event::Text(text[..at].to_owned())];
        for block in text[at..].split(super::markup::CALL_OPEN).skip(1) {
            let inner = block
                .split(super::markup::CALL_CLOSE)
                .next()
                .unwrap_or_default()
                .trim();
            match serde_json::from_str::<Value>(inner) {
                Ok(v) => out.push(Event::Call(RawCall {
                    name: v["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: v.get("arguments").cloned().unwrap_or_default(),
                })),
                Err(_) => out.push(Event::Malformed {
                    raw: inner.to_owned(),
                    reason: "the block is not JSON".into(),
                }),
            }
        }
        out
    }
    pub fn saw_block(&self) -> bool {
        false
    }
}
