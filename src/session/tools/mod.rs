//! Tools and structured outputs, emulated in text on a chat that has neither (design.md §9).
//!
//! The upstream's web chat offers clients no function calling, so the engine states the
//! declared tools and one calling convention in the chat's first message ([`prompt`]), reads
//! the model's answer through a streaming parser that recognises call blocks and the forms
//! real models drift into ([`parse`]), checks each call against its tool's schema
//! ([`schema`]), and extracts one JSON value for structured outputs ([`json`]). The markers
//! themselves live in [`markup`]. Everything here is pure; the answer loop that drives it
//! (and the one corrective turn) is [`super::answer`].

pub(crate) mod json;
pub(crate) mod markup;
pub(crate) mod parse;
pub(crate) mod prompt;
pub(crate) mod schema;
pub(crate) mod shape;

#[cfg(test)]
mod turn_cost;
