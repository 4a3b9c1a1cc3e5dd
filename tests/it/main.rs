//! The one integration-test binary (one link step for CI): a module per area, one shared
//! harness in `common`. Nothing here reaches beyond 127.0.0.1.

mod common;

mod cli;
mod conversations;
mod failures;
mod serve;
