//! The HTTP server of `qwenctl serve`: OpenAI-compatible routes (design.md §3.1), operations
//! (§3.2) and the data endpoints (§3.3).
//!
//! [`serve`] takes an already-bound listener and a shutdown future, so production binds the
//! configured address and waits for SIGINT/SIGTERM while tests bind port 0 and pass a
//! oneshot. Connections are driven by `conn`: header-read and keep-alive timeouts, the
//! connection limit, and a shutdown in which the server stops accepting, open streams get
//! a grace period, whatever still runs after it is ended with an error event, and every
//! connection is gone a moment later (SHUTDOWN_TIMEOUT is a hard deadline).
//!
//! Each wire format is one module (`chat`: OpenAI chat completions; `legacy`: OpenAI legacy
//! completions) that turns its request into the engine's turn request and the answer's
//! pieces into its own events; `exchange` and `sse` hold what they share. Handlers reach the
//! upstream and the store only through the [`Engine`]; the data API (`data`, and `events`
//! for its live stream) alone reads the store directly. `cors` answers browsers (§13).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::ApiKey;
use crate::session::Engine;

mod chat;
pub mod conn;
mod cors;
mod data;
mod error;
mod events;
mod exchange;
mod guard;
mod legacy;
mod messages;
mod metrics;
mod middleware;
mod models;
mod ops;
mod responses;
mod sse;
pub mod ui;

pub use error::{ApiError, ErrorShape};

/// Settings of the server, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Admin and ordinary keys with their names; empty: no key is asked for.
    pub api_keys: Vec<ApiKey>,
    /// The hosts and origins a keyless `serve` answers.
    pub access: guard::Access,
    /// `CORS_ORIGINS`: the browser origins that get CORS headers (design.md §13).
    pub cors: crate::config::OriginList,
    pub keepalive: Duration,
    pub max_body: usize,
    pub enable_crud_api: bool,
    /// Serve the console at `/ui` (already false when the data endpoints are off).
    pub enable_ui: bool,
    pub shutdown_timeout: Duration,
    /// Timeouts and limit of client connections.
    pub connections: conn::Limits,
    /// Used to judge which sessions are active.
    pub session_timeout: Option<Duration>,
    /// Whether exchanges are written to disk (reported by /health).
    pub persistence: bool,
}

impl Settings {
    /// The server settings of a resolved configuration.
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            api_keys: config.api_keys.clone(),
            access: guard::Access::from_config(config),
            cors: config.cors_origins.clone(),
            // A zero interval would spin; a keep-alive every 10 ms is already absurd.
            keepalive: config.keepalive_interval.max(Duration::from_millis(10)),
            max_body: config.max_request_body,
            enable_crud_api: config.enable_crud_api,
            enable_ui: config.enable_ui && config.enable_crud_api,
            shutdown_timeout: config.shutdown_timeout,
            connections: conn::Limits {
                header_read_timeout: config.connections.header_read_timeout,
                keepalive_timeout: config.connections.keepalive_timeout,
                max_connections: config.connections.max_connections(conn::file_limit()),
            },
            session_timeout: config.session_timeout,
            persistence: config.enable_persistence,
        }
    }
}

impl Settings {
    /// Whether ADMIN_API_KEYS is set: then only admin keys read `/metrics`.
    pub fn has_admin_keys(&self) -> bool {
        self.api_keys.iter().any(|k| k.admin)
    }
}

/// Outcome of the last upstream call, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum UpstreamHealth {
    Unknown = 0,
    Ok = 1,
    AuthFailed = 2,
    Failing = 3,
}

/// Shared state of every handler.
pub struct AppState {
    pub engine: Engine,
    pub settings: Settings,
    pub started: Instant,
    /// Fires when the shutdown grace period is over: streams still open end then.
    pub deadline: CancellationToken,
    /// Fires when the shutdown begins: streams that would never end by themselves
    /// (`/v1/events`) end then, so they do not hold it up.
    pub stopping: CancellationToken,
    upstream_health: AtomicU8,
}

impl AppState {
    pub fn new(engine: Engine, settings: Settings) -> Arc<AppState> {
        Arc::new(AppState {
            engine,
            settings,
            started: Instant::now(),
            deadline: CancellationToken::new(),
            stopping: CancellationToken::new(),
            upstream_health: AtomicU8::new(UpstreamHealth::Unknown as u8),
        })
    }

