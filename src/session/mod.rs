//! The conversation engine: stateless OpenAI histories on Qwen's stateful chats
//! (design.md §4), shared by `serve` and `chat`.
//!
//! OpenAI clients resend the whole history every turn; the Qwen web API takes one new user
//! message plus `chat_id` and `parent_id`. For each answered turn we remember the fingerprint
//! of the history the client will send next (its messages + the answer it received) →
//! where that conversation lives upstream. A request whose longest remembered prefix is
//! found and fresh continues that chat, sending only the messages after the prefix; anything
//! else (new, edited, expired, other model, unknown upstream) opens a new chat with the whole
//! history folded into one message, so the answer keeps its context either way. The mapping
//! lives in the store, so it survives restarts. Every exchange is recorded on the way.

mod engine;
pub mod fingerprint;
mod relay;

pub use engine::{Engine, Outcome, RequestMeta, Status, Turn, TurnRequest};
pub use relay::{Piece, Relay};
