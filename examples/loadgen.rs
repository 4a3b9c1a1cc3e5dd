//! A small load generator for the benchmark (`scripts/bench.sh`, `docs/BENCHMARKS.md`):
//! `cargo run --release --example loadgen -- --url http://127.0.0.1:3000 --concurrency 100
//! --duration 10 --stream`.
//!
//! It drives either `qwenctl serve` (`--target openai`: OpenAI chat or legacy completions) or
//! the fake upstream directly (`--target qwen`: a new chat plus one streamed completion, the
//! same upstream work `serve` does for a new conversation), so the two can be compared at the
//! same load. Closed loop by default (`--concurrency` clients, each sending its next request
//! as soon as the previous one ended); `--rate` turns it into a paced load with a fixed
//! schedule of request starts. Every prompt is unique, as real traffic is; with `--turns N`
//! each client continues its chat conversation for N requests (resending the history and
//! the answers, as OpenAI clients do) before it starts a new one. With `--pid` it
//! also samples the CPU time and resident memory of other processes (the server under test)
//! over the measured window, and every 50 ms how many answers are open (head received, body
//! not ended): the summary's `open_answers_max` and the first process's RSS at that sample
//! (`rss_at_open_answers_max_kb`), from which the memory per open stream follows. The
//! summary is one JSON object on stdout. Loopback only: the tool refuses any other host,
//! and every run is bounded by `--requests` or `--duration`.
//!
//!
//! `--agent` runs agent sessions instead (issue 17): `--concurrency` sessions, each sending
//! `--turns` requests of a tool loop through one wire format (`--api`: chat completions,
//! Anthropic messages, Responses resending the whole input, or Responses continued with
//! `previous_response_id`). Every request declares `--tools` tools (~1.25 KB of schema each);
//! the first user message scripts the fake (`[[call:NAME JSON]]` steps, see
//! crates/qwen-fake/src/tools.rs) to call one tool per turn, and each later turn adds the
//! call the client got back and a tool result of about `--turn-bytes`, so the history grows
//! by that much per turn. Sessions move in lock step, turn by turn, so that between two turns
//! the figures of the processes under test belong to that turn and its history length: the
//! summary has one row per turn with the latencies, serve's CPU (`--pid`, first), its RSS,
//! the database's used bytes (`--db`) and the bytes the fake received for completions
//! (`--fake-url`, its `/__fake/counters` hook). `--capture FILE` (one session) then saves the
//! upstream messages serve sent, and `--target qwen --replay FILE` sends exactly those to a
//! fake directly, continuing the chat turn by turn: the upstream work of the same sessions
//! without serve, the baseline of the added latency.
//!
//! One file on purpose: an example is a single source that `cargo run --example loadgen`
//! builds as it is, and benchmark readers audit what was measured in one place.

// Its report is its output: the summary on stdout, progress and refusals on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// A JWT-shaped token the fake accepts (payload `{"id":"fake-user","exp":4102444800}`).
const FAKE_JWT: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// `qwenctl serve` (OpenAI API).
    Openai,
    /// The fake chat.qwen.ai directly (new chat + streamed completion).
    Qwen,
}

#[derive(Parser, Debug)]
#[command(about = "Load generator for qwenctl benchmarks (loopback only)")]
struct Args {
    /// Base URL, e.g. http://127.0.0.1:3000 (must be a loopback address).
    #[arg(long)]
    url: String,
    /// What the URL serves.
    #[arg(long, value_enum, default_value_t = Target::Openai)]
    target: Target,
    /// Request path for `--target openai`: /v1/chat/completions or /v1/completions.
    #[arg(long, default_value = "/v1/chat/completions")]
    path: String,
    /// Model to ask for.
    #[arg(long, default_value = "qwen3-max")]
    model: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Stop after this many requests in total.
    #[arg(long)]
    requests: Option<u64>,
    /// Stop starting requests after this many seconds (started requests still finish).
    #[arg(long)]
    duration: Option<f64>,
    /// Paced load: start at most this many requests per second in total.
    #[arg(long)]
    rate: Option<f64>,
    /// Ask for a streamed answer (`--target qwen` always streams, as `serve` does upstream).
    #[arg(long)]
    stream: bool,
    /// Requests per conversation for `--target openai` on /v1/chat/completions: each
    /// client resends its history with the answers it got, so `serve` continues the chat.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    turns: u64,
    /// Requests sent one by one before measuring (not counted).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Per-request deadline in seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Processes to sample (CPU seconds, peak RSS) over the measured window; repeatable.
    #[arg(long = "pid")]
    pids: Vec<u32>,
    /// Clock ticks per second of /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Free-form label copied into the summary.
    #[arg(long, default_value = "")]
    label: String,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Agent sessions in lock step instead of independent requests (see the module docs):
    /// `--concurrency` sessions of `--turns` turns each.
    #[arg(long)]
    agent: bool,
    /// The wire format of an agent session.
    #[arg(long, value_enum, default_value_t = Api::Chat)]
    api: Api,
    /// Tools declared by every agent request.
    #[arg(long, default_value_t = 20)]
    tools: usize,
    /// Bytes a tool turn adds to an agent's history (the call and its result).
    #[arg(long, default_value_t = 3000)]
    turn_bytes: usize,
    /// The fake's base URL, to read its request counters after every agent turn.
    #[arg(long)]
    fake_url: Option<String>,
    /// serve's database file, to read its used size after every agent turn.
    #[arg(long)]
    db: Option<std::path::PathBuf>,
    /// After a one-session agent run, save the upstream messages serve sent (from the fake's
    /// request log, `--fake-url`) to this file, for `--target qwen --replay`.
    #[arg(long)]
    capture: Option<std::path::PathBuf>,
    /// With `--target qwen --agent`: the upstream messages to send each session (a
    /// `--capture` file).
    #[arg(long)]
    replay: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Api {
    /// `POST /v1/chat/completions`, the whole history every turn.
    Chat,
    /// `POST /v1/messages` (Anthropic), the whole history every turn.
    Messages,
    /// `POST /v1/responses` with `store: false`, the whole input every turn (Codex).
    Responses,
    /// `POST /v1/responses`, each turn only its tool result and `previous_response_id`.
    ResponsesChained,
}

/// What one request measured.
#[derive(Debug, Default, Clone, Copy)]
struct Sample {
    /// Time to the first body byte of the answer, in microseconds.
    ttfb_us: u64,
    /// Time to the end of the body, in microseconds.
    total_us: u64,
    /// Data events received (streams).
    chunks: u64,
}

/// Why a request did not succeed.
type Failure = &'static str;

/// Everything a worker needs.
struct Shared {
    args: Args,
    http: reqwest::Client,
    started: Instant,
    deadline: Option<Instant>,
    next: AtomicU64,
    stop: AtomicBool,
    serial: AtomicU64,
    /// Answers whose head has arrived and whose body has not ended: the streams open now.
    open: AtomicU64,
}

/// Counts one answer in [`Shared::open`] from its head to the end (or drop) of its body.
struct OpenAnswer<'a>(&'a AtomicU64);

