//! The connections of `serve`: accepting them, timing them out, limiting how many are held,
//! and ending them all by a hard deadline on shutdown (issue 18, finding 8).
//!
//! `axum::serve` offers none of this, so connections are driven here with hyper's HTTP/1
//! server, one task each. Every connection is watched ([`Conn`]) for what it is doing:
//!
//! - **reading a request head**: from the connection's start for its first request, and
//!   from the first byte of each later one; `HEADER_READ_TIMEOUT` closes it if the head is
//!   not complete by then (a client that connects and trickles, or never sends, a head);
//! - **busy**: a request is being handled or its answer sent, however long that takes
//!   (uploads, answers that take minutes, streams); never timed out here;
//! - **idle** between requests: `KEEPALIVE_TIMEOUT` closes it.
//!
//! At most `MAX_CONNECTIONS` are held. A connection over the limit replaces the one that
//! has been idle (or reading a head) the longest, so clients that hold connections without
//! using them cannot lock anyone out, `/health` included; only when every held connection
//! is busy is the new one closed at once, unread. Busy connections are never cut.
//!
//! On shutdown the listener closes, idle connections close at once, busy ones finish
//! their request (keep-alive off) for up to `SHUTDOWN_TIMEOUT`; then the deadline token
//! ends the streams still open with an error event, and [`LAST_WORDS`] later every
//! connection still there is dropped: the shutdown ends whatever the clients do.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

/// How long the streams ended by the shutdown deadline get to write their error event
/// before their connections are dropped.
pub const LAST_WORDS: Duration = Duration::from_secs(1);

/// What the connection layer enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub max_connections: usize,
}

/// How a shutdown goes: `grace` for busy connections, then `deadline` is cancelled (the
/// streams end themselves with an error event), then [`LAST_WORDS`].
pub struct Shutdown<F> {
    pub signal: F,
    pub grace: Duration,
    pub deadline: CancellationToken,
}

/// `head_since` while no head is being read.
const NONE: u64 = u64::MAX;

/// What one connection is doing, shared between its task (which polls hyper, and so the
/// socket and the handlers) and the accept loop (which may evict it).
struct Conn {
    id: u64,
    epoch: Instant,
    /// Requests being handled or answered.
    in_flight: AtomicU32,
    /// When (ms after `epoch`) it last became idle: accepted, or an answer ended.
    idle_since: AtomicU64,
    /// When (ms after `epoch`) the head being read began, or [`NONE`].
    head_since: AtomicU64,
    /// Set by the accept loop (evicted) or the shutdown (drain); the task looks on `wake`.
    evicted: AtomicBool,
    draining: AtomicBool,
    wake: Notify,
}

/// Why a connection was closed by this layer (a label of `http_connections_closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    HeaderTimeout,
    KeepaliveTimeout,
    Evicted,
    Shutdown,
}

impl Closed {
    fn label(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::KeepaliveTimeout => "keepalive_timeout",
            Closed::Evicted => "evicted",
            Closed::Shutdown => "shutdown",
        }
    }
}

impl Conn {
    fn new(id: u64, epoch: Instant) -> Conn {
        let now = ms_since(epoch);
        Conn {
            id,
            epoch,
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(now),
            // The first request's head is due from the start.
            head_since: AtomicU64::new(now),
            evicted: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// How long it has been waiting without a request (ms after `epoch`), for eviction:
    /// `None` when busy.
    fn waiting_since(&self) -> Option<u64> {
        if self.busy() {
            return None;
        }
        Some(match self.head_since.load(Ordering::Relaxed) {
            NONE => self.idle_since.load(Ordering::Relaxed),
            head => head,
        })
    }

    /// When the current wait ends and why; `None` while busy.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, Closed)> {
        if self.busy() {
            return None;
        }
        let at = |ms: u64, after: Duration| self.epoch + Duration::from_millis(ms) + after;
        Some(match self.head_since.load(Ordering::Relaxed) {
            NONE => (
                at(
                    self.idle_since.load(Ordering::Relaxed),
                    limits.keepalive_timeout,
                ),
                Closed::KeepaliveTimeout,
            ),
            head => (at(head, limits.header_read_timeout), Closed::HeaderTimeout),
        })
    }

    /// Bytes arrived: the first of a new head starts its clock.
    fn bytes_arrived(&self) {
        if !self.busy() && self.head_since.load(Ordering::Relaxed) == NONE {
            self.head_since
                .store(ms_since(self.epoch), Ordering::Relaxed);
            self.wake.notify_one();
        }
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
}

/// A request in progress on a connection, from its head to the end of its answer's body.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn begin(conn: &Arc<Conn>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        conn.head_since.store(NONE, Ordering::Relaxed);
        InFlight(conn.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let conn = &self.0;
        if conn.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            conn.idle_since
                .store(ms_since(conn.epoch), Ordering::Relaxed);
            conn.head_since.store(NONE, Ordering::Relaxed);
            conn.wake.notify_one();
        }
    }
}

