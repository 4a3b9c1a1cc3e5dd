//! A standalone fake of chat.qwen.ai, for trying qwenctl (or any Qwen web client) offline
//! and for benchmarks: `cargo run --example fake_qwen -- --port 8089`.
//!
//! It serves the same fake the test suite uses (the `qwen-fake` crate) on a fixed address
//! until Ctrl-C. Point `QWEN_BASE_URL` at it; inject failures with `[[fake:NAME]]` in a
//! prompt or an `x-fake-fault: NAME` header (names listed by `--help`). It remembers the
//! 4,096 most recent requests and chats, as in the tests (`/__fake/requests` shows the
//! requests); `--limits small` keeps 64 and 256, like `serve --fake-upstream`.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use qwen_fake::{FAULT_NAMES, FakeOptions, Limits, serve};

#[derive(Parser, Debug)]
#[command(about = "Fake chat.qwen.ai upstream for offline tests and benchmarks")]
#[command(after_help = fault_help())]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Accept only this bearer token (default: any non-empty token).
    #[arg(long)]
    token: Option<String>,
    /// Delay before each answer chunk, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Split every answer into exactly this many chunks (default: one per word).
    #[arg(long)]
    answer_chunks: Option<usize>,
    /// How much history to keep.
    #[arg(long, value_enum, default_value_t = Keep::Tests)]
    limits: Keep,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Keep {
    /// `Limits::TESTS`: 4,096 requests and chats, 64 MiB of each.
    Tests,
    /// `Limits::SMALL`: 64 requests, 256 chats, 4 MiB of each.
    Small,
}

fn fault_help() -> String {
    format!("Fault names: {}", FAULT_NAMES.join(", "))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let opts = FakeOptions {
        accepted_token: args.token,
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        answer_chunks: args.answer_chunks,
        limits: match args.limits {
            Keep::Tests => Limits::TESTS,
            Keep::Small => Limits::SMALL,
        },
    };
    // Its one line of output: where to point QWEN_BASE_URL.
    #[allow(clippy::print_stdout)]
    {
        println!("fake chat.qwen.ai listening on http://{addr}");
    }
    serve(listener, opts, async {
        // If the handler cannot be installed, serving until killed is still useful.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await
}