impl<'a> OpenAnswer<'a> {
    fn new(open: &'a AtomicU64) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        OpenAnswer(open)
    }
}

impl Drop for OpenAnswer<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    /// The index of the next request to send, or `None` when the run is over.
    fn ticket(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match self.args.requests {
            Some(max) if n >= max => None,
            _ => Some(n),
        }
    }

    fn prompt(&self) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        format!(
            "Benchmark prompt {n}-{}: please answer",
            self.started.elapsed().as_nanos()
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    if let Some(fake) = &args.fake_url {
        check_loopback(fake)?;
    }
    if !args.agent && args.requests.is_none() && args.duration.is_none() {
        return Err("give --requests or --duration (runs are always bounded)".into());
    }
    if args.capture.is_some() && (args.concurrency != 1 || args.fake_url.is_none()) {
        return Err("--capture needs --concurrency 1 and --fake-url".into());
    }
    if args.agent && args.target == Target::Qwen && args.replay.is_none() {
        return Err("--agent --target qwen needs --replay FILE".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let summary = if args.agent {
        runtime.block_on(agent::run(args))?
    } else {
        runtime.block_on(run(args))?
    };
    println!("{summary}");
    Ok(())
}

/// Refuses anything but 127.0.0.0/8, `localhost` and `[::1]`.
fn check_loopback(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad --url {url}: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let ok = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if ok {
        Ok(())
    } else {
        Err(format!("--url must be a loopback address, got {url}"))
    }
}

async fn run(args: Args) -> Result<Value, Box<dyn std::error::Error>> {
    let concurrency = args.concurrency.max(1);
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs_f64(args.timeout))
        .tcp_nodelay(true)
        .build()?;
    let mut shared = Shared {
        args,
        http,
        started: Instant::now(),
        deadline: None,
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        serial: AtomicU64::new(0),
        open: AtomicU64::new(0),
    };
    for _ in 0..shared.args.warmup {
        let _ = one(&shared, &mut Conversation::default()).await;
    }
    let before: Vec<ProcSample> = shared.args.pids.iter().map(|&p| proc_sample(p)).collect();
    let (machine_before, self_before) = (machine_busy_ticks(), proc_sample(std::process::id()));
    let start = Instant::now();
    shared.started = start;
    shared.deadline = shared
        .args
        .duration
        .map(|s| start + Duration::from_secs_f64(s));
    let shared = Arc::new(shared);

    let sampler = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut peaks: Vec<u64> = vec![0; shared.args.pids.len()];
            // The most answers open at one sample, and the first process's RSS then: the
            // memory an open stream costs is (that RSS - idle) / that count.
            let mut most_open = (0u64, 0u64);
            while !shared.stop.load(Ordering::Relaxed) {
                let open = shared.open.load(Ordering::Relaxed);
                for (i, (peak, &pid)) in peaks.iter_mut().zip(&shared.args.pids).enumerate() {
                    let rss = proc_sample(pid).rss_kb;
                    *peak = (*peak).max(rss);
                    if i == 0 && (open, rss) > most_open {
                        most_open = (open, rss);
                    }
                }
                if shared.args.pids.is_empty() {
                    most_open.0 = most_open.0.max(open);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (peaks, most_open)
        })
    };

    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let shared = shared.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
            let mut conversation = Conversation::default();
            while let Some(n) = shared.ticket() {
                if let Some(rate) = shared.args.rate {
                    let at = start + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                match one(&shared, &mut conversation).await {
                    Ok(sample) => samples.push(sample),
                    Err(why) => *failures.entry(why).or_default() += 1,
                }
            }
            (samples, failures)
        }));
    }
    let mut samples = Vec::new();
    let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
    for worker in workers {
        let (s, f) = worker.await?;
        samples.extend(s);
        for (k, v) in f {
            *failures.entry(k).or_default() += v;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    shared.stop.store(true, Ordering::Relaxed);
    let (peaks, (open_max, rss_at_open_max)) = sampler.await?;
    let after: Vec<ProcSample> = shared.args.pids.iter().map(|&p| proc_sample(p)).collect();
    let (machine_after, self_after) = (machine_busy_ticks(), proc_sample(std::process::id()));

    let args = &shared.args;
    let ok = samples.len() as u64;
    let errors: u64 = failures.values().sum();
    let chunks: u64 = samples.iter().map(|s| s.chunks).sum();
    let mut ttfb: Vec<u64> = samples.iter().map(|s| s.ttfb_us).collect();
    let mut total: Vec<u64> = samples.iter().map(|s| s.total_us).collect();
    let processes: Vec<Value> = args
        .pids
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            let ticks = after[i].cpu_ticks.saturating_sub(before[i].cpu_ticks);
            let cpu_s = ticks as f64 / args.clk_tck.max(1) as f64;
            json!({
                "pid": pid,
                "cpu_s": cpu_s,
                "cpu_s_per_1000_requests": if ok + errors > 0 { cpu_s * 1000.0 / (ok + errors) as f64 } else { 0.0 },
                "requests_per_cpu_s": if cpu_s > 0.0 { ok as f64 / cpu_s } else { 0.0 },
                "rss_start_kb": before[i].rss_kb,
                "rss_peak_kb": peaks[i].max(after[i].rss_kb),
                "rss_end_kb": after[i].rss_kb,
                "hwm_kb": after[i].hwm_kb,
            })
        })
        .collect();
    // CPU the whole machine spent, and how much of it was neither the sampled processes nor
    // this load generator: other work on a shared machine that competed with the run.
    let tick = args.clk_tck.max(1) as f64;
    let busy_s = machine_after.saturating_sub(machine_before) as f64 / tick;
    let self_s = self_after.cpu_ticks.saturating_sub(self_before.cpu_ticks) as f64 / tick;
    let sampled_s: f64 = args
        .pids
        .iter()
        .enumerate()
        .map(|(i, _)| after[i].cpu_ticks.saturating_sub(before[i].cpu_ticks) as f64 / tick)
        .sum();
    let machine = json!({
        "busy_cores": busy_s / elapsed,
        "loadgen_cores": self_s / elapsed,
        "other_cores": ((busy_s - self_s - sampled_s) / elapsed).max(0.0),
    });
    Ok(json!({
        "label": args.label,
        "target": match args.target { Target::Openai => "openai", Target::Qwen => "qwen" },
        "path": args.path,
        "stream": args.stream || args.target == Target::Qwen,
        "concurrency": concurrency,
        "rate": args.rate,
        "elapsed_s": elapsed,
        "requests_ok": ok,
        "errors": errors,
        "error_kinds": failures,
        "requests_per_s": ok as f64 / elapsed,
        "chunks": chunks,
        "chunks_per_s": chunks as f64 / elapsed,
        "ttfb_ms": stats(&mut ttfb),
        "total_ms": stats(&mut total),
        "processes": processes,
        "machine": machine,
        "open_answers_max": open_max,
        "rss_at_open_answers_max_kb": rss_at_open_max,
    }))
}

