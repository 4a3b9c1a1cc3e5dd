//! Retrying upstream calls that failed for a reason worth another try.
//!
//! Which failures are retryable is decided by [`QwenError::is_retryable`]; this file only
//! decides how often and how long to wait. The caller decides where retrying is safe: the
//! client wraps whole JSON calls, and for completions only the part before the first event,
//! so an answer never starts twice. All attempts share one deadline: a retry is only made
//! when its backoff ends before it, so the deadline is what a caller waits at most.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::QwenError;

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(4);

/// Runs `op` up to `max_attempts` times while it fails with a retryable error, sleeping an
/// exponential backoff with full jitter in between (jitter keeps many clients that failed
/// together from retrying together). No retry starts after `deadline`: the last error is
/// returned instead. (`op` itself is bounded by the caller.)
pub(crate) async fn with_retry<T, F, Fut>(
    max_attempts: u32,
    operation: &'static str,
    deadline: Instant,
    mut op: F,
) -> Result<T, QwenError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QwenError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err)
                if err.is_retryable()
                    && attempt < max_attempts
                    && Instant::now() + backoff_ceiling(attempt) < deadline =>
            {
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
    backoff_ceiling(attempt).mul_f64(fastrand::f64())
}

/// The longest [`backoff`] before retry number `attempt`.
fn backoff_ceiling(attempt: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(BACKOFF_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        assert!(backoff(1) <= BACKOFF_BASE && backoff(30) <= BACKOFF_CAP);
    }

    #[tokio::test]
    async fn no_retry_starts_past_the_deadline() {
        let failing = || async { Err::<(), _>(QwenError::Network("down".into())) };
        let mut attempts = 0;
        let soon = Instant::now() + Duration::from_millis(100);
        let err = with_retry(5, "test", soon, || {
            attempts += 1;
            failing()
        })
        .await;
        assert_eq!(err, Err(QwenError::Network("down".into())));
        assert_eq!(attempts, 1, "a 250 ms backoff would end past the deadline");
        let mut attempts = 0;
        let later = Instant::now() + Duration::from_secs(60);
        let _ = with_retry(3, "test", later, || {
            attempts += 1;
            failing()
        })
        .await;
        assert_eq!(attempts, 3);
    }
}
