//! The SSE writer every streaming wire format shares: it draws an [`Answer`]'s pieces, has
//! the wire format's [`Encoder`] turn them into events, sends keep-alives while the upstream
//! is silent, and notices a client that went away (the answer is then stopped, which drops
//! the upstream request) or the shutdown deadline. It decides nothing about the answer's
//! status: the answer does.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::qwen::QwenError;
use crate::session::{Answer, FinishReason, Piece, Stop};

/// Why a stream ends with an error event.
#[derive(Debug, Clone, Copy)]
pub(super) enum Failure<'a> {
    /// The upstream failed after the stream began.
    Upstream(&'a QwenError),
    /// The shutdown grace period ran out.
    ShuttingDown,
}

/// One wire format's stream events.
pub(super) trait Encoder: Send + 'static {
    /// Events before the first piece (a role chunk, an echoed prompt, a start event).
    fn open(&mut self) -> Vec<Bytes>;
    /// The event for a reasoning or content piece, if this format shows it.
    fn piece(&mut self, piece: &Piece) -> Option<Bytes>;
    /// The events after the last piece, up to and including the end-of-stream marker; the
    /// answer tells its usage and, when one ended it, its stop sequence.
    fn close(&mut self, reason: FinishReason, answer: &Answer) -> Vec<Bytes>;
    /// The error event that ends a stream which already began.
    fn error(&mut self, failure: Failure<'_>) -> Bytes;
    /// What to send while the upstream is silent.
    fn keepalive(&self) -> Bytes;
}

/// One `data:` event.
pub(super) fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// The comment OpenAI-style streams send as a keep-alive.
pub(super) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// OpenAI's end-of-stream marker.
pub(super) const DONE: &[u8] = b"data: [DONE]\n\n";

/// The tail of an OpenAI-style stream: the terminal chunk, the usage chunk when one was
/// asked for, `[DONE]`.
pub(super) fn openai_tail(finish: &Value, usage: Option<Value>) -> Vec<Bytes> {
    let mut tail = vec![data(finish)];
    tail.extend(usage.as_ref().map(data));
    tail.push(Bytes::from_static(DONE));
    tail
}

/// Called once when a stream ends, with the upstream failure if that is how it ended.
pub(super) type OnEnd = Box<dyn FnOnce(&Answer, Option<&QwenError>) + Send>;

/// Everything a stream writer needs besides the answer and the encoder.
pub(super) struct StreamContext {
    pub keepalive: Duration,
    /// Fires when the shutdown grace period is over.
    pub deadline: CancellationToken,
    pub on_end: OnEnd,
}

/// What ended the wait for the next piece.
enum Wake {
    Piece(Result<Option<Piece>, QwenError>),
    ClientGone,
    Deadline,
}

/// How the stream ended.
enum Ended {
    Done,
    Failed(QwenError),
    Stopped(Stop),
}

/// Writes `answer` to `tx` as `encoder`'s events until the answer ends, the client goes away
/// or the shutdown deadline passes.
pub(super) async fn write<E: Encoder>(
    mut answer: Answer,
    mut encoder: E,
    ctx: StreamContext,
    tx: mpsc::Sender<Bytes>,
) {
    let StreamContext {
        keepalive,
        deadline,
        on_end,
    } = ctx;
    let ended = pump(&mut answer, &mut encoder, keepalive, &deadline, &tx).await;
    let failure = match &ended {
        Ended::Failed(err) => Some(err),
        _ => None,
    };
    on_end(&answer, failure);
    if let Ended::Stopped(why) = ended {
        answer.stop(why).await;
    }
}

async fn pump<E: Encoder>(
    answer: &mut Answer,
    encoder: &mut E,
    keepalive: Duration,
    deadline: &CancellationToken,
    tx: &mpsc::Sender<Bytes>,
) -> Ended {
    for event in encoder.open() {
        if tx.send(event).await.is_err() {
            return Ended::Stopped(Stop::ClientGone);
        }
    }
    loop {
        let wake = {
            // The read is pinned across keep-alive ticks so no upstream bytes are lost.
            let next = answer.next();
            tokio::pin!(next);
            loop {
                tokio::select! {
                    biased;
                    _ = tx.closed() => break Wake::ClientGone,
                    _ = deadline.cancelled() => break Wake::Deadline,
                    r = tokio::time::timeout(keepalive, &mut next) => match r {
                        Ok(piece) => break Wake::Piece(piece),
                        Err(_) => {
                            if tx.send(encoder.keepalive()).await.is_err() {
                                break Wake::ClientGone;
                            }
                        }
                    },
                }
            }
        };
        match wake {
            // The answer is committed by now (design.md §5): the tail may go out.
            Wake::Piece(Ok(Some(Piece::Done(reason)))) => {
                for event in encoder.close(reason, answer) {
                    let _ = tx.send(event).await;
                }
                return Ended::Done;
            }
            Wake::Piece(Ok(Some(piece))) => {
                if let Some(event) = encoder.piece(&piece)
                    && tx.send(event).await.is_err()
                {
                    return Ended::Stopped(Stop::ClientGone);
                }
            }
            // Done was already handled; nothing more can come.
            Wake::Piece(Ok(None)) => return Ended::Done,
            Wake::Piece(Err(err)) => {
                let _ = tx.send(encoder.error(Failure::Upstream(&err))).await;
                return Ended::Failed(err);
            }
            Wake::ClientGone => return Ended::Stopped(Stop::ClientGone),
            Wake::Deadline => {
                let _ = tx.send(encoder.error(Failure::ShuttingDown)).await;
                return Ended::Stopped(Stop::ShutDown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sse_framing() {
        assert_eq!(data(&json!({"a": 1})), "data: {\"a\":1}\n\n");
        assert_eq!(DONE, b"data: [DONE]\n\n");
    }
}
