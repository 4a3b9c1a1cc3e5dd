//! Writes a large archive through the store's own API, for measuring reads on a big store
//! (`docs/STORE.md`, "Reads on a large store"; issue 18, findings 1 and 11):
//! `cargo run --release --example gen_store -- --out /tmp/big.db --sessions 6000`.
//!
//! Each session is a conversation of `--turns` exchanges as `serve` records them: the client
//! resends its history, so each request stores only its new user message and points at the
//! request before it; the answer (about 1.5 KB, with reasoning for one model in three) is
//! the response row; each turn remembers its conversation node. User messages are about
//! 1.2 KB of varied words, and the upstream body as sent carries the message again, as the
//! proxy records it. Times spread over the last 90 days, models over five names, one answer
//! in twenty is an error. `--stale-statistics` then replaces the file's planner statistics
//! with those of a store holding one two-turn session, which is what the writer's
//! `PRAGMA optimize` at close used to freeze after a short first run (finding 1), so the
//! reads can be measured under them.
//!
//! Sessions are written `--parallel` at a time, so the writer groups their commits as under
//! load. The summary (size, counts, seconds) is one JSON object on stdout.

// Its report is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use qwenctl::store::{ConvNode, NewRequest, NewResponse, NewSession, Store, StoredMessage};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "Writes a large qwenctl archive for read measurements")]
struct Args {
    /// The database to create (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Sessions to write.
    #[arg(long, default_value_t = 6000)]
    sessions: u64,
    /// Exchanges per session.
    #[arg(long, default_value_t = 10)]
    turns: u64,
    /// Sessions written at once.
    #[arg(long, default_value_t = 64)]
    parallel: u64,
    /// Leave the planner statistics of a short first run in the file.
    #[arg(long)]
    stale_statistics: bool,
}

const MODELS: [&str; 5] = [
    "qwen3-max",
    "qwen3.7-plus",
    "qwen3-coder-plus",
    "qwen3.7-plus-thinking",
    "qwen-turbo",
];
const WORDS: [&str; 24] = [
    "archive", "request", "answer", "session", "history", "model", "token", "stream", "proxy",
    "client", "upstream", "record", "index", "planner", "export", "review", "rust", "query",
    "table", "shell", "deploy", "cache", "latency", "report",
];
/// The start of the 90 days the exchanges spread over (unix ms).
const START_MS: i64 = 1_790_000_000_000;
const DAY_MS: i64 = 86_400_000;

/// About `len` bytes of words picked by `seed`.
fn text(seed: u64, len: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        out.push_str(WORDS[rng.usize(..WORDS.len())]);
        out.push(if rng.u8(..12) == 0 { '\n' } else { ' ' });
    }
    out
}

