//! The cached upstream model list: in memory for every clone of one client, and optionally
//! in a file so one-shot commands (`qwenctl models`, `qwenctl chat`) share it across runs.
//!
//! Every chat needs the list to resolve a model name, so the list must never make a chat
//! wait on the upstream:
//! - a list younger than `MODELS_CACHE_DURATION` is served as is; an older one is still
//!   served at once while one background task fetches a new one (stale-while-revalidate);
//! - only one fetch is ever in flight: it runs as its own task, and callers that need its
//!   result wait on a channel, never on a lock held across the fetch, each for as long as it
//!   chooses (a chat only briefly, then goes ahead without the list);
//! - a failed fetch is remembered for [`FAILURE_TTL`]: meanwhile callers without a list get
//!   that error at once, and no new fetch starts (a stale list keeps being served).
//!
//! The file is keyed by the base URL, so a list fetched from the fake upstream is never taken
//! for the real one's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Model, QwenError};
use crate::time::since_epoch;

/// How long a failed fetch is remembered before the next one may start.
pub(crate) const FAILURE_TTL: Duration = Duration::from_secs(30);

type Models = Arc<Vec<Model>>;
/// What a fetch ended with; `None` while it runs.
type Outcome = Option<Result<Models, QwenError>>;

pub(crate) struct ModelsCache {
    ttl: Duration,
    file: Option<PathBuf>,
    /// The upstream the list came from; the file is only used for the same one.
    base_url: String,
    /// Shared with the fetch task, which writes its outcome here.
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// The last list fetched, with the moment it was fetched.
    list: Option<(Instant, Models)>,
    /// The last failure, while no fetch succeeded after it.
    failure: Option<(Instant, QwenError)>,
    /// The fetch in flight, if any.
    refresh: Option<watch::Receiver<Outcome>>,
}

/// The on-disk form of the cache.
#[derive(serde::Serialize, serde::Deserialize)]
struct ModelsFile {
    base_url: String,
    fetched_at_ms: u64,
    models: Vec<Model>,
}

impl ModelsCache {
    pub fn new(ttl: Duration, file: Option<PathBuf>, base_url: String) -> Self {
        ModelsCache {
            ttl,
            file,
            base_url,
            state: Arc::default(),
        }
    }

    /// The list: the cached one when there is one (refreshed in the background once older
    /// than the TTL), else the file's, else the outcome of a fetch, waiting for it at most
    /// `wait` (`None`: until it ends). A fetch is started with `fetch` only when none is in
    /// flight and none failed within [`FAILURE_TTL`]; it goes on after a caller stopped
    /// waiting, so its list serves the next one.
    pub async fn get<F, Fut>(&self, fetch: F, wait: Option<Duration>) -> Result<Models, QwenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Model>, QwenError>> + Send + 'static,
    {
        let mut refresh = {
            let mut state = lock(&self.state);
            let failed_recently = state
                .failure
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < FAILURE_TTL);
            if let Some((fetched, models)) = &state.list {
                let models = Arc::clone(models);
                if fetched.elapsed() >= self.ttl && state.refresh.is_none() && !failed_recently {
                    self.start_fetch(&mut state, fetch);
                }
                return Ok(models);
            }
            if let Some(rx) = &state.refresh {
                rx.clone()
            } else if let Some((_, err)) = state.failure.as_ref().filter(|_| failed_recently) {
                return Err(err.clone());
            } else if let Some((age, models)) = self.read_file() {
                let models = Arc::new(models);
                let fetched = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                state.list = Some((fetched, Arc::clone(&models)));
                return Ok(models);
            } else {
                self.start_fetch(&mut state, fetch)
            }
        };
        let outcome = refresh.wait_for(Option::is_some);
        let outcome = match wait {
            Some(limit) => tokio::time::timeout(limit, outcome)
                .await
                .map_err(|_| QwenError::Timeout(limit))?,
            None => outcome.await,
        };
        match outcome {
            Ok(done) => done.clone().unwrap_or_else(|| Err(abandoned())),
            Err(_) => Err(abandoned()),
        }
    }

    /// Spawns the one fetch; returns the receiver its outcome arrives on.
    fn start_fetch<F, Fut>(&self, state: &mut State, fetch: F) -> watch::Receiver<Outcome>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Model>, QwenError>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        state.refresh = Some(rx.clone());
        let shared = Arc::clone(&self.state);
        let file = self.file.clone().map(|path| (path, self.base_url.clone()));
        let fetching = fetch();
        tokio::spawn(async move {
            let outcome = fetching.await.map(Arc::new);
            {
                let mut state = lock(&shared);
                state.refresh = None;
                match &outcome {
                    Ok(models) => {
                        state.list = Some((Instant::now(), Arc::clone(models)));
                        state.failure = None;
                    }
                    Err(err) => {
                        tracing::debug!(kind = err.kind().as_str(), "model list fetch failed");
                        state.failure = Some((Instant::now(), err.clone()));
                    }
                }
            }
            if let (Ok(models), Some((path, base_url))) = (&outcome, file) {
                write_file(&path, base_url, models);
            }
            tx.send_replace(Some(outcome));
        });
        rx
    }

    /// A fresh model list from the cache file, with its age.
    fn read_file(&self) -> Option<(Duration, Vec<Model>)> {
        let path = self.file.as_ref()?;
        let cached: ModelsFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let age = since_epoch().checked_sub(Duration::from_millis(cached.fetched_at_ms))?;
        (cached.base_url == self.base_url && age < self.ttl).then_some((age, cached.models))
    }
}