fn stats(us: &mut [u64]) -> Value {
    if us.is_empty() {
        return json!(null);
    }
    us.sort_unstable();
    let pct = |p: f64| {
        // Nearest rank.
        let rank = ((p / 100.0) * us.len() as f64).ceil() as usize;
        us[rank.clamp(1, us.len()) - 1] as f64 / 1000.0
    };
    let mean = us.iter().sum::<u64>() as f64 / us.len() as f64 / 1000.0;
    json!({
        "p50": pct(50.0), "p90": pct(90.0), "p99": pct(99.0),
        "max": *us.last().unwrap_or(&0) as f64 / 1000.0, "mean": mean,
    })
}

/// One client's chat so far: the messages to resend, and how many turns it has had.
#[derive(Default)]
struct Conversation {
    messages: Vec<Value>,
    turns: u64,
}

/// One request of the configured kind.
async fn one(shared: &Shared, conversation: &mut Conversation) -> Result<Sample, Failure> {
    match shared.args.target {
        Target::Openai => openai(shared, conversation).await,
        Target::Qwen => qwen(shared).await,
    }
}

async fn openai(shared: &Shared, conversation: &mut Conversation) -> Result<Sample, Failure> {
    let args = &shared.args;
    let prompt = shared.prompt();
    let chat = args.path.ends_with("/chat/completions");
    if conversation.turns >= args.turns {
        *conversation = Conversation::default();
    }
    // The answer is only needed to continue the conversation.
    let keep = chat && args.turns > 1;
    let result = if keep {
        conversation
            .messages
            .push(json!({"role": "user", "content": prompt}));
        let body = json!({"model": args.model, "stream": args.stream,
                          "messages": conversation.messages});
        openai_request(shared, &body, true).await
    } else {
        let body = if chat {
            json!({"model": args.model, "stream": args.stream,
                   "messages": [{"role": "user", "content": prompt}]})
        } else {
            json!({"model": args.model, "stream": args.stream, "prompt": prompt})
        };
        openai_request(shared, &body, false).await
    };
    match result {
        Ok((sample, answer)) if keep => {
            conversation
                .messages
                .push(json!({"role": "assistant", "content": answer}));
            conversation.turns += 1;
            Ok(sample)
        }
        Ok((sample, _)) => Ok(sample),
        Err(why) => {
            // Start over rather than continue from a history the server did not answer.
            *conversation = Conversation::default();
            Err(why)
        }
    }
}

/// Sends one OpenAI request; with `answer`, also returns the answer's text (else "").
async fn openai_request(
    shared: &Shared,
    body: &Value,
    answer: bool,
) -> Result<(Sample, String), Failure> {
    let args = &shared.args;
    let start = Instant::now();
    let resp = shared
        .http
        .post(format!("{}{}", args.url, args.path))
        .json(body)
        .send()
        .await
        .map_err(transport)?;
    if !resp.status().is_success() {
        return Err(status_kind(resp.status().as_u16()));
    }
    let _open = OpenAnswer::new(&shared.open);
    if args.stream {
        let mut scan = SseScan::default();
        // Whole bodies are kept only when the answer is needed (short conversations).
        let mut text = Vec::new();
        let (ttfb, total) = read_body(resp, start, |chunk| {
            scan.push(chunk);
            if answer {
                text.extend_from_slice(chunk);
            }
        })
        .await?;
        if scan.errors > 0 {
            return Err("sse_error_event");
        }
        if !scan.done {
            return Err("stream_without_done");
        }
        let sample = Sample {
            ttfb_us: ttfb,
            total_us: total,
            chunks: scan.events,
        };
        Ok((sample, streamed_answer(&text)))
    } else {
        let mut body = Vec::new();
        let (ttfb, total) = read_body(resp, start, |c| body.extend_from_slice(c)).await?;
        let value: Value = serde_json::from_slice(&body).map_err(|_| "bad_json")?;
        let Some(choice) = value.pointer("/choices/0") else {
            return Err("no_choices");
        };
        let sample = Sample {
            ttfb_us: ttfb,
            total_us: total,
            chunks: 0,
        };
        let text = choice.pointer("/message/content").and_then(Value::as_str);
        Ok((sample, text.unwrap_or_default().to_owned()))
    }
}

/// The concatenated `choices[0].delta.content` of an OpenAI SSE body.
fn streamed_answer(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .filter_map(|event| {
            let content = event.pointer("/choices/0/delta/content")?.as_str()?;
            Some(content.to_owned())
        })
        .collect()
}

