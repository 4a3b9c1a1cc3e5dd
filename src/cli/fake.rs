//! `--fake-upstream` of `serve` and `chat`: the built-in fake of chat.qwen.ai, run in-process
//! so that both can be tried without credentials.
//!
//! Its port is bound before the configuration is resolved ([`bind`]) and its URL put in the
//! sources, so that `config::resolve` points the upstream and its credentials at it; the
//! fake itself starts later, on that listener, once there is a runtime ([`start`]).

use std::net::Ipv4Addr;

use anyhow::Context as _;
use qwen_fake::{FakeOptions, Limits};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::Sources;

/// Binds the fake's port on 127.0.0.1 and puts its URL in `sources`.
pub(crate) fn bind(sources: &mut Sources) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot bind a port for the fake upstream")?;
    sources.fake_upstream = Some(format!("http://{}", listener.local_addr()?));
    Ok(listener)
}

/// Serves the fake on the listener [`bind`] made, until the returned sender is dropped.
pub(crate) fn start(listener: std::net::TcpListener) -> anyhow::Result<oneshot::Sender<()>> {
    let start = || -> std::io::Result<oneshot::Sender<()>> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        tracing::info!(
            "fake upstream (no real Qwen involved) on http://{}",
            listener.local_addr()?
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        // A long-running fake keeps little history, so memory stays flat under any load.
        let options = FakeOptions {
            limits: Limits::SMALL,
            ..FakeOptions::default()
        };
        tokio::spawn(async move {
            if let Err(err) = qwen_fake::serve(listener, options, shutdown).await {
                tracing::error!("the fake upstream stopped: {err}");
            }
        });
        Ok(stop)
    };
    start().context("cannot start the fake upstream")
}