/// The fetch task ended without an outcome (the runtime is shutting down).
fn abandoned() -> QwenError {
    QwenError::Network("the model list fetch was abandoned".into())
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every update is a few assignments that cannot panic halfway, so a poisoned lock still
    // holds a consistent state.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Best effort: a cache that cannot be written only costs a refetch next time.
fn write_file(path: &std::path::Path, base_url: String, models: &[Model]) {
    let cached = ModelsFile {
        base_url,
        fetched_at_ms: since_epoch().as_millis() as u64,
        models: models.to_vec(),
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, serde_json::to_vec(&cached).unwrap_or_default()));
    if let Err(err) = written {
        tracing::debug!("cannot write the model cache {}: {err}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn model(id: &str) -> Model {
        Model {
            id: id.into(),
            name: id.into(),
            context_length: None,
            capabilities: Default::default(),
            created: 0,
        }
    }

    type Fetching =
        std::pin::Pin<Box<dyn Future<Output = Result<Vec<Model>, QwenError>> + Send + 'static>>;

    /// A fetch that counts its calls and answers after `delay` with `result`.
    fn fetcher(
        calls: &Arc<AtomicUsize>,
        delay: Duration,
        result: Result<Vec<Model>, QwenError>,
    ) -> impl FnOnce() -> Fetching + Send + use<> {
        let calls = Arc::clone(calls);
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                result
            })
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_stop_waiting_when_they_choose() {
        let cache = Arc::new(ModelsCache::new(Duration::from_secs(60), None, "u".into()));
        let calls = Arc::new(AtomicUsize::new(0));
        let slow = Duration::from_millis(300);
        let mut waiters = Vec::new();
        for _ in 0..5 {
            let (cache, fetch) = (
                Arc::clone(&cache),
                fetcher(&calls, slow, Ok(vec![model("a")])),
            );
            waiters.push(tokio::spawn(async move {
                cache.get(fetch, Some(Duration::from_millis(50))).await
            }));
        }
        for waiter in waiters {
            let result = waiter.await.unwrap();
            assert_eq!(result, Err(QwenError::Timeout(Duration::from_millis(50))));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one fetch for all");
        // The fetch went on without them; a patient caller gets its list, without a new fetch.
        let patient = fetcher(&calls, slow, Ok(vec![model("b")]));
        let list = cache.get(patient, None).await.unwrap();
        assert_eq!(list[0].id, "a");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stale_list_is_served_at_once_while_one_refresh_runs() {
        let cache = ModelsCache::new(Duration::ZERO, None, "u".into());
        let calls = Arc::new(AtomicUsize::new(0));
        let quick = Duration::from_millis(1);
        let first = cache
            .get(fetcher(&calls, quick, Ok(vec![model("a")])), None)
            .await
            .unwrap();
        assert_eq!(first[0].id, "a");
        // Stale at once (TTL 0): served immediately, refreshed behind the caller's back.
        let slow = Duration::from_millis(200);
        for _ in 0..3 {
            let list = cache
                .get(
                    fetcher(&calls, slow, Ok(vec![model("b")])),
                    Some(Duration::ZERO),
                )
                .await
                .unwrap();
            assert_eq!(list[0].id, "a");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one refresh in flight");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let list = cache
            .get(
                fetcher(&calls, slow, Ok(vec![model("c")])),
                Some(Duration::ZERO),
            )
            .await
            .unwrap();
        assert_eq!(list[0].id, "b", "the refresh replaced the list");
    }

    #[tokio::test]
    async fn failures_are_remembered_briefly() {
        let cache = ModelsCache::new(Duration::ZERO, None, "u".into());
        let calls = Arc::new(AtomicUsize::new(0));
        let down = || Err(QwenError::Network("down".into()));
        let err = cache
            .get(fetcher(&calls, Duration::ZERO, down()), None)
            .await;
        assert_eq!(err, down().map(Arc::new));
        // Within FAILURE_TTL: the same error at once, no new fetch.
        let again = cache
            .get(fetcher(&calls, Duration::ZERO, Ok(vec![model("a")])), None)
            .await;
        assert_eq!(again, down().map(Arc::new));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Once it has passed, the next caller fetches again.
        lock(&cache.state).failure.as_mut().unwrap().0 -= FAILURE_TTL;
        let list = cache
            .get(fetcher(&calls, Duration::ZERO, Ok(vec![model("a")])), None)
            .await
            .unwrap();
        assert_eq!(list[0].id, "a");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A failed refresh keeps the stale list served, and is not retried at once.
        let _ = cache
            .get(fetcher(&calls, Duration::ZERO, down()), None)
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..3 {
            let list = cache
                .get(fetcher(&calls, Duration::ZERO, down()), None)
                .await
                .unwrap();
            assert_eq!(list[0].id, "a");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