/// What `serve` does upstream for a new conversation: open a chat, stream one completion.
async fn qwen(shared: &Shared) -> Result<Sample, Failure> {
    let args = &shared.args;
    let prompt = shared.prompt();
    let auth = format!("Bearer {FAKE_JWT}");
    let start = Instant::now();
    let chat_id = new_chat(&shared.http, &args.url, &args.model, &auth).await?;
    let body = qwenctl::qwen::completion_body(&qwenctl::qwen::CompletionRequest {
        chat_id: chat_id.clone(),
        parent_id: None,
        model: args.model.clone(),
        content: prompt,
        thinking: false,
        chat_type: qwenctl::qwen::ChatType::Text,
    });
    let resp = shared
        .http
        .post(format!(
            "{}/api/v2/chat/completions?chat_id={chat_id}",
            args.url
        ))
        .header("authorization", &auth)
        .json(&body)
        .send()
        .await
        .map_err(transport)?;
    if !resp.status().is_success() {
        return Err(status_kind(resp.status().as_u16()));
    }
    let _open = OpenAnswer::new(&shared.open);
    let mut scan = SseScan::default();
    let (ttfb, total) = read_body(resp, start, |chunk| scan.push(chunk)).await?;
    if !scan.finished {
        return Err("stream_without_finish");
    }
    Ok(Sample {
        ttfb_us: ttfb,
        total_us: total,
        chunks: scan.events,
    })
}

/// Reads a body to its end; returns (time to first byte, total) in microseconds.
async fn read_body(
    resp: reqwest::Response,
    start: Instant,
    mut on_chunk: impl FnMut(&[u8]),
) -> Result<(u64, u64), Failure> {
    let mut body = resp.bytes_stream();
    let mut ttfb = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(transport)?;
        if ttfb.is_none() && !chunk.is_empty() {
            ttfb = Some(micros(start));
        }
        on_chunk(&chunk);
    }
    let total = micros(start);
    Ok((ttfb.unwrap_or(total), total))
}

fn micros(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Opens a chat on the fake as `serve` does (`POST /api/v2/chats/new`); its id.
async fn new_chat(
    http: &reqwest::Client,
    url: &str,
    model: &str,
    auth: &str,
) -> Result<String, Failure> {
    let resp = http
        .post(format!("{url}/api/v2/chats/new"))
        .header("authorization", auth)
        .json(
            &json!({"title": "New Chat", "models": [model], "chat_mode": "normal",
                      "chat_type": "t2t", "timestamp": 0}),
        )
        .send()
        .await
        .map_err(transport)?;
    if !resp.status().is_success() {
        return Err(status_kind(resp.status().as_u16()));
    }
    let reply: Value = resp.json().await.map_err(|_| "bad_json")?;
    reply
        .pointer("/data/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or("no_chat_id")
}

fn transport(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else if err.is_body() || err.is_decode() {
        "body"
    } else {
        "transport"
    }
}

fn status_kind(status: u16) -> Failure {
    match status {
        400..=499 => "http_4xx",
        500..=599 => "http_5xx",
        _ => "http_other",
    }
}

/// An incremental SSE scanner that keeps only the first bytes of each event: enough to
/// count data events, spot `[DONE]`, error events and the upstream's `finished` status,
/// without buffering whole bodies.
#[derive(Default)]
struct SseScan {
    head: Vec<u8>,
    /// The last byte seen was a newline (an empty line ends an event).
    newline: bool,
    /// Tail of the previous chunk, to find `finished` across chunk boundaries.
    tail: Vec<u8>,
    events: u64,
    errors: u64,
    done: bool,
    finished: bool,
}

const HEAD: usize = 16;

impl SseScan {
    fn push(&mut self, chunk: &[u8]) {
        if !self.finished {
            let mut window = std::mem::take(&mut self.tail);
            window.extend_from_slice(chunk);
            if window
                .windows(b"\"finished\"".len())
                .any(|w| w == b"\"finished\"")
            {
                self.finished = true;
            }
            let keep = window.len().saturating_sub(b"\"finished\"".len());
            self.tail = window.split_off(keep);
        }
        for &b in chunk {
            if b == b'\n' && self.newline {
                self.end_event();
                self.newline = false;
                continue;
            }
            self.newline = b == b'\n';
            if self.head.len() < HEAD {
                self.head.push(b);
            }
        }
    }

    fn end_event(&mut self) {
        let head = std::mem::take(&mut self.head);
        if let Some(data) = head.strip_prefix(b"data:") {
            let data = data.strip_prefix(b" ").unwrap_or(data);
            if data.starts_with(b"[DONE]") {
                self.done = true;
            } else if data.starts_with(b"{\"error\"") {
                self.errors += 1;
            } else {
                self.events += 1;
            }
        }
    }
}

/// Busy CPU ticks of the whole machine (all cores) from the first line of /proc/stat:
/// user, nice, system, irq, softirq and steal.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else {
        return 0;
    };
    let fields: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum()
}

/// CPU time and memory of one process, from /proc.
#[derive(Debug, Default, Clone, Copy)]
struct ProcSample {
    cpu_ticks: u64,
    rss_kb: u64,
    hwm_kb: u64,
}

fn proc_sample(pid: u32) -> ProcSample {
    let mut sample = ProcSample::default();
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
            sample.cpu_ticks = get(11).unwrap_or(0) + get(12).unwrap_or(0);
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kb = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                sample.rss_kb = kb(line);
            } else if line.starts_with("VmHWM:") {
                sample.hwm_kb = kb(line);
            }
        }
    }
    sample
}

/// Agent sessions in lock step (`--agent`, see the module docs).
mod agent {
    use super::*;

    const SYSTEM: &str = "You are a coding agent. Work in small steps and use the tools.";
    const TASK: &str = "Refactor the parser and run the tests.";
    const COMPLETIONS: &str = "/api/v2/chat/completions";
    const NEW_CHAT: &str = "/api/v2/chats/new";

