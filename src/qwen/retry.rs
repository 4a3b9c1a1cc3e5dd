//! Retrying upstream calls that failed for a reason worth another try.
//!
//! Which failures are retryable is decided by [`QwenError::is_retryable`]; this file only
//! decides how often and how long to wait. The caller decides where retrying is safe: the
//! client wraps whole JSON calls, and for completions only the part before the first event,
//! so an answer never starts twice.

use std::future::Future;
use std::time::Duration;

use super::QwenError;

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(4);

/// Runs `op` up to `max_attempts` times while it fails with a retryable error, sleeping an
/// exponential backoff with full jitter in between (jitter keeps many clients that failed
/// together from retrying together).
pub(crate) async fn with_retry<T, F, Fut>(
    max_attempts: u32,
    operation: &'static str,
    mut op: F,
) -> Result<T, QwenError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QwenError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err) if err.is_retryable() && attempt < max_attempts => {
                let wait = backoff(attempt);
                tracing::info!(
                    operation,
                    attempt,
                    kind = err.kind().as_str(),
                    error = %err,
                    wait_ms = wait.as_millis() as u64,
                    "upstream request failed, retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Full-jitter exponential backoff before retry number `attempt` (1-based).
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        assert!(backoff(1) <= BACKOFF_BASE && backoff(30) <= BACKOFF_CAP);
    }
}
