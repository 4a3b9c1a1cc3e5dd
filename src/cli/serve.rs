//! `qwenctl serve`: the OpenAI-compatible HTTP proxy.

use std::net::IpAddr;

use anyhow::Context as _;
use clap::Args;
use tokio::net::TcpListener;

use crate::config::{Sources, env};
use crate::context::Ctx;
use crate::error::UsageError;
use crate::output;
use crate::proxy::{self, AppState, Settings};
use crate::session::Engine;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Bind address (overrides HOST)
    #[arg(long)]
    pub host: Option<String>,
    /// Port (overrides PORT; 0 picks a free one)
    #[arg(long)]
    pub port: Option<u16>,
    /// Run the built-in fake of chat.qwen.ai in-process instead of the real service (no
    /// credentials needed)
    #[arg(long)]
    pub fake_upstream: bool,
    /// Allow binding a non-loopback address without API_KEYS
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// The fake's port, bound by [`ServeArgs::bind_fake_upstream`] before the configuration is
    /// resolved; not a command-line argument.
    #[arg(skip)]
    pub fake_listener: Option<std::net::TcpListener>,
}

impl ServeArgs {
    /// Flags take precedence over every other source.
    pub fn apply_flags(&self, sources: &mut Sources) {
        if let Some(host) = &self.host {
            sources.flags.insert(env::HOST, host.clone());
        }
        if let Some(port) = self.port {
            sources.flags.insert(env::PORT, port.to_string());
        }
    }

    /// With `--fake-upstream`: binds the fake's port now, so that `config::resolve` points the
    /// upstream (and its credentials) at it; the fake itself starts in [`run`].
    pub fn bind_fake_upstream(&mut self, sources: &mut Sources) -> anyhow::Result<()> {
        if self.fake_upstream {
            self.fake_listener = Some(super::fake::bind(sources)?);
        }
        Ok(())
    }
}

pub async fn run(mut args: ServeArgs, ctx: Ctx) -> anyhow::Result<()> {
    // Before the limit on connections is derived from it.
    let files = proxy::conn::raise_file_limit();
    // Kept for as long as the server runs: dropping it stops the fake.
    let _stop_fake = args
        .fake_listener
        .take()
        .map(super::fake::start)
        .transpose()?;
    let config = &ctx.config;
    let accounts = ctx.accounts()?.serving();

    let loopback = config.host == "localhost"
        || config
            .host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && config.api_keys.is_empty() && !args.allow_unauthenticated {
        return Err(UsageError(format!(
            "refusing to serve on {} without API_KEYS: anyone who can reach it could use your \
             Qwen account; set API_KEYS, bind 127.0.0.1, or pass --allow-unauthenticated",
            config.host
        ))
        .into());
    }

    let store = ctx.engine_store().await?;
    tracing::info!(
        "credentials: {} ({})",
        config.credentials.describe(),
        accounts.names().join(", ")
    );
    // Expiring pasted cookies and the like: said once at start, where operators look.
    for warning in config
        .problems
        .iter()
        .filter(|p| p.severity == crate::config::Severity::Warning)
    {
        tracing::warn!("{warning}");
    }
    let engine = Engine::new(accounts, store, config.session_timeout, "serve")
        .with_aliases(config.model_aliases.clone());
    let settings = Settings::from_config(config);
    tracing::info!(
        "file limit {}; up to {} client connections",
        files.map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
        settings.connections.max_connections
    );
    let state = AppState::new(engine, settings);

    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    output::line(&format!("Listening on http://{local}"))?;
    if config.enable_persistence {
        tracing::info!("recording exchanges in {}", config.database_path.display());
    } else {
        tracing::info!("persistence is off: nothing is written to disk");
    }
    proxy::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