    /// What one agent run shares.
    struct Agent {
        args: Args,
        http: reqwest::Client,
        /// The declared tools in the wire format's shape, as JSON text.
        tools: String,
        /// What makes this run's sessions unlike any earlier run's (its start time).
        nonce: u128,
        /// Turns per session.
        turns: usize,
        /// `--replay`: the upstream messages to send, in order.
        replay: Vec<Replayed>,
    }

    /// One upstream message of a captured session.
    #[derive(Clone)]
    struct Replayed {
        content: String,
        /// serve opened a new chat for it.
        new_chat: bool,
    }

    /// One session's conversation so far.
    #[derive(Default)]
    struct Session {
        /// Its number in the run, which makes its history unlike the other sessions'.
        index: usize,
        /// The history's items, serialized and comma-joined (the inside of a JSON array), so
        /// a turn appends instead of serializing the whole history again.
        items: String,
        /// Responses continued by id: the last response's id, and the items of the next turn.
        previous: Option<String>,
        next_items: String,
        /// The fake directly: the chat and the answer to continue.
        chat_id: Option<String>,
        parent: Option<String>,
        failed: bool,
    }

    /// One call of an answer.
    struct Call {
        id: String,
        name: String,
        arguments: String,
    }

    /// What one turn of one session measured.
    struct TurnSample {
        ttfb_us: u64,
        total_us: u64,
        request_bytes: usize,
    }

    /// The counters sampled after each turn.
    #[derive(Default, Clone, Copy)]
    struct Counters {
        completions: u64,
        completion_bytes: u64,
        new_chats: u64,
    }