/// An answer's body that keeps its request [`InFlight`] until it is sent or dropped.
struct Tracked {
    body: Body,
    _request: InFlight,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling its [`Conn`] when bytes arrive.
struct Watched {
    tcp: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Every connection held, by id.
struct Registry {
    epoch: Instant,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Signalled when the last connection leaves.
    emptied: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more connection under `max`: evicts the connection waiting the
    /// longest when full. `false` when every connection is busy.
    fn admit(&self, max: usize) -> bool {
        let mut conns = self.lock();
        if conns.len() < max {
            return true;
        }
        let oldest = conns
            .values()
            .filter_map(|c| Some((c.waiting_since()?, c.id)))
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        if let Some(conn) = conns.remove(&id) {
            conn.evicted.store(true, Ordering::Relaxed);
            conn.wake.notify_one();
            metrics::gauge!("http_connections_open").decrement(1.0);
            closed(Closed::Evicted);
        }
        true
    }

    fn insert(&self, conn: Arc<Conn>) {
        self.lock().insert(conn.id, conn);
        metrics::gauge!("http_connections_open").increment(1.0);
    }

    fn remove(&self, id: u64) {
        let mut conns = self.lock();
        if conns.remove(&id).is_some() {
            metrics::gauge!("http_connections_open").decrement(1.0);
        }
        if conns.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Tells every connection to finish: idle ones close, busy ones end after their answer.
    fn drain(&self) {
        for conn in self.lock().values() {
            conn.draining.store(true, Ordering::Relaxed);
            conn.wake.notify_one();
        }
    }

    /// Waits until no connection is left, at most until `until`; whether none is.
    async fn wait_empty(&self, until: Instant) -> bool {
        loop {
            let emptied = self.emptied.notified();
            if self.is_empty() {
                return true;
            }
            if tokio::time::timeout_at(until, emptied).await.is_err() {
                return self.is_empty();
            }
        }
    }
}

fn closed(why: Closed) {
    metrics::counter!("http_connections_closed_total", "reason" => why.label()).increment(1);
}

/// Accepts and serves connections on `listener` until `shutdown.signal` resolves, then
/// drains them as the module documentation says. Returns once every connection is gone.
pub async fn run<F>(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: Shutdown<F>,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        conns: Mutex::new(HashMap::new()),
        emptied: Notify::new(),
    });
    let kill = CancellationToken::new();
    let mut next_id: u64 = 0;
    let mut accept_errors = AcceptErrors::default();
    let signal = shutdown.signal;
    tokio::pin!(signal);
    loop {
        let tcp = tokio::select! {
            biased;
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(err) => {
                    accept_errors.pause(&err).await;
                    continue;
                }
            },
        };
        if !registry.admit(limits.max_connections) {
            // Every connection is busy: refused unread (closing it costs nothing more).
            closed_refused();
            drop(tcp);
            continue;
        }
        // Streams are many small writes: without TCP_NODELAY the first bytes wait for the
        // client's delayed ACK (~40 ms on Linux).
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {err}");
        }
        next_id += 1;
        let conn = Arc::new(Conn::new(next_id, registry.epoch));
        registry.insert(conn.clone());
        tokio::spawn(serve_connection(
            tcp,
            conn,
            app.clone(),
            limits,
            registry.clone(),
            kill.clone(),
        ));
    }
    drop(listener);
    let grace = shutdown.grace;
    tracing::info!(
        "shutting down: no new connections; open streams get {}s to finish",
        grace.as_secs()
    );
    registry.drain();
    if !registry.wait_empty(Instant::now() + grace).await {
        // Streams still open end with an error event, and get a moment to send it.
        shutdown.deadline.cancel();
        if !registry.wait_empty(Instant::now() + LAST_WORDS).await {
            let left = registry.lock().len();
            tracing::warn!("closing {left} connections that did not finish in time");
            kill.cancel();
            registry
                .wait_empty(Instant::now() + Duration::from_millis(500))
                .await;
        }
    }
    kill.cancel();
    Ok(())
}

fn closed_refused() {
    metrics::counter!("http_connections_refused_total").increment(1);
}

/// One connection, from its first byte to its close.
async fn serve_connection(
    tcp: TcpStream,
    conn: Arc<Conn>,
    app: Router,
    limits: Limits,
    registry: Arc<Registry>,
    kill: CancellationToken,
) {
    let io = TokioIo::new(Watched {
        tcp,
        conn: conn.clone(),
    });
    let on = conn.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let request = InFlight::begin(&on);
        let mut app = app.clone();
        // Boxed: hyper keeps a slot of the service future's size for the whole connection
        // (`Box<Option<F>>`, allocated when it starts). The handler's future is ~9 KiB, so
        // every connection held ~9 KiB, through its streams and idle times, for a future
        // that only lives until the answer's head; boxed, the slot is a pointer and the
        // future's memory is freed when the head is sent (docs/BENCHMARKS.md, "Memory").
        let handle: Pin<Box<dyn Future<Output = Result<_, Infallible>> + Send>> =
            Box::pin(async move {
                let Ok(response) = app.call(req).await;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _request: request,
                }))
            });
        handle
    });
    let http = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(http);
    let mut draining = false;
    let why = loop {
        let deadline = conn.deadline(&limits);
        let expires = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = http.as_mut() => {
                if let Err(err) = result {
                    tracing::trace!("connection ended: {err}");
                }
                break None;
            }
            () = kill.cancelled() => break Some(Closed::Shutdown),
            () = conn.wake.notified() => {
                if conn.evicted.load(Ordering::Relaxed) {
                    // Counted by the accept loop, which took it out of the registry.
                    break None;
                }
                if conn.draining.load(Ordering::Relaxed) && !draining {
                    draining = true;
                    if !conn.busy() {
                        break Some(Closed::Shutdown);
                    }
                    http.as_mut().graceful_shutdown();
                }
            }
            () = expires => {
                if let Some((at, why)) = conn.deadline(&limits)
                    && at <= Instant::now()
                {
                    break Some(why);
                }
            }
        }
    };
    if let Some(why) = why {
        closed(why);
    }
    registry.remove(conn.id);
}

