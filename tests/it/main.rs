//! The one integration-test binary (one link step for CI): a module per area, one shared
//! harness in `common`. Nothing here reaches beyond 127.0.0.1.

// Tests report what they measured (sizes, timings) on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

mod accounts;
mod anthropic;
mod archive;
mod bad_input;
mod chat;
mod cli;
mod connections;
mod conversations;
mod cors;
mod crash;
mod events;
mod examples;
mod failures;
mod large_request;
mod postgres;
mod responses_api;
mod robustness;
mod security;
mod serve;
mod tools;
mod ui;
mod upstream;
