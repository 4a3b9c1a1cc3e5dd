//! The responses every replica commits, for `GET /v1/events`: the writer of each replica
//! sends a `NOTIFY` in the transaction that records a response (PostgreSQL delivers it only
//! if that commits, and to every listener), and each replica that has a subscriber listens
//! on a connection of its own and hands the ids on through a broadcast channel, as the
//! SQLite store does for its own writes. A console on any replica therefore sees every
//! exchange. The listening connection is opened at the first subscription and opened again
//! (once a second) when the server goes away; what is committed while it is down is not
//! heard, as a slow subscriber misses what it lagged behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::AsyncMessage;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::Recorded;

/// The channel responses are announced on; a payload is `<request id> <response id>`.
pub(crate) const CHANNEL: &str = "qwenctl_recorded";
/// Announcements a subscriber may fall behind by before it misses the oldest (as SQLite's).
const BACKLOG: usize = 512;
/// How long to wait before listening again after the connection was lost.
const RETRY: Duration = Duration::from_secs(1);

/// The announcement of a recorded response.
pub(crate) fn payload(request_id: &str, response_id: &str) -> String {
    format!("{request_id} {response_id}")
}

pub(crate) struct Events {
    sender: broadcast::Sender<Recorded>,
    listening: AtomicBool,
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl Events {
    pub(crate) fn new(config: tokio_postgres::Config, tls: Option<MakeRustlsConnect>) -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            listening: AtomicBool::new(false),
            config,
            tls,
        }
    }

    pub(crate) fn subscribe(self: &Arc<Self>) -> broadcast::Receiver<Recorded> {
        let receiver = self.sender.subscribe();
        if !self.listening.swap(true, Ordering::AcqRel) {
            let events = Arc::clone(self);
            tokio::spawn(async move { events.listen().await });
        }
        receiver
    }

    /// Listens for as long as anyone may subscribe (the process), reconnecting after a loss.
    async fn listen(&self) {
        loop {
            let outcome = match &self.tls {
                None => self.listen_once(tokio_postgres::NoTls).await,
                Some(tls) => self.listen_once(tls.clone()).await,
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "the event listener lost its connection");
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    async fn listen_once<T>(&self, tls: T) -> Result<(), tokio_postgres::Error>
    where
        T: MakeTlsConnect<tokio_postgres::Socket>,
        T::Stream: Send + 'static,
    {
        let (client, mut connection) = self.config.connect(tls).await?;
        let (forward, mut payloads) = mpsc::unbounded_channel();
        // The connection is driven here: its notifications go to the loop below.
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        if forward.send(n.payload().to_owned()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        while let Some(payload) = payloads.recv().await {
            if let Some((request_id, response_id)) = payload.split_once(' ') {
                // A send fails only while nobody subscribes.
                let _ = self.sender.send(Recorded {
                    request_id: request_id.to_owned(),
                    response_id: response_id.to_owned(),
                });
            }
        }
        driver.abort();
        Ok(())
    }
}