/// What to do when `accept` fails: out of descriptors (or memory), wait a moment for some
/// to be freed, saying so once per incident; a connection that died before it was
/// accepted is nothing to wait for.
#[derive(Default)]
struct AcceptErrors {
    last_warned: Option<Instant>,
}

impl AcceptErrors {
    async fn pause(&mut self, err: &io::Error) {
        let resource = matches!(err.raw_os_error(), Some(code) if is_resource_error(code));
        if !resource {
            tracing::debug!("accept failed: {err}");
            return;
        }
        let now = Instant::now();
        if self
            .last_warned
            .is_none_or(|at| now.duration_since(at) > Duration::from_secs(10))
        {
            tracing::warn!(
                "cannot accept connections: {err} (raise the file limit or lower MAX_CONNECTIONS)"
            );
            self.last_warned = Some(now);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM.
fn is_resource_error(code: i32) -> bool {
    matches!(code, 24 | 23 | 105 | 12)
}

/// Raises the soft limit on open files to the hard limit (services often start with 1,024,
/// and each connection is one file, two with its upstream request); returns the soft limit
/// in force afterwards, `None` when it is unknown or unlimited.
#[cfg(unix)]
pub fn raise_file_limit() -> Option<u64> {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let mut now = soft;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => now = hard,
            // macOS refuses an unlimited soft limit; its kernel maximum is what counts.
            Err(err) => tracing::debug!("cannot raise the file limit to {hard}: {err}"),
        }
    }
    (now != RLIM_INFINITY).then_some(now)
}

/// Elsewhere the limit is not ours to change.
#[cfg(not(unix))]
pub fn raise_file_limit() -> Option<u64> {
    None
}

/// The soft limit on open files, `None` when unknown or unlimited.
#[cfg(unix)]
pub fn file_limit() -> Option<u64> {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    (soft != RLIM_INFINITY).then_some(soft)
}

#[cfg(not(unix))]
pub fn file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(60),
            max_connections: 2,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_what_the_connection_does() {
        let epoch = Instant::now();
        let conn = Arc::new(Conn::new(1, epoch));
        let l = limits();
        // A new connection owes its first head from the start.
        assert_eq!(
            conn.deadline(&l),
            Some((epoch + Duration::from_secs(10), Closed::HeaderTimeout))
        );
        let request = InFlight::begin(&conn);
        assert_eq!(conn.deadline(&l), None);
        assert_eq!(conn.waiting_since(), None);
        // Bytes while busy (a body, a pipelined head) start no clock.
        conn.bytes_arrived();
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(request);
        let idle = epoch + Duration::from_secs(100);
        assert_eq!(
            conn.deadline(&l),
            Some((idle + Duration::from_secs(60), Closed::KeepaliveTimeout))
        );
        // The first byte of the next head: the header clock runs from there.
        tokio::time::advance(Duration::from_secs(5)).await;
        conn.bytes_arrived();
        conn.bytes_arrived();
        assert_eq!(
            conn.deadline(&l),
            Some((idle + Duration::from_secs(15), Closed::HeaderTimeout))
        );
        assert_eq!(conn.waiting_since(), Some(105_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_registry_evicts_the_longest_waiting_never_a_busy_one() {
        let registry = Registry {
            epoch: Instant::now(),
            conns: Mutex::new(HashMap::new()),
            emptied: Notify::new(),
        };
        let first = Arc::new(Conn::new(1, registry.epoch));
        tokio::time::advance(Duration::from_secs(1)).await;
        let second = Arc::new(Conn::new(2, registry.epoch));
        registry.insert(first.clone());
        registry.insert(second.clone());
        assert!(registry.admit(2));
        assert!(first.evicted.load(Ordering::Relaxed));
        assert!(!second.evicted.load(Ordering::Relaxed));
        let busy = InFlight::begin(&second);
        let third = Arc::new(Conn::new(3, registry.epoch));
        let _busy_too = InFlight::begin(&third);
        registry.insert(third);
        assert!(!registry.admit(2), "both held connections are busy");
        drop(busy);
        assert!(registry.admit(2));
        assert!(second.evicted.load(Ordering::Relaxed));
    }
}