async fn write_session(store: &Store, s: u64, turns: u64) -> qwenctl::store::Result<()> {
    let sid = format!("s{s:06}-{}", uuid::Uuid::new_v4().simple());
    let model = MODELS[(s % 5) as usize];
    let day = (s * 7919) % 90;
    let start = START_MS + i64::try_from(day).unwrap_or(0) * DAY_MS + (s as i64 % 1000) * 60_000;
    let chat_id = uuid::Uuid::new_v4().to_string();
    store
        .create_session(NewSession {
            account: None,
            id: sid.clone(),
            chat_id: chat_id.clone(),
            model: model.to_owned(),
            title: text(s, 60),
            source: "serve".to_owned(),
            api_key_id: Some("key-1".to_owned()),
            created_at: start,
        })
        .await?;
    let mut prior: Option<String> = None;
    for t in 0..turns {
        let at = start + i64::try_from(t).unwrap_or(0) * 45_000;
        let seed = s * 1000 + t;
        let question = text(seed, 1200);
        let rid = uuid::Uuid::new_v4().to_string();
        let message_count = i64::try_from(2 * t + 1).unwrap_or(0);
        store
            .record_request(NewRequest {
                account: None,
                id: rid.clone(),
                session_id: Some(sid.clone()),
                endpoint: "chat.completions".to_owned(),
                model: model.to_owned(),
                stream: t % 2 == 0,
                api_key_id: Some("key-1".to_owned()),
                client_request_id: None,
                prior_request_id: prior.clone(),
                message_count,
                new_messages: vec![StoredMessage::text("user", question.clone())],
                params: json!({"model": model, "temperature": 0.7, "stream": t % 2 == 0}).into(),
                upstream_request: Some(json!({
                    "chat_id": chat_id, "model": model, "stream": true,
                    "messages": [{"role": "user", "content": question}],
                })),
                chat_id: Some(chat_id.clone()),
                parent_id: None,
                received_at: at,
            })
            .await?;
        let failed = seed % 20 == 7;
        let reasoning = if s.is_multiple_of(3) {
            text(seed + 7, 500)
        } else {
            String::new()
        };
        store
            .record_response(NewResponse {
                id: uuid::Uuid::new_v4().to_string(),
                request_id: rid.clone(),
                session_id: Some(sid.clone()),
                response_id: Some(uuid::Uuid::new_v4().to_string()),
                status: if failed { "error" } else { "ok" }.to_owned(),
                error_kind: failed.then(|| "upstream_error".to_owned()),
                error_message: failed.then(|| "the upstream failed".to_owned()),
                content: if failed {
                    String::new()
                } else {
                    text(seed + 3, 1500)
                },
                reasoning,
                finish_reason: Some(if failed { "error" } else { "stop" }.to_owned()),
                prompt_tokens: 300 + i64::try_from(t).unwrap_or(0) * 600,
                completion_tokens: 380,
                reasoning_tokens: if s.is_multiple_of(3) { 120 } else { 0 },
                upstream_first_byte_ms: Some(200 + (seed % 300) as i64),
                first_token_ms: (!failed).then_some(400 + (seed % 900) as i64),
                duration_ms: 1500 + (seed % 4000) as i64,
                created_at: at + 2000,
                ..NewResponse::default()
            })
            .await?;
        let mut fingerprint = [0_u8; 16];
        fingerprint[..8].copy_from_slice(&s.to_le_bytes());
        fingerprint[8..].copy_from_slice(&t.to_le_bytes());
        store
            .remember(ConvNode {
                account: None,
                fingerprint,
                session_id: sid.clone(),
                chat_id: chat_id.clone(),
                response_id: uuid::Uuid::new_v4().to_string(),
                model: model.to_owned(),
                request_id: Some(rid.clone()),
                message_count: message_count + 1,
                last_used_at: at + 2000,
            })
            .await?;
        prior = Some(rid);
    }
    Ok(())
}

/// Replaces the planner statistics of `path` with those of a store of one two-turn session.
async fn stale_statistics(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tiny = dir.path().join("tiny.db");
    let store = Store::open(&tiny)?;
    write_session(&store, 1, 2).await?;
    drop(store);
    let tiny = rusqlite::Connection::open(&tiny)?;
    tiny.execute_batch("ANALYZE")?;
    let rows: Vec<(String, Option<String>, String)> = tiny
        .prepare("SELECT tbl, idx, stat FROM sqlite_stat1")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let big = rusqlite::Connection::open(path)?;
    // Creates sqlite_stat1 when the writer never analyzed the file.
    big.execute_batch("ANALYZE sqlite_schema; DELETE FROM sqlite_stat1;")?;
    for (tbl, idx, stat) in rows {
        big.execute(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?1, ?2, ?3)",
            (tbl, idx, stat),
        )?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(!args.out.exists(), "{} exists", args.out.display());
    let started = Instant::now();
    let store = Store::open(&args.out)?;
    let mut next = 0_u64;
    while next < args.sessions {
        let batch: Vec<u64> = (next..args.sessions.min(next + args.parallel)).collect();
        next += batch.len() as u64;
        let tasks: Vec<_> = batch
            .into_iter()
            .map(|s| {
                let store = store.clone();
                let turns = args.turns;
                tokio::spawn(async move { write_session(&store, s, turns).await })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        if next % 1000 < args.parallel {
            eprintln!("{next} sessions, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    store.flush().await?;
    drop(store);
    if args.stale_statistics {
        stale_statistics(&args.out).await?;
    }
    let bytes = std::fs::metadata(&args.out)?.len();
    println!(
        "{}",
        json!({
            "path": args.out,
            "bytes": bytes,
            "sessions": args.sessions,
            "exchanges": args.sessions * args.turns,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
