//! Every recorded stream in `crates/qwen-fake/fixtures/*.sse` through the real reader, whole
//! and cut into awkward chunk sizes, plus the body shapes that are not streams at all. Kept
//! whole: it is one table of the recorded upstream behaviour, fixture after fixture.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream;

use super::*;
use crate::qwen::{Created, ErrorKind, SearchResult, Usage};

const IDLE: Duration = Duration::from_secs(5);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/crates/qwen-fake/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn chunked(bytes: &[u8], size: usize) -> Vec<Result<Bytes, QwenError>> {
    bytes
        .chunks(size.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

/// Everything a stream yielded, and how it ended (`Ok` = `Ok(None)`).
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<QwenEvent>,
    end: Result<(), QwenError>,
}

impl Outcome {
    fn answer(&self) -> String {
        self.text(|e| matches!(e, QwenEvent::Answer(_)))
    }
    fn thinking(&self) -> String {
        self.text(|e| matches!(e, QwenEvent::Thinking(_)))
    }
    fn text(&self, keep: impl Fn(&QwenEvent) -> bool) -> String {
        self.events
            .iter()
            .filter(|e| keep(e))
            .map(|e| match e {
                QwenEvent::Answer(t) | QwenEvent::Thinking(t) => t.as_str(),
                _ => "",
            })
            .collect()
    }
    fn created(&self) -> Option<&Created> {
        self.events.iter().find_map(|e| match e {
            QwenEvent::Created(c) => Some(c),
            _ => None,
        })
    }
    fn last_usage(&self) -> Option<Usage> {
        self.events.iter().rev().find_map(|e| match e {
            QwenEvent::Usage(u) => Some(*u),
            _ => None,
        })
    }
}

async fn drain(mut s: CompletionStream) -> Outcome {
    let mut events = Vec::new();
    loop {
        match s.next_event().await {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {
                return Outcome {
                    events,
                    end: Ok(()),
                };
            }
            Err(err) => {
                // Fused: an error ends the stream.
                assert_eq!(s.next_event().await, Ok(None));
                return Outcome {
                    events,
                    end: Err(err),
                };
            }
        }
    }
}

async fn run_bytes(bytes: &[u8], chunk: usize) -> Outcome {
    let body = stream::iter(chunked(bytes, chunk));
    drain(CompletionStream::from_byte_stream(
        body,
        IDLE,
        serde_json::Value::Null,
    ))
    .await
}

/// Parses a fixture whole, in 1-byte and in 7-byte chunks; all three must agree.
async fn run(name: &str) -> Outcome {
    let bytes = fixture(name);
    let whole = run_bytes(&bytes, bytes.len()).await;
    for size in [1, 7] {
        assert_eq!(
            run_bytes(&bytes, size).await,
            whole,
            "{name} in {size}-byte chunks"
        );
    }
    whole
}

fn usage(input: u64, output: u64, reasoning: u64, cached: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        reasoning_tokens: reasoning,
        cached_tokens: cached,
    }
}

#[tokio::test]
async fn basic_stream_yields_exact_events() {
    let out = run("stream-basic.sse").await;
    let mut expected = vec![QwenEvent::Created(Created {
        chat_id: "7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f".into(),
        parent_id: Some("1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b".into()),
        response_id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
    })];
    for (text, tokens) in [
        ("Hello", 1),
        ("! How", 3),
        (" can I", 5),
        (" help you", 7),
        (" today?", 8),
        (" 😊", 9),
    ] {
        expected.push(QwenEvent::Answer(text.into()));
        expected.push(QwenEvent::Usage(usage(1047, tokens, 0, 512)));
    }
    expected.push(QwenEvent::Finished);
    assert_eq!(
        out,
        Outcome {
            events: expected,
            end: Ok(())
        }
    );
    assert_eq!(out.answer(), "Hello! How can I help you today? 😊");
}

#[tokio::test]
async fn basic_2025_stream() {
    let out = run("stream-basic-2025.sse").await;
    assert_eq!(out.end, Ok(()));
    assert_eq!(out.answer(), "Greetings, traveler!");
    let created = out.created().expect("created");
    assert_eq!(created.response_id, "e34734e7-0999-4d8f-a900-81d1a3db9ae4");
    assert_eq!(created.chat_id, "0cac4f88-3ce7-4b19-8ebb-632ca66c512c");
    assert_eq!(out.last_usage(), Some(usage(33, 4, 0, 0)));
    assert_eq!(out.events.last(), Some(&QwenEvent::Finished));
}

