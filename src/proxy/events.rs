//! `GET /v1/events`: the exchanges as they happen, as server-sent events (the console's live
//! view, or `curl -N`). Part of the data API (`ENABLE_CRUD_API`, behind the keys), with its
//! tenancy: a key that is not an admin key hears only of its own exchanges.
//!
//! The store announces each response once it is committed ([`Store::subscribe`], a
//! broadcast channel that costs nothing while nobody listens). Each listener reads the
//! announced exchange back from the store, checks that its scope may see it, and sends it as
//! `event: exchange` with the same object as an item of `GET /v1/requests` plus the
//! response's figures ([`crate::store::Exchange`]). A listener that falls behind is not
//! waited for: it misses the oldest announcements and gets `event: lagged` with how many,
//! so a slow reader never slows the proxy. A `: keep-alive` comment every
//! [`KEEPALIVE`] keeps proxies and browsers from closing a quiet stream, and the stream
//! ends (cleanly, without an error event) as soon as the server begins to shut down, so it
//! never holds the shutdown up.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::middleware::Scope;
use crate::store::{Recorded, Store};

/// How often a quiet stream sends a `: keep-alive` comment.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// What the route needs: the store, and the token cancelled when the shutdown begins.
#[derive(Clone)]
struct Events {
    store: Store,
    stopping: CancellationToken,
}

/// The route, with its state.
pub fn router(store: Store, stopping: CancellationToken) -> Router {
    Router::new()
        .route("/v1/events", get(stream))
        .with_state(Events { store, stopping })
}

/// One listener's stream.
struct Listener {
    recorded: broadcast::Receiver<Recorded>,
    store: Store,
    scope: Scope,
    stopping: CancellationToken,
    keepalive: Interval,
}

async fn stream(State(events): State<Events>, scope: Scope) -> Response {
    // Subscribed before the response is returned: nothing committed after the request
    // arrived is missed.
    let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let listener = Listener {
        recorded: events.store.subscribe(),
        store: events.store,
        scope,
        stopping: events.stopping,
        keepalive,
    };
    let body = Body::from_stream(futures_util::stream::unfold(listener, |mut l| async move {
        l.next().await.map(|frame| (Ok::<_, Infallible>(frame), l))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

impl Listener {
    /// The next frame to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            let recorded = tokio::select! {
                biased;
                () = self.stopping.cancelled() => return None,
                recorded = self.recorded.recv() => recorded,
                _ = self.keepalive.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
            };
            match recorded {
                Ok(recorded) => {
                    if let Some(frame) = self.exchange(&recorded).await {
                        self.keepalive.reset();
                        return Some(frame);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    return Some(frame("lagged", &serde_json::json!({ "missed": missed })));
                }
                // The store is gone: the server is stopping.
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The `event: exchange` frame of a recorded response, when this listener may see it.
    async fn exchange(&self, recorded: &Recorded) -> Option<Bytes> {
        let exchange = match self.store.exchange(&recorded.request_id).await {
            Ok(Some(exchange)) => exchange,
            // Deleted meanwhile: nothing to show.
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "events: cannot read a recorded exchange");
                return None;
            }
        };
        self.scope
            .sees(exchange.request.api_key_id.as_deref())
            .then(|| frame("exchange", &exchange))
    }
}

/// `event: NAME` with `value` as its one `data:` line (JSON has no raw line breaks).
fn frame(name: &str, value: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::store::{NewRequest, NewResponse};

    async fn record(store: &Store, n: usize, key: &str) {
        let id = format!("r{n}");
        store
            .record_request(NewRequest {
                account: None,
                id: id.clone(),
                session_id: None,
                endpoint: "chat.completions".into(),
                model: "qwen3-max".into(),
                stream: false,
                api_key_id: Some(key.into()),
                client_request_id: None,
                prior_request_id: None,
                message_count: 1,
                new_messages: Vec::new(),
                params: json!({}).into(),
                upstream_request: None,
                chat_id: None,
                parent_id: None,
                received_at: 1,
            })
            .await
            .unwrap();
        store
            .record_response(NewResponse {
                id: format!("p{n}"),
                request_id: id,
                status: "ok".into(),
                ..NewResponse::default()
            })
            .await
            .unwrap();
    }

    fn listener(store: &Store, scope: Scope) -> Listener {
        Listener {
            recorded: store.subscribe(),
            store: store.clone(),
            scope,
            stopping: CancellationToken::new(),
            keepalive: tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE),
        }
    }

    fn parse(frame: &Bytes) -> (String, Value) {
        let text = std::str::from_utf8(frame).unwrap();
        let (head, data) = text.split_once('\n').unwrap();
        let data = data.strip_prefix("data: ").unwrap().trim_end();
        (
            head.strip_prefix("event: ").unwrap().to_owned(),
            serde_json::from_str(data).unwrap(),
        )
    }

    /// A listener that read nothing while the proxy recorded more than the backlog is told
    /// how many it missed, then goes on with the exchanges still held; the writes never
    /// waited for it.
    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_how_many_it_missed() {
        let store = Store::open_in_memory().unwrap();
        let mut slow = listener(&store, Scope::All);
        let extra = 44;
        for n in 0..crate::store::RECORDED_BACKLOG + extra {
            record(&store, n, "key-1").await;
        }
        let (name, data) = parse(&slow.next().await.unwrap());
        assert_eq!(
            (name.as_str(), &data),
            ("lagged", &json!({"missed": extra}))
        );
        let (name, data) = parse(&slow.next().await.unwrap());
        assert_eq!(name, "exchange");
        assert_eq!(data["id"], format!("r{extra}"));
    }

    #[tokio::test]
    async fn a_key_hears_only_of_its_own_and_everyone_stops_with_the_server() {
        let store = Store::open_in_memory().unwrap();
        let mut mine = listener(&store, Scope::Key("key-2".into()));
        record(&store, 0, "key-1").await;
        record(&store, 1, "key-2").await;
        let (_, data) = parse(&mine.next().await.unwrap());
        assert_eq!(data["id"], "r1");
        mine.stopping.cancel();
        record(&store, 2, "key-2").await;
        assert_eq!(
            mine.next().await,
            None,
            "stopping wins over what is pending"
        );
    }
}
