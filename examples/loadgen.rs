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
//! over the measured window. The summary is one JSON object on stdout. Loopback only: the
//! tool refuses any other host, and every run is bounded by `--requests` or `--duration`.
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
    if args.requests.is_none() && args.duration.is_none() {
        return Err("give --requests or --duration (runs are always bounded)".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let summary = runtime.block_on(run(args))?;
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
            while !shared.stop.load(Ordering::Relaxed) {
                for (peak, &pid) in peaks.iter_mut().zip(&shared.args.pids) {
                    *peak = (*peak).max(proc_sample(pid).rss_kb);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peaks
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
    let peaks = sampler.await?;
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
    let resp = shared
        .http
        .post(format!("{}/api/v2/chats/new", args.url))
        .header("authorization", &auth)
        .json(
            &json!({"title": "New Chat", "models": [args.model], "chat_mode": "normal",
                      "chat_type": "t2t", "timestamp": 0}),
        )
        .send()
        .await
        .map_err(transport)?;
    if !resp.status().is_success() {
        return Err(status_kind(resp.status().as_u16()));
    }
    let reply: Value = resp.json().await.map_err(|_| "bad_json")?;
    let chat_id = reply
        .pointer("/data/id")
        .and_then(Value::as_str)
        .ok_or("no_chat_id")?
        .to_owned();
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