#[tokio::test]
async fn turn2_stream() {
    let out = run("stream-turn2.sse").await;
    assert_eq!(out.end, Ok(()));
    assert_eq!(out.answer(), "Your name is Alice.");
    let created = out.created().expect("created");
    assert_eq!(created.response_id, "4b5c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d");
    assert_eq!(
        created.parent_id.as_deref(),
        Some("6e5d4c3b-2a19-4f8e-9d7c-6b5a4f3e2d1c")
    );
    assert_eq!(out.last_usage(), Some(usage(1102, 4, 0, 1024)));
}

#[tokio::test]
async fn thinking_summary_snapshots_are_not_repeated() {
    let out = run("stream-thinking.sse").await;
    assert_eq!(out.end, Ok(()));
    let thinking: Vec<&QwenEvent> = out
        .events
        .iter()
        .filter(|e| matches!(e, QwenEvent::Thinking(_)))
        .collect();
    assert_eq!(thinking.len(), 3);
    assert_eq!(
        out.thinking(),
        "I rewrite 19 as 20 − 1, so the product is 17 × 20 − 17.\n\
         17 × 20 = 340, and 340 − 17 = 323.\n\
         The result is 323."
    );
    assert_eq!(out.answer(), "17 × 19 = 323.");
    assert_eq!(out.last_usage(), Some(usage(827, 98, 90, 0)));
    assert_eq!(out.events.last(), Some(&QwenEvent::Finished));
}

#[tokio::test]
async fn legacy_think_stream() {
    let out = run("stream-think-legacy.sse").await;
    assert_eq!(out.end, Ok(()));
    assert_eq!(out.thinking(), "The user asks for 2+2. That is 4.");
    assert_eq!(out.answer(), "2 + 2 = 4");
    assert_eq!(out.last_usage(), Some(usage(40, 12, 0, 0)));
    // The finished `think` phase is not the end of the turn.
    let finished = out
        .events
        .iter()
        .filter(|e| **e == QwenEvent::Finished)
        .count();
    assert_eq!(finished, 1);
}

#[tokio::test]
async fn search_stream_yields_cumulative_results() {
    let out = run("stream-search.sse").await;
    assert_eq!(out.end, Ok(()));
    let searches: Vec<&Vec<SearchResult>> = out
        .events
        .iter()
        .filter_map(|e| match e {
            QwenEvent::WebSearch(list) => Some(list),
            _ => None,
        })
        .collect();
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[0].len(), 1);
    assert_eq!(
        searches[1],
        &vec![
            SearchResult {
                url: "https://example.com/rust-2024".into(),
                title: "Rust 2024 edition released".into(),
                snippet: "The Rust 2024 edition is now stable...".into(),
                hostname: "example.com".into(),
            },
            SearchResult {
                url: "https://example.org/blog/rust".into(),
                title: "What's new in Rust".into(),
                snippet: "A tour of the new edition.".into(),
                hostname: "example.org".into(),
            },
        ]
    );
    assert_eq!(
        out.answer(),
        "The Rust 2024 edition shipped in February 2025 [[1]][[2]]."
    );
    assert_eq!(out.last_usage(), Some(usage(2310, 15, 0, 0)));
}

#[tokio::test]
async fn image_gen_stream_has_keep_alives_but_no_answer() {
    let out = run("stream-image-gen.sse").await;
    let kinds: Vec<&str> = out
        .events
        .iter()
        .map(|e| match e {
            QwenEvent::Created(_) => "created",
            QwenEvent::KeepAlive => "keep_alive",
            QwenEvent::Usage(_) => "usage",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["created", "keep_alive", "keep_alive", "usage"]);
    assert_eq!(out.end, Err(QwenError::EmptyStream));
}

#[tokio::test]
async fn truncated_stream_is_an_error() {
    let out = run("stream-truncated.sse").await;
    assert_eq!(out.answer(), "Partial answ");
    assert_eq!(out.end, Err(QwenError::Truncated));
}

#[tokio::test]
async fn empty_stream_is_the_silent_block() {
    let out = run("stream-empty.sse").await;
    assert_eq!(out.events.len(), 1);
    assert_eq!(
        out.created().map(|c| c.response_id.as_str()),
        Some("d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6")
    );
    assert_eq!(out.end, Err(QwenError::EmptyStream));
    for body in ["", "data: [DONE]\n\n", "\n\n\n", ": ping\n\n"] {
        let out = run_bytes(body.as_bytes(), 3).await;
        assert_eq!(out.end, Err(QwenError::EmptyStream), "{body:?}");
    }
}

#[tokio::test]
async fn inline_error_event_is_classified() {
    let out = run("stream-error-inline.sse").await;
    assert!(out.created().is_some());
    assert_eq!(
        out.end,
        Err(QwenError::RateLimited {
            detail: "Too_Many_Requests: Too many requests, please slow down".into(),
            retry_after: None,
        })
    );
}

#[tokio::test]
async fn rate_limit_data_line_is_classified() {
    let out = run("stream-error-ratelimit.sse").await;
    assert!(out.events.is_empty());
    match out.end {
        Err(QwenError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7200)));
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn every_sse_fixture_is_covered() {
    let covered = [
        "stream-basic-2025.sse",
        "stream-basic.sse",
        "stream-empty.sse",
        "stream-error-inline.sse",
        "stream-error-ratelimit.sse",
        "stream-image-gen.sse",
        "stream-search.sse",
        "stream-think-legacy.sse",
        "stream-thinking.sse",
        "stream-truncated.sse",
        "stream-turn2.sse",
    ];
    let dir = format!("{}/crates/qwen-fake/fixtures", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".sse") {
            assert!(covered.contains(&name.as_str()), "no test for {name}");
            // No fixture may panic or hang the reader, whatever it holds.
            let _ = run(&name).await;
        }
    }
}