    /// Remembers the outcome of an upstream call for `/health`.
    pub fn set_upstream_health(&self, health: UpstreamHealth) {
        self.upstream_health.store(health as u8, Ordering::Relaxed);
    }

    pub fn upstream_health(&self) -> UpstreamHealth {
        match self.upstream_health.load(Ordering::Relaxed) {
            1 => UpstreamHealth::Ok,
            2 => UpstreamHealth::AuthFailed,
            3 => UpstreamHealth::Failing,
            _ => UpstreamHealth::Unknown,
        }
    }

    /// Sessions used within the session timeout (30 min when conversations never expire),
    /// counted by the store so that the figure holds across restarts and costs no memory
    /// per conversation.
    pub async fn active_sessions(&self) -> u64 {
        let window = self
            .settings
            .session_timeout
            .unwrap_or(Duration::from_secs(1800));
        self.engine.active_sessions(window).await
    }
}

/// The whole router.
pub fn router(state: Arc<AppState>) -> Router {
    let mut api = Router::new()
        .route("/v1/models", get(models::list))
        .route("/v1/models/{*model}", get(models::retrieve))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/messages", post(messages::create))
        .route("/v1/responses", post(responses::create))
        .route(
            "/v1/responses/{id}",
            get(responses::retrieve).delete(responses::delete),
        )
        .route(
            "/v1/responses/{id}/input_items",
            get(responses::input_items),
        )
        .route("/v1/messages/count_tokens", post(messages::count_tokens))
        .route("/v1/completions", post(legacy::completions))
        .route("/metrics", get(ops::metrics))
        .with_state(state.clone());
    if state.settings.enable_crud_api {
        let store = state.engine.archive().clone();
        api = api
            .merge(data::router(store.clone()))
            .merge(events::router(store, state.stopping.clone()));
    }
    let mut open = Router::new()
        .route("/health", get(ops::health))
        // Claude Code's preconnect (`HEAD /api/hello`, `HEAD /` in older releases), answered
        // before any key is asked for.
        .route("/", get(ops::root))
        .route("/api/hello", get(ops::root))
        .with_state(state.clone());
    if state.settings.enable_ui {
        // The console's pages hold no data, so they need no key; what they show is read
        // from the data API with one.
        open = open.merge(ui::router());
    }
    open.merge(api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::require_api_key,
    )))
    .fallback(ops::not_found)
    .method_not_allowed_fallback(ops::method_not_allowed)
    // Bodies are read by hand against `max_body` so the 413 is an OpenAI error.
    .layer(DefaultBodyLimit::disable())
    // A keyless `serve` answers only its own names and origins, on every route.
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guard::check_caller,
    ))
    .layer(axum::middleware::from_fn(middleware::observe))
    // Outermost: a preflight is answered before the host, origin and key checks (a
    // browser sends no key with it), and every answer, theirs included, gets its CORS
    // headers.
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        cors::cors,
    ))
}

/// Housekeeping while serving: histogram upkeep, forgetting idle sessions, and, when nothing
/// is persisted, pruning the in-memory store so it does not grow with every exchange.
async fn maintain(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        metrics::upkeep();
        // Conversations idle for longer than the timeout can no longer be continued, so
        // nothing of them is needed in memory. (SESSION_TIMEOUT=0 keeps them all, as asked.)
        if let (false, Some(keep), 0) = (
            state.settings.persistence,
            state.settings.session_timeout,
            ticks % 12,
        ) {
            let cutoff = crate::time::unix_now_ms() - i64::try_from(keep.as_millis()).unwrap_or(0);
            state.engine.forget_idle(cutoff).await;
        }
    }
}

/// Serves until `shutdown` resolves, then drains: streams get `shutdown_timeout` to finish,
/// and every connection is closed shortly after it.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    metrics::install();
    let maintenance = tokio::spawn(maintain(state.clone()));
    let app = router(state.clone());
    let stopping = state.stopping.clone();
    let shutdown = conn::Shutdown {
        signal: async move {
            shutdown.await;
            stopping.cancel();
        },
        grace: state.settings.shutdown_timeout,
        deadline: state.deadline.clone(),
    };
    let result = conn::run(listener, app, state.settings.connections, shutdown).await;
    maintenance.abort();
    // Let the store commit what the last streams recorded (bounded: the deadline holds).
    if tokio::time::timeout(Duration::from_secs(5), state.engine.flush())
        .await
        .is_err()
    {
        tracing::warn!("the store did not confirm its last writes within 5 s");
    }
    result
}