    pub(super) async fn run(args: Args) -> Result<Value, Box<dyn std::error::Error>> {
        let sessions = args.concurrency.max(1);
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(sessions)
            .timeout(Duration::from_secs_f64(args.timeout))
            .tcp_nodelay(true)
            .build()?;
        let replay = match &args.replay {
            Some(path) => read_replay(path)?,
            None => Vec::new(),
        };
        let turns = match args.target {
            Target::Qwen => (args.turns as usize).min(replay.len()),
            Target::Openai => args.turns as usize,
        };
        let agent = Arc::new(Agent {
            tools: tools_json(args.api, args.tools),
            nonce: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            turns,
            args,
            http,
            replay,
        });
        let db = agent.args.db.as_deref().map(Database::open);
        let mut states: Vec<Session> = (0..sessions)
            .map(|index| Session {
                index,
                ..Session::default()
            })
            .collect();
        let pids = agent.args.pids.clone();
        let before: Vec<ProcSample> = pids.iter().map(|&p| proc_sample(p)).collect();
        let (machine_before, self_before) = (machine_busy_ticks(), proc_sample(std::process::id()));
        let mut counters = fake_counters(&agent).await;
        let mut used = db.as_ref().and_then(Database::used_bytes);
        let mut last = before.clone();
        let start = Instant::now();
        let mut rounds = Vec::with_capacity(turns);
        let mut all_total = Vec::new();
        let mut all_ttfb = Vec::new();
        let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
        for turn in 0..turns {
            let mut tasks = Vec::with_capacity(sessions);
            for mut session in states.drain(..) {
                let agent = agent.clone();
                tasks.push(tokio::spawn(async move {
                    if session.failed {
                        return (session, None);
                    }
                    let result = match agent.args.target {
                        Target::Openai => turn_through_serve(&agent, &mut session, turn).await,
                        Target::Qwen => turn_direct(&agent, &mut session, turn).await,
                    };
                    if result.is_err() {
                        session.failed = true;
                    }
                    (session, Some(result))
                }));
            }
            let mut total = Vec::with_capacity(sessions);
            let mut ttfb = Vec::with_capacity(sessions);
            let mut request_bytes = 0;
            let mut errors = 0;
            for task in tasks {
                let (session, result) = task.await?;
                states.push(session);
                match result {
                    Some(Ok(sample)) => {
                        total.push(sample.total_us);
                        ttfb.push(sample.ttfb_us);
                        request_bytes += sample.request_bytes;
                    }
                    Some(Err(why)) => {
                        errors += 1;
                        *failures.entry(why).or_default() += 1;
                    }
                    None => {}
                }
            }
            let now: Vec<ProcSample> = pids.iter().map(|&p| proc_sample(p)).collect();
            let counted = fake_counters(&agent).await;
            let used_now = db.as_ref().and_then(Database::used_bytes);
            let ok = total.len();
            all_total.extend_from_slice(&total);
            all_ttfb.extend_from_slice(&ttfb);
            let (total_ms, ttfb_ms) = (stats(&mut total), stats(&mut ttfb));
            rounds.push(json!({
                "turn": turn + 1,
                "ok": ok,
                "errors": errors,
                "request_bytes": request_bytes.checked_div(ok).unwrap_or(0),
                "total_ms": total_ms,
                "ttfb_ms": ttfb_ms,
                // Every session's time, sorted, for percentiles over several turns.
                "total_us": total,
                "cpu_ticks": now.iter().zip(&last).map(|(a, b)| a.cpu_ticks.saturating_sub(b.cpu_ticks)).collect::<Vec<_>>(),
                "rss_kb": now.iter().map(|s| s.rss_kb).collect::<Vec<_>>(),
                "db_used_bytes": used_now,
                "db_growth_bytes": match (used, used_now) { (Some(a), Some(b)) => Some(b as i64 - a as i64), _ => None },
                "upstream_completions": counted.map(|c| c.completions - counters.map_or(0, |p| p.completions)),
                "upstream_bytes": counted.map(|c| c.completion_bytes - counters.map_or(0, |p| p.completion_bytes)),
                "upstream_new_chats": counted.map(|c| c.new_chats - counters.map_or(0, |p| p.new_chats)),
            }));
            last = now;
            counters = counted;
            used = used_now;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let after: Vec<ProcSample> = pids.iter().map(|&p| proc_sample(p)).collect();
        let (machine_after, self_after) = (machine_busy_ticks(), proc_sample(std::process::id()));
        if let Some(path) = &agent.args.capture {
            capture(&agent, path).await?;
        }
        let args = &agent.args;
        let tick = args.clk_tck.max(1) as f64;
        let ok = all_total.len() as u64;
        let processes: Vec<Value> = pids
            .iter()
            .enumerate()
            .map(|(i, pid)| {
                let cpu_s = after[i].cpu_ticks.saturating_sub(before[i].cpu_ticks) as f64 / tick;
                json!({
                    "pid": pid,
                    "cpu_s": cpu_s,
                    "cpu_ms_per_turn": if ok > 0 { cpu_s * 1000.0 / ok as f64 } else { 0.0 },
                    "rss_start_kb": before[i].rss_kb,
                    "rss_end_kb": after[i].rss_kb,
                    "hwm_kb": after[i].hwm_kb,
                })
            })
            .collect();
        let busy_s = machine_after.saturating_sub(machine_before) as f64 / tick;
        let self_s = self_after.cpu_ticks.saturating_sub(self_before.cpu_ticks) as f64 / tick;
        let sampled_s: f64 = pids
            .iter()
            .enumerate()
            .map(|(i, _)| after[i].cpu_ticks.saturating_sub(before[i].cpu_ticks) as f64 / tick)
            .sum();
        Ok(json!({
            "label": args.label,
            "mode": "agent",
            "target": match args.target { Target::Openai => "openai", Target::Qwen => "qwen" },
            "api": args.api.to_possible_value().map(|v| v.get_name().to_owned()),
            "stream": args.stream || args.target == Target::Qwen,
            "sessions": sessions,
            "turns": turns,
            "tools": args.tools,
            "turn_bytes": args.turn_bytes,
            "elapsed_s": elapsed,
            "turns_ok": ok,
            "errors": failures.values().sum::<u64>(),
            "error_kinds": failures,
            "total_ms": stats(&mut all_total),
            "ttfb_ms": stats(&mut all_ttfb),
            "clk_tck": args.clk_tck,
            "processes": processes,
            "machine": {
                "busy_cores": busy_s / elapsed,
                "loadgen_cores": self_s / elapsed,
                "other_cores": ((busy_s - self_s - sampled_s) / elapsed).max(0.0),
            },
            "rounds": rounds,
        }))
    }

    /// The tools in the wire format's shape: 8 parameters each, ~1.25 KB of schema.
    fn tools_json(api: Api, count: usize) -> String {
        let tools: Vec<Value> = (0..count)
            .map(|i| {
                let properties: serde_json::Map<String, Value> = (0..8)
                    .map(|p| {
                        (
                            format!("param_{p}"),
                            json!({
                                "type": if p % 2 == 0 { "string" } else { "integer" },
                                "description": format!("Parameter {p} of tool {i}: what it means, its unit, and an example of a sensible value."),
                            }),
                        )
                    })
                    .collect();
                let name = format!("tool_{i}");
                let description = format!("Tool number {i}. Reads, edits or runs something in the workspace and reports what happened.");
                let schema = json!({"type": "object", "properties": properties, "required": ["param_0"]});
                match api {
                    Api::Chat => json!({"type": "function", "function": {"name": name, "description": description, "parameters": schema}}),
                    Api::Messages => json!({"name": name, "description": description, "input_schema": schema}),
                    Api::Responses | Api::ResponsesChained => json!({"type": "function", "name": name, "description": description, "parameters": schema}),
                }
            })
            .collect();
        Value::Array(tools).to_string()
    }

    /// The arguments the fake is scripted to call turn `t`'s tool with.
    fn arguments(t: usize) -> Value {
        json!({"param_0": format!("src/file_{t}.rs"), "param_1": t})
    }

    fn tool_name(t: usize, tools: usize) -> String {
        format!("tool_{}", t % tools.max(1))
    }

    /// The first user message: the task, named after the session (so that no two sessions,
    /// of this run or an earlier one, share a history) and one `[[call:…]]` step per turn
    /// (crates/qwen-fake/src/tools.rs).
    fn script(agent: &Agent, session: usize) -> String {
        let tools = agent.args.tools;
        let steps: Vec<String> = (0..agent.turns)
            .map(|t| format!("[[call:{} {}]]", tool_name(t, tools), arguments(t)))
            .collect();
        format!(
            "{TASK} (Session {session} of run {}.)\n{}",
            agent.nonce,
            steps.join("[[then]]")
        )
    }

    /// Turn `t`'s tool result: lines of text to make the turn about `turn_bytes` long.
    fn result_text(t: usize, turn_bytes: usize) -> String {
        let line =
            format!("line {t}: some output of the tool, as a build or a test run prints it\n");
        line.repeat(turn_bytes.saturating_sub(250) / (line.len() + 1))
    }

    fn push_item(items: &mut String, item: &Value) {
        if !items.is_empty() {
            items.push(',');
        }
        items.push_str(&item.to_string());
    }

    /// The body of turn `turn` of `session` through serve.
    fn body(agent: &Agent, session: &mut Session, turn: usize) -> String {
        let args = &agent.args;
        let model = Value::from(args.model.as_str());
        let stream = args.stream;
        let system = Value::from(SYSTEM);
        if turn == 0 {
            let script = Value::from(script(agent, session.index));
            match args.api {
                Api::Chat => {
                    push_item(
                        &mut session.items,
                        &json!({"role": "system", "content": system}),
                    );
                    push_item(
                        &mut session.items,
                        &json!({"role": "user", "content": script}),
                    );
                }
                Api::Messages => push_item(
                    &mut session.items,
                    &json!({"role": "user", "content": [{"type": "text", "text": script}]}),
                ),
                Api::Responses | Api::ResponsesChained => push_item(
                    &mut session.items,
                    &json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": script}]}),
                ),
            }
        }
        let tools = &agent.tools;
        let items = &session.items;
        match args.api {
            Api::Chat => format!(
                "{{\"model\":{model},\"stream\":{stream},\"messages\":[{items}],\"tools\":{tools}}}"
            ),
            Api::Messages => format!(
                "{{\"model\":{model},\"max_tokens\":8192,\"stream\":{stream},\"system\":{system},\"messages\":[{items}],\"tools\":{tools}}}"
            ),
            Api::Responses => format!(
                "{{\"model\":{model},\"stream\":{stream},\"store\":false,\"instructions\":{system},\"input\":[{items}],\"tools\":{tools}}}"
            ),
            Api::ResponsesChained => match &session.previous {
                None => format!(
                    "{{\"model\":{model},\"stream\":{stream},\"instructions\":{system},\"input\":[{items}],\"tools\":{tools}}}"
                ),
                Some(previous) => {
                    let previous = Value::from(previous.as_str());
                    let next = &session.next_items;
                    format!(
                        "{{\"model\":{model},\"stream\":{stream},\"instructions\":{system},\"previous_response_id\":{previous},\"input\":[{next}],\"tools\":{tools}}}"
                    )
                }
            },
        }
    }

    /// One turn of `session` through serve: the request, the answer's one call checked
    /// against the script, and the call and its result added to the history.
    async fn turn_through_serve(
        agent: &Agent,
        session: &mut Session,
        turn: usize,
    ) -> Result<TurnSample, Failure> {
        let args = &agent.args;
        let body = body(agent, session, turn);
        let path = match args.api {
            Api::Chat => "/v1/chat/completions",
            Api::Messages => "/v1/messages",
            Api::Responses | Api::ResponsesChained => "/v1/responses",
        };
        let request_bytes = body.len();
        let start = Instant::now();
        let resp = agent
            .http
            .post(format!("{}{path}", args.url))
            .header("content-type", "application/json")
            .header("anthropic-version", "2023-06-01")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(status_kind(resp.status().as_u16()));
        }
        let mut answer = Vec::new();
        let (ttfb_us, total_us) = read_body(resp, start, |c| answer.extend_from_slice(c)).await?;
        let (calls, response_id) = if args.stream {
            streamed_calls(args.api, &answer)?
        } else {
            let value: Value = serde_json::from_slice(&answer).map_err(|_| "bad_json")?;
            json_calls(args.api, &value)?
        };
        let [call] = calls.as_slice() else {
            return Err("not_one_call");
        };
        let arguments: Value =
            serde_json::from_str(&call.arguments).map_err(|_| "bad_arguments")?;
        if call.name != tool_name(turn, args.tools) || arguments != self::arguments(turn) {
            return Err("unexpected_call");
        }
        let result = result_text(turn, args.turn_bytes);
        let (id, name) = (call.id.as_str(), call.name.as_str());
        match args.api {
            Api::Chat => {
                push_item(
                    &mut session.items,
                    &json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": id, "type": "function", "function": {"name": name, "arguments": call.arguments}}]}),
                );
                push_item(
                    &mut session.items,
                    &json!({"role": "tool", "tool_call_id": id, "content": result}),
                );
            }
            Api::Messages => {
                push_item(
                    &mut session.items,
                    &json!({"role": "assistant", "content": [
                    {"type": "tool_use", "id": id, "name": name, "input": arguments}]}),
                );
                push_item(
                    &mut session.items,
                    &json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": id, "content": result}]}),
                );
            }
            Api::Responses => {
                push_item(
                    &mut session.items,
                    &json!({"type": "function_call", "call_id": id, "name": name, "arguments": call.arguments}),
                );
                push_item(
                    &mut session.items,
                    &json!({"type": "function_call_output", "call_id": id, "output": result}),
                );
            }
            Api::ResponsesChained => {
                session.previous = Some(response_id.ok_or("no_response_id")?);
                session.next_items.clear();
                push_item(
                    &mut session.next_items,
                    &json!({"type": "function_call_output", "call_id": id, "output": result}),
                );
            }
        }
        Ok(TurnSample {
            ttfb_us,
            total_us,
            request_bytes,
        })
    }

