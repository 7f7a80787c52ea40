//! The issuer's key set, cached: refetched when its `max-age` has passed or a token
//! names a key it lacks, never more than once a minute, one fetch at a time, and kept
//! as it was when the issuer cannot be reached.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;

/// How long a key set is used when the issuer says nothing about caching it.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Cached {
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    max_age: Duration,
}

pub(crate) struct KeyCache {
    url: String,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    /// Held while fetching (one fetch at a time); holds when the last one began.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    min_interval: Duration,
    fetches: AtomicU64,
}

impl KeyCache {
    pub(crate) fn new(url: String, min_interval: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            url,
            http,
            cached: RwLock::default(),
            last_fetch: tokio::sync::Mutex::new(None),
            min_interval,
            fetches: AtomicU64::new(0),
        }
    }

    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key named `kid`, fetching the set first if it is stale or lacks it.
    pub(crate) async fn key(&self, kid: &str) -> Option<DecodingKey> {
        if let (Some(key), true) = self.lookup(kid) {
            return Some(key);
        }
        // A failed fetch leaves the set as it was: stale keys are better than none
        // while the issuer is unreachable.
        self.refetch().await;
        self.lookup(kid).0
    }

    /// Whether the set holds `kid` (as last fetched).
    pub(crate) fn holds(&self, kid: &str) -> bool {
        self.cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys
            .contains_key(kid)
    }

    fn lookup(&self, kid: &str) -> (Option<DecodingKey>, bool) {
        let cached = self
            .cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = cached
            .fetched
            .is_some_and(|at| at.elapsed() < cached.max_age);
        (cached.keys.get(kid).cloned(), fresh)
    }

    /// Fetches the set unless a fetch began less than `min_interval` ago (waiting for
    /// one under way rather than starting a second).
    async fn refetch(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_interval) {
            return;
        }
        *last = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        if let Some(fetched) = self.fetch().await {
            *self
                .cached
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = fetched;
        }
    }

    async fn fetch(&self) -> Option<Cached> {
        let response = self.http.get(&self.url).send().await.ok()?;
        let response = response.error_for_status().ok()?;
        let max_age = max_age(response.headers()).unwrap_or(DEFAULT_MAX_AGE);
        let set: JwkSet = response.json().await.ok()?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                Some((kid, DecodingKey::from_jwk(jwk).ok()?))
            })
            .collect();
        Some(Cached {
            keys,
            fetched: Some(Instant::now()),
            max_age,
        })
    }
}

/// `max-age` of a `Cache-Control` header.
fn max_age(headers: &axum::http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(axum::http::header::CACHE_CONTROL)?
        .to_str()
        .ok()?;
    value
        .split(',')
        .find_map(|part| part.trim().strip_prefix("max-age="))
        .and_then(|seconds| seconds.parse().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut headers = axum::http::HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert("cache-control", "public, max-age=3540".parse().unwrap());
        assert_eq!(max_age(&headers), Some(Duration::from_secs(3540)));
        headers.insert("cache-control", "no-store".parse().unwrap());
        assert_eq!(max_age(&headers), None);
    }
}