#[tokio::test]
async fn done_marker_ends_a_finished_stream() {
    let body = "data:{\"response.created\":{\"chat_id\":\"c\",\"response_id\":\"r\"}}\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"hi\",\"phase\":\"answer\",\"status\":\"finished\"}}]}\n\n\
        data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"ignored\"}}]}\n\n";
    let out = run_bytes(body.as_bytes(), 5).await;
    assert_eq!(out.answer(), "hi");
    assert_eq!(out.events.last(), Some(&QwenEvent::Finished));
    assert_eq!(out.end, Ok(()));
}

#[tokio::test]
async fn documents_mislabelled_as_streams_are_classified() {
    let html = fixture("waf-captcha.html");
    assert_eq!(
        run_bytes(&html, 11).await.end.map_err(|e| e.kind()),
        Err(ErrorKind::Blocked)
    );
    let waf = fixture("waf-fail-sys-user-validate.json");
    assert_eq!(
        run_bytes(&waf, 11).await.end.map_err(|e| e.kind()),
        Err(ErrorKind::Blocked)
    );
    let bad = fixture("error-bad-request.json");
    let out = run_bytes(&bad, 11).await;
    assert!(
        out.end.as_ref().is_err_and(QwenError::is_retryable),
        "{out:?}"
    );
}

#[tokio::test]
async fn idle_gap_times_out_but_not_after_finished() {
    let bytes = fixture("stream-truncated.sse");
    let body = stream::iter(chunked(&bytes, 64)).chain(stream::pending());
    let s = CompletionStream::from_byte_stream(body, Duration::from_millis(50), Default::default());
    let out = drain(s).await;
    assert_eq!(out.end, Err(QwenError::Timeout(Duration::from_millis(50))));

    let bytes = fixture("stream-basic.sse");
    let body = stream::iter(chunked(&bytes, 64)).chain(stream::pending());
    let s = CompletionStream::from_byte_stream(body, Duration::from_millis(50), Default::default());
    assert_eq!(drain(s).await.end, Ok(()));
}

#[tokio::test]
async fn connection_drop_mid_answer_is_truncated() {
    let bytes = fixture("stream-truncated.sse");
    let mut chunks = chunked(&bytes, 64);
    chunks.push(Err(QwenError::Network("connection reset".into())));
    let out = drain(CompletionStream::from_byte_stream(
        stream::iter(chunks),
        IDLE,
        Default::default(),
    ))
    .await;
    assert_eq!(out.end, Err(QwenError::Truncated));

    let early = vec![Err(QwenError::Network("connection reset".into()))];
    let out = drain(CompletionStream::from_byte_stream(
        stream::iter(early),
        IDLE,
        Default::default(),
    ))
    .await;
    assert_eq!(out.end.map_err(|e| e.kind()), Err(ErrorKind::Network));
}

#[tokio::test]
async fn prime_keeps_the_first_event() {
    let bytes = fixture("stream-basic.sse");
    let body = stream::iter(chunked(&bytes, 13));
    let mut s = CompletionStream::from_byte_stream(body, IDLE, Default::default());
    s.prime().await.expect("primes");
    assert!(matches!(
        s.next_event().await,
        Ok(Some(QwenEvent::Created(_)))
    ));
    assert_eq!(
        drain(s).await.answer(),
        "Hello! How can I help you today? 😊"
    );

    let empty = fixture("stream-empty.sse");
    let mut s = CompletionStream::from_byte_stream(
        stream::iter(chunked(&empty, 9)),
        IDLE,
        Default::default(),
    );
    // The created event alone is a first event; emptiness shows only at the end.
    s.prime().await.expect("primes");
    let mut s =
        CompletionStream::from_byte_stream(stream::iter(Vec::new()), IDLE, Default::default());
    assert_eq!(s.prime().await, Err(QwenError::EmptyStream));
}