    /// The calls (and the Responses id) of a JSON answer.
    fn json_calls(api: Api, value: &Value) -> Result<(Vec<Call>, Option<String>), Failure> {
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let calls = match api {
            Api::Chat => value
                .pointer("/choices/0/message/tool_calls")
                .and_then(Value::as_array)
                .ok_or("no_tool_calls")?
                .iter()
                .map(|c| Call {
                    id: text(c, "id"),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect(),
            Api::Messages => value
                .get("content")
                .and_then(Value::as_array)
                .ok_or("no_content")?
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| Call {
                    id: text(b, "id"),
                    name: text(b, "name"),
                    arguments: b["input"].to_string(),
                })
                .collect(),
            Api::Responses | Api::ResponsesChained => value
                .get("output")
                .and_then(Value::as_array)
                .ok_or("no_output")?
                .iter()
                .filter(|item| item["type"] == "function_call")
                .map(|item| Call {
                    id: text(item, "call_id"),
                    name: text(item, "name"),
                    arguments: text(item, "arguments"),
                })
                .collect(),
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        Ok((calls, id))
    }

    /// The calls (and the Responses id) of a streamed answer, read the way each format's
    /// clients assemble them.
    fn streamed_calls(api: Api, body: &[u8]) -> Result<(Vec<Call>, Option<String>), Failure> {
        let text = String::from_utf8_lossy(body);
        let events: Vec<Value> = text
            .split("\n\n")
            .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data:")))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .collect();
        if events
            .iter()
            .any(|e| e.get("error").is_some_and(|v| !v.is_null()))
        {
            return Err("sse_error_event");
        }
        match api {
            Api::Chat => {
                if !text.contains("data: [DONE]") {
                    return Err("stream_without_done");
                }
                let mut calls: BTreeMap<u64, Call> = BTreeMap::new();
                for event in &events {
                    let deltas = event
                        .pointer("/choices/0/delta/tool_calls")
                        .and_then(Value::as_array);
                    for delta in deltas.into_iter().flatten() {
                        let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let call = calls.entry(index).or_insert_with(|| Call {
                            id: String::new(),
                            name: String::new(),
                            arguments: String::new(),
                        });
                        if let Some(id) = delta.get("id").and_then(Value::as_str) {
                            call.id = id.to_owned();
                        }
                        if let Some(name) = delta.pointer("/function/name").and_then(Value::as_str)
                        {
                            call.name = name.to_owned();
                        }
                        if let Some(more) =
                            delta.pointer("/function/arguments").and_then(Value::as_str)
                        {
                            call.arguments.push_str(more);
                        }
                    }
                }
                Ok((calls.into_values().collect(), None))
            }
            Api::Messages => {
                if !events.iter().any(|e| e["type"] == "message_stop") {
                    return Err("stream_without_stop");
                }
                let mut blocks: BTreeMap<u64, Call> = BTreeMap::new();
                for event in &events {
                    let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
                    match event["type"].as_str() {
                        Some("content_block_start")
                            if event["content_block"]["type"] == "tool_use" =>
                        {
                            let block = &event["content_block"];
                            blocks.insert(
                                index,
                                Call {
                                    id: block["id"].as_str().unwrap_or_default().to_owned(),
                                    name: block["name"].as_str().unwrap_or_default().to_owned(),
                                    arguments: String::new(),
                                },
                            );
                        }
                        Some("content_block_delta")
                            if event["delta"]["type"] == "input_json_delta" =>
                        {
                            if let Some(call) = blocks.get_mut(&index) {
                                call.arguments.push_str(
                                    event["delta"]["partial_json"].as_str().unwrap_or_default(),
                                );
                            }
                        }
                        _ => {}
                    }
                }
                Ok((blocks.into_values().collect(), None))
            }
            Api::Responses | Api::ResponsesChained => {
                let done = events
                    .iter()
                    .find(|e| e["type"] == "response.completed")
                    .ok_or("stream_without_completed")?;
                json_calls(api, &done["response"])
            }
        }
    }

    /// One turn straight to the fake: the captured upstream message of this turn, in a new
    /// chat when serve opened one, else continuing the last answer.
    async fn turn_direct(
        agent: &Agent,
        session: &mut Session,
        turn: usize,
    ) -> Result<TurnSample, Failure> {
        let args = &agent.args;
        let replayed = agent.replay.get(turn).ok_or("no_replay")?;
        let auth = format!("Bearer {FAKE_JWT}");
        let start = Instant::now();
        if turn == 0 || replayed.new_chat || session.chat_id.is_none() {
            let id = super::new_chat(&agent.http, &args.url, &args.model, &auth).await?;
            session.chat_id = Some(id);
            session.parent = None;
        }
        let chat_id = session.chat_id.clone().unwrap_or_default();
        let body = qwenctl::qwen::completion_body(&qwenctl::qwen::CompletionRequest {
            chat_id: chat_id.clone(),
            parent_id: session.parent.clone(),
            model: args.model.clone(),
            content: replayed.content.clone(),
            thinking: false,
            chat_type: qwenctl::qwen::ChatType::Text,
        });
        let body = body.to_string();
        let request_bytes = body.len();
        let resp = agent
            .http
            .post(format!("{}{COMPLETIONS}?chat_id={chat_id}", args.url))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(status_kind(resp.status().as_u16()));
        }
        let mut answer = Vec::new();
        let (ttfb_us, total_us) = read_body(resp, start, |c| answer.extend_from_slice(c)).await?;
        let text = String::from_utf8_lossy(&answer);
        let mut response_id = None;
        let mut finished = false;
        for data in text.lines().filter_map(|l| l.strip_prefix("data:")) {
            let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            if let Some(id) = event
                .pointer("/response.created/response_id")
                .and_then(Value::as_str)
            {
                response_id = Some(id.to_owned());
            }
            if event
                .pointer("/choices/0/delta/status")
                .and_then(Value::as_str)
                == Some("finished")
            {
                finished = true;
            }
        }
        if !finished {
            return Err("stream_without_finish");
        }
        session.parent = Some(response_id.ok_or("no_response_id")?);
        Ok(TurnSample {
            ttfb_us,
            total_us,
            request_bytes,
        })
    }

    /// The fake's counters of completions and new chats (`/__fake/counters`).
    async fn fake_counters(agent: &Agent) -> Option<Counters> {
        let url = agent.args.fake_url.as_deref()?;
        let value: Value = agent
            .http
            .get(format!("{url}/__fake/counters"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let num = |route: &str, key: &str| value[route][key].as_u64().unwrap_or(0);
        Some(Counters {
            completions: num(COMPLETIONS, "requests"),
            completion_bytes: num(COMPLETIONS, "body_bytes"),
            new_chats: num(NEW_CHAT, "requests"),
        })
    }

    /// Saves the upstream messages of the run (one session) from the fake's request log.
    async fn capture(
        agent: &Agent,
        path: &std::path::Path,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let url = agent
            .args
            .fake_url
            .as_deref()
            .ok_or("--capture needs --fake-url")?;
        let requests: Value = agent
            .http
            .get(format!("{url}/__fake/requests"))
            .send()
            .await?
            .json()
            .await?;
        let turns: Vec<Value> = requests
            .as_array()
            .ok_or("the fake's request log is not a list")?
            .iter()
            .filter(|r| r["path"] == COMPLETIONS)
            .map(|r| {
                json!({
                    "content": r["body"]["messages"][0]["content"],
                    "new_chat": r["body"]["parent_id"].is_null(),
                })
            })
            .collect();
        if turns.iter().any(|t| !t["content"].is_string()) {
            return Err(
                "the fake did not keep every upstream message (its request log is bounded)".into(),
            );
        }
        std::fs::write(path, Value::Array(turns).to_string())?;
        Ok(())
    }

    fn read_replay(path: &std::path::Path) -> Result<Vec<Replayed>, Box<dyn std::error::Error>> {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let items = value.as_array().ok_or("a replay file is a JSON list")?;
        Ok(items
            .iter()
            .map(|item| Replayed {
                content: item["content"].as_str().unwrap_or_default().to_owned(),
                new_chat: item["new_chat"].as_bool().unwrap_or(false),
            })
            .collect())
    }

    /// serve's database, read-only: its used size (pages in use, from the WAL's view).
    struct Database(Option<rusqlite::Connection>);

    impl Database {
        fn open(path: &std::path::Path) -> Database {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Database(rusqlite::Connection::open_with_flags(path, flags).ok())
        }

        fn used_bytes(&self) -> Option<u64> {
            let conn = self.0.as_ref()?;
            let pragma = |name: &str| -> Option<u64> {
                conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
                    .ok()
                    .map(|n| n.max(0) as u64)
            };
            Some((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
        }
    }
}
