//! The upstream client for chat.qwen.ai's private web API.
//!
//! This module owns everything that knows the shape of the upstream: the requests and headers
//! a browser sends ([`client`], with its bodies, retries and model cache in sibling files),
//! the credentials each call is made with ([`Credentials`]: the account is an explicit input
//! of every call), the sign-in and the `bx-umidtoken` fetch, the session token's claims
//! ([`jwt`], which the configuration checks with the same code), the wire types ([`types`]), the SSE body parsed into typed [`QwenEvent`]s
//! ([`stream`]), the error classes ([`error`]) and the one place where upstream failures are
//! classified into them ([`classify`]). Nothing outside this module builds an upstream URL or
//! parses an upstream byte. It knows nothing of OpenAI, sessions or the store.

mod bodies;
mod classify;
mod client;
mod credentials;
mod error;
mod events;
mod headers;
mod jwt;
mod models;
mod models_cache;
mod payload;
mod redact;
mod retry;
mod sse;
mod stream;
mod transport;
mod types;

pub use bodies::completion_body;
pub use client::{QwenClient, UpstreamConfig};
pub use credentials::Credentials;
pub use error::{ErrorKind, QwenError};
pub use jwt::{jwt_expiry, jwt_issued_at, token_from_cookies};
pub use stream::{CompletionStream, DEFAULT_MAX_ANSWER_BYTES};
pub use types::{
    Capabilities, ChatType, CompletionRequest, Created, Model, QwenEvent, SearchResult, Usage,
};

// The hot path's workloads (src/perf.rs) frame and decode streams without a connection.
#[cfg(test)]
pub(crate) use events::{Decoder, Step};
#[cfg(test)]
pub(crate) use sse::{SseEvent, SseParser};
