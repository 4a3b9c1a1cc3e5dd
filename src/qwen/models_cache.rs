//! The cached upstream model list: in memory for every clone of one client, and optionally
//! in a file so one-shot commands (`qwenctl models`, `qwenctl chat`) share it across runs.
//!
//! The list changes rarely and every completion needs it to resolve a model name, so it is
//! kept for `MODELS_CACHE_DURATION`; a burst of requests on a cold cache makes one upstream
//! call, not one each. The file is keyed by the base URL, so a list fetched from the fake
//! upstream is never taken for the real one's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Model, QwenError};
use crate::time::since_epoch;

/// Cached list with the moment it was fetched.
type Slot = Option<(Instant, Arc<Vec<Model>>)>;

pub(crate) struct ModelsCache {
    ttl: Duration,
    file: Option<PathBuf>,
    /// The upstream the list came from; the file is only used for the same one.
    base_url: String,
    slot: Mutex<Slot>,
    /// Held while the list is being fetched, so concurrent callers wait for that one fetch.
    refresh: tokio::sync::Mutex<()>,
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
            slot: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached list while it is fresh, else the file's, else what `fetch` returns (which
    /// is then cached).
    pub async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<Arc<Vec<Model>>, QwenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Model>, QwenError>>,
    {
        if let Some(models) = self.fresh() {
            return Ok(models);
        }
        let _refreshing = self.refresh.lock().await;
        // Someone else may have fetched it while we waited.
        if let Some(models) = self.fresh() {
            return Ok(models);
        }
        if let Some((age, models)) = self.read_file() {
            let models = Arc::new(models);
            *self.slot() = Some((Instant::now() - age, Arc::clone(&models)));
            return Ok(models);
        }
        let models = Arc::new(fetch().await?);
        *self.slot() = Some((Instant::now(), Arc::clone(&models)));
        self.write_file(&models);
        Ok(models)
    }

    fn fresh(&self) -> Option<Arc<Vec<Model>>> {
        self.slot()
            .as_ref()
            .filter(|(fetched, _)| fetched.elapsed() < self.ttl)
            .map(|(_, models)| Arc::clone(models))
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere while holding the lock cannot leave the cache half-written (it is
        // one assignment), so a poisoned lock is still usable.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh model list from the cache file, with its age.
    fn read_file(&self) -> Option<(Duration, Vec<Model>)> {
        let path = self.file.as_ref()?;
        let cached: ModelsFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let age = since_epoch().checked_sub(Duration::from_millis(cached.fetched_at_ms))?;
        (cached.base_url == self.base_url && age < self.ttl).then_some((age, cached.models))
    }

    /// Best effort: a cache that cannot be written only costs a refetch next time.
    fn write_file(&self, models: &[Model]) {
        let Some(path) = &self.file else {
            return;
        };
        let cached = ModelsFile {
            base_url: self.base_url.clone(),
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
}