/// `created` and then `piece` again and again, as fast as it is read.
fn endless(piece: &'static [u8]) -> impl futures_util::Stream<Item = Result<Bytes, QwenError>> {
    let created = fixture("stream-basic.sse")
        .split(|&b| b == b'\n')
        .next()
        .map(|line| [line, b"\n\n"].concat())
        .unwrap();
    stream::iter([Ok(Bytes::from(created))])
        .chain(stream::repeat_with(move || Ok(Bytes::from_static(piece))))
}

#[tokio::test]
async fn an_endless_answer_ends_at_the_size_bound() {
    const DELTA: &[u8] =
        b"data: {\"choices\": [{\"delta\": {\"content\": \"0123456789\", \"phase\": \"answer\"}}]}\n\n";
    let s = CompletionStream::from_byte_stream(endless(DELTA), IDLE, Default::default())
        .with_max_answer_bytes(10_000);
    let out = tokio::time::timeout(Duration::from_secs(10), drain(s))
        .await
        .expect("ends");
    let err = out.end.clone().unwrap_err();
    assert_eq!(err, QwenError::too_large("answer", 10_000));
    assert!(err.to_string().contains("MAX_ANSWER_BYTES"), "{err}");
    assert_eq!(out.answer().len(), 10_000, "everything up to the bound");
}

#[tokio::test]
async fn endless_lines_without_a_blank_line_end_at_the_event_bound() {
    let s = CompletionStream::from_byte_stream(
        endless(b"data: 0123456789abcdef0123456789abcdef\n"),
        IDLE,
        Default::default(),
    )
    .with_max_answer_bytes(10_000);
    let out = tokio::time::timeout(Duration::from_secs(10), drain(s))
        .await
        .expect("ends");
    let err = out.end.unwrap_err().to_string();
    let bound = 10_000 + EVENT_OVERHEAD;
    assert!(
        err.contains(&format!("grew past {bound} bytes (MAX_ANSWER_BYTES")),
        "{err}"
    );
}

#[tokio::test]
async fn a_drip_that_never_completes_an_event_is_idle() {
    let created = fixture("stream-basic.sse")
        .split(|&b| b == b'\n')
        .next()
        .map(|line| [line, b"\n\n"].concat())
        .unwrap();
    let drip = stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Some((Ok(Bytes::from_static(b" ")), ()))
    });
    let body =
        stream::iter([Ok(Bytes::from(created)), Ok(Bytes::from_static(b"data: {"))]).chain(drip);
    let idle = Duration::from_millis(150);
    let s = CompletionStream::from_byte_stream(body, idle, Default::default());
    let started = std::time::Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(10), drain(s))
        .await
        .expect("a drip must not keep the stream open");
    assert_eq!(out.end, Err(QwenError::Timeout(idle)));
    assert!(matches!(out.events[..], [QwenEvent::Created(_)]));
    assert!(started.elapsed() >= idle);
}

#[tokio::test]
async fn errors_leave_the_stream_redacted_and_empty() {
    let body = b"data: {\"error\": {\"code\": \"Bad_Request\", \"details\": \"you sent SecretCookieValue\"}}\n\n";
    let redactor = Arc::new(crate::qwen::redact::Redactor::new(["SecretCookieValue"]));
    let mut s = CompletionStream::from_byte_stream(
        stream::iter([Ok(Bytes::from_static(body))]).chain(stream::pending()),
        IDLE,
        Default::default(),
    )
    .with_redactor(redactor);
    let err = s.next_event().await.unwrap_err();
    assert!(!err.to_string().contains("SecretCookieValue"), "{err}");
    assert!(err.to_string().contains("<redacted>"), "{err}");
    // Over, without waiting on the (pending) body.
    assert_eq!(s.next_event().await, Ok(None));
}

#[tokio::test]
async fn a_busy_caller_does_not_make_the_upstream_look_idle() {
    let bytes = fixture("stream-basic.sse");
    let split = bytes.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let (created, rest) = (bytes[..split].to_vec(), bytes[split..].to_vec());
    // The upstream sends the rest 300 ms from now, whatever the caller does meanwhile.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = tx.send(Ok(Bytes::from(rest))).await;
    });
    let later = stream::unfold(rx, |mut rx| async { Some((rx.recv().await?, rx)) });
    let body = stream::iter([Ok(Bytes::from(created))]).chain(later);
    let idle = Duration::from_millis(200);
    let mut s = CompletionStream::from_byte_stream(body, idle, Default::default());
    assert!(matches!(
        s.next_event().await,
        Ok(Some(QwenEvent::Created(_)))
    ));
    // The caller is busy for longer than the idle timeout (a slow client), then asks again:
    // the upstream answers 50 ms into that wait, well within it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        drain(s).await.answer(),
        "Hello! How can I help you today? 😊"
    );
}
