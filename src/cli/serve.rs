//! `qwenctl serve`: the OpenAI-compatible HTTP proxy.

use std::net::IpAddr;

use anyhow::Context as _;
use clap::Args;
use qwen_fake::{FakeOptions, FakeUpstream, Limits};
use tokio::net::TcpListener;

use crate::config::{Secret, Sources, env};
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
}

pub async fn run(args: ServeArgs, mut ctx: Ctx) -> anyhow::Result<()> {
    // Kept alive for as long as the server runs.
    let _fake = if args.fake_upstream {
        // A long-running fake keeps little history, so memory stays flat under any load.
        let options = FakeOptions {
            limits: Limits::SMALL,
            ..FakeOptions::default()
        };
        let fake = FakeUpstream::start(options)
            .await
            .context("cannot start the fake upstream")?;
        tracing::info!("fake upstream (no real Qwen involved) on {}", fake.url());
        let config = &mut ctx.config;
        config.base_url = fake.url();
        config.qwen_cookies = Some(Secret::new(format!("token={FAKE_JWT}")));
        config.qwen_token = Some(Secret::new("fake-bx-umidtoken"));
        config
            .problems
            .retain(|p| p.var != env::QWEN_COOKIES && p.var != env::QWEN_TOKEN);
        Some(fake)
    } else {
        None
    };
    let config = &ctx.config;
    let client = ctx.client()?;

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

    let store = ctx.engine_store()?;
    let engine = Engine::new(client, store.clone(), config.session_timeout, "serve");
    let settings = Settings::from_config(config);
    let state = AppState::new(engine, store, settings);

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

/// A JWT-shaped token for the in-process fake (never sent anywhere else).
const FAKE_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.fake-signature";

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
