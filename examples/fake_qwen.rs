//! A standalone fake of chat.qwen.ai, for trying qwenctl (or any Qwen web client) offline
//! and for benchmarks: `cargo run --example fake_qwen -- --port 8089`.
//!
//! It serves the same fake the test suite uses (the `qwen-fake` crate) on a fixed address
//! until Ctrl-C. Point `QWEN_BASE_URL` at it; inject failures with `[[fake:NAME]]` in a
//! prompt or an `x-fake-fault: NAME` header (names listed by `--help`). It remembers the
//! 4,096 most recent requests and chats, as in the tests (`/__fake/requests` shows the
//! requests); `--limits small` keeps 64 and 256, like `serve --fake-upstream`.
//!
//! With `--account EMAIL:PASSWORD` (repeatable) it behaves like a real login: sign-in
//! checks the password's SHA-256, only the JWTs it issued (valid `--token-lifetime`
//! seconds) are accepted, chats belong to their account, and
//! `POST /__fake/accounts/limit` rate-limits one account. `/w/wu.json` serves anti-bot
//! tokens for `QWEN_UMID_URL`.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use qwen_fake::{FAULT_NAMES, FakeAccount, FakeOptions, Limits, serve};

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
    /// Accept only this bearer token (default: any non-empty token). Ignored with --account.
    #[arg(long)]
    token: Option<String>,
    /// An account that can sign in (repeatable). With accounts, sign-in checks the
    /// password, only tokens the fake issued and that have not expired are accepted, and
    /// chats and rate limits are per account.
    #[arg(long = "account", value_name = "EMAIL:PASSWORD", value_parser = parse_account)]
    accounts: Vec<FakeAccount>,
    /// Lifetime of the tokens sign-in issues to --account accounts, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    token_lifetime: u64,
    /// Delay before each answer chunk, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Split every answer into exactly this many chunks (default: one per word).
    #[arg(long)]
    answer_chunks: Option<usize>,
    /// How much history to keep.
    #[arg(long, value_enum, default_value_t = Keep::Tests)]
    limits: Keep,
    /// Chats kept, instead of the number --limits gives (a benchmark holding 10,000 streams
    /// open at once needs more than 4,096: a forgotten chat answers `Not_Found`).
    #[arg(long)]
    chats: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Keep {
    /// `Limits::TESTS`: 4,096 requests and chats, 64 MiB of each.
    Tests,
    /// `Limits::SMALL`: 64 requests, 256 chats, 4 MiB of each.
    Small,
}

fn fault_help() -> String {
    format!(
        "Fault names: {}\n\n\
         Test hooks: GET /__fake/requests; with --account, POST /__fake/accounts/limit \
         {{\"email\", \"retry_after_secs\" | \"hours\" | \"clear\": true}} and \
         POST /__fake/accounts/revoke {{\"email\"}}.",
        FAULT_NAMES.join(", ")
    )
}

/// `EMAIL:PASSWORD`, split at the first colon (emails have none; passwords may).
fn parse_account(value: &str) -> Result<FakeAccount, String> {
    match value.split_once(':') {
        Some((email, password)) if email.contains('@') && !password.is_empty() => {
            Ok(FakeAccount::new(email, password))
        }
        _ => Err("expected EMAIL:PASSWORD".to_owned()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let limits = match args.limits {
        Keep::Tests => Limits::TESTS,
        Keep::Small => Limits::SMALL,
    };
    let opts = FakeOptions {
        accepted_token: args.token,
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        answer_chunks: args.answer_chunks,
        limits: Limits {
            chats: args.chats.unwrap_or(limits.chats),
            ..limits
        },
        accounts: args.accounts,
        token_lifetime: Duration::from_secs(args.token_lifetime),
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
