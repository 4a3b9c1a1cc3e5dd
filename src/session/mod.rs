//! The conversation engine: stateless client histories on Qwen's stateful chats
//! (design.md §4), shared by every wire format of `serve` and by `chat`.
//!
//! Clients resend the whole history every turn; the Qwen web API takes one new user message
//! plus `chat_id` and `parent_id`. For each answered turn we remember the fingerprint of the
//! history the client will send next (its messages + the answer it received) → where that
//! conversation lives upstream. A request whose longest remembered prefix is found and fresh
//! continues that chat, sending only the messages after the prefix; anything else (new,
//! edited, expired, other model, unknown upstream) opens a new chat with the whole history
//! folded into one message, so the answer keeps its context either way. The mapping lives in
//! the store, so it survives restarts. Every exchange is recorded on the way.
//!
//! The front-ends (`proxy`'s wire formats, `repl`) speak to this module only: they turn
//! their request into a [`TurnRequest`], draw [`Piece`]s from the [`Answer`] the [`Engine`]
//! returns, and render them. The engine owns the upstream client and the store's write side;
//! the answer owns its own ending ([`status`]).

mod aliases;
mod answer;
mod engine;
pub(crate) mod fingerprint;
pub(crate) mod fold;
mod limit;
mod message;
pub(crate) mod models;
mod record;
mod request;
mod route;
mod status;
pub(crate) mod tools;
mod usage;

pub use aliases::{InvalidAlias, ModelAliases};
pub use answer::{Answer, Complete, Piece};
pub use engine::{Engine, StartError};
pub use limit::FinishReason;
pub use message::{Message, Role, ToolCall};
pub use request::{Limits, OutputFormat, Refusal, RequestMeta, ToolChoice, ToolSpec, TurnRequest};
pub use status::{Status, Stop};
pub use usage::{Usage, estimate_prompt, estimate_tokens, json_tokens};
