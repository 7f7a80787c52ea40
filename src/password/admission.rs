//! Admission to the hashing pool: a hash is queued only when it can start within the
//! configured wait, and no single client address may hold more than its share of the
//! queue. Everything else is refused at once with a retry time, so a flood of logins
//! costs the server a few microseconds each instead of an unbounded queue, and one
//! flooding address cannot crowd out everyone else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram};

use crate::net::client_prefix;

/// How much hashing the pool admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Hashes computed at once (one thread each).
    pub workers: usize,
    /// The longest a hash may be expected to wait for a worker before requests are
    /// refused instead of queued.
    pub max_wait: Duration,
    /// The share of the queue, in percent, that one client address may hold.
    pub client_share_percent: u8,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            max_wait: Duration::from_secs(1),
            client_share_percent: 50,
        }
    }
}

/// What the pool reports; no-ops unless a metrics recorder supplied them.
#[derive(Clone)]
pub struct HashMetrics {
    /// Hashes admitted and not finished (queued or running).
    pub queue_depth: Gauge,
    /// Seconds from admission to a worker starting the hash.
    pub wait_seconds: Histogram,
    /// Hashes computed.
    pub hashes: Counter,
    /// Requests refused because the queue was full.
    pub rejected: Counter,
}

impl Default for HashMetrics {
    fn default() -> Self {
        Self {
            queue_depth: Gauge::noop(),
            wait_seconds: Histogram::noop(),
            hashes: Counter::noop(),
            rejected: Counter::noop(),
        }
    }
}

/// The queue would make this request wait too long: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded {
    pub retry_after: Duration,
}

pub(super) struct Queue {
    settings: PoolSettings,
    /// Admitted and not yet finished.
    pending: AtomicUsize,
    /// A moving average of one hash's duration, in microseconds.
    average_micros: AtomicU64,
    /// Pending hashes per client address.
    clients: Mutex<HashMap<IpAddr, usize>>,
    pub(super) metrics: HashMetrics,
}

/// A place in the queue; dropping it (the hash done, or abandoned) frees the place.
pub(super) struct Ticket {
    queue: Arc<Queue>,
    client: Option<IpAddr>,
    pub(super) admitted: Instant,
}

impl Queue {
    /// `first_hash` seeds the average until [`Queue::seed`] measures one.
    pub(super) fn new(settings: PoolSettings, first_hash: Duration, metrics: HashMetrics) -> Self {
        Self {
            settings: PoolSettings {
                workers: settings.workers.max(1),
                ..settings
            },
            pending: AtomicUsize::new(0),
            average_micros: AtomicU64::new(micros(first_hash)),
            clients: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub(super) fn average(&self) -> Duration {
        Duration::from_micros(self.average_micros.load(Ordering::Relaxed))
    }

    /// Sets the average to one measured hash: the dummy hash's, the first made.
    pub(super) fn seed(&self, took: Duration) {
        self.average_micros.store(micros(took), Ordering::Relaxed);
    }

    /// Folds one hash's duration into the average (weight 1/8: a few hashes follow a
    /// change of load, one slow hash does not swing it).
    pub(super) fn record(&self, took: Duration) {
        let old = self.average_micros.load(Ordering::Relaxed);
        let new = (old * 7 + micros(took)) / 8;
        self.average_micros.store(new, Ordering::Relaxed);
        self.metrics.hashes.increment(1);
    }

    /// How many pending hashes keep the expected wait within `max_wait`.
    fn capacity(&self, average: Duration) -> usize {
        let rounds = self.settings.max_wait.as_micros() / average.as_micros().max(1);
        let rounds = usize::try_from(rounds).unwrap_or(usize::MAX);
        self.settings
            .workers
            .saturating_mul(rounds.saturating_add(1))
    }

    /// The expected wait behind `ahead` pending hashes: the workers take them
    /// `workers` at a time.
    fn wait_behind(&self, ahead: usize, average: Duration) -> Duration {
        let rounds = u32::try_from(ahead / self.settings.workers).unwrap_or(u32::MAX);
        average.saturating_mul(rounds)
    }

    pub(super) fn admit(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Ticket, Overloaded> {
        let client = client.map(client_prefix);
        let ahead = self.pending.fetch_add(1, Ordering::SeqCst);
        let average = self.average();
        let wait = self.wait_behind(ahead, average);
        let refuse = |queue: &Self| {
            queue.pending.fetch_sub(1, Ordering::SeqCst);
            queue.metrics.rejected.increment(1);
            // The queue drains at `workers` hashes per average hash time; by then
            // there is room again.
            Err(Overloaded {
                retry_after: wait.max(average).max(Duration::from_secs(1)),
            })
        };
        if wait > self.settings.max_wait {
            return refuse(self);
        }
        if let Some(ip) = client {
            let share = usize::from(self.settings.client_share_percent.clamp(1, 100));
            let limit = (self.capacity(average) * share / 100).max(self.settings.workers);
            let Ok(mut clients) = self.clients.lock() else {
                return refuse(self);
            };
            let held = clients.entry(ip).or_default();
            if *held >= limit {
                drop(clients);
                return refuse(self);
            }
            *held += 1;
        }
        self.metrics.queue_depth.increment(1.0);
        Ok(Ticket {
            queue: Arc::clone(self),
            client,
            admitted: Instant::now(),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let queue = &self.queue;
        queue.pending.fetch_sub(1, Ordering::SeqCst);
        queue.metrics.queue_depth.decrement(1.0);
        if let (Some(ip), Ok(mut clients)) = (self.client, queue.clients.lock())
            && let Some(held) = clients.get_mut(&ip)
        {
            *held -= 1;
            if *held == 0 {
                clients.remove(&ip);
            }
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(workers: usize, max_wait_ms: u64, share: u8, hash_ms: u64) -> Arc<Queue> {
        Arc::new(Queue::new(
            PoolSettings {
                workers,
                max_wait: Duration::from_millis(max_wait_ms),
                client_share_percent: share,
            },
            Duration::from_millis(hash_ms),
            HashMetrics::default(),
        ))
    }

    #[test]
    fn admits_what_can_start_within_the_wait_and_refuses_the_rest() {
        // 2 workers, 100 ms hashes, 1 s: rounds of 2 hashes, 11 rounds (0 ms .. 1000 ms).
        let queue = queue(2, 1000, 100, 100);
        let tickets: Vec<_> = (0..22).map(|_| queue.admit(None).unwrap()).collect();
        let refused = queue.admit(None).err().unwrap();
        assert!(refused.retry_after >= Duration::from_secs(1));
        drop(tickets);
        assert!(queue.admit(None).is_ok(), "room again once hashes finish");
    }

    #[test]
    fn one_client_cannot_hold_more_than_its_share() {
        let queue = queue(2, 1000, 50, 100);
        let flood: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let held: Vec<_> = (0..11).map(|_| queue.admit(Some(flood)).unwrap()).collect();
        assert!(queue.admit(Some(flood)).is_err());
        let second = queue.admit(Some(other));
        assert!(second.is_ok(), "another address still gets in");
        drop(held);
        drop(second);
        assert_eq!(queue.pending.load(Ordering::SeqCst), 0);
        assert!(queue.clients.lock().unwrap().is_empty());
    }

    #[test]
    fn the_average_follows_measured_hashes() {
        let queue = queue(1, 1000, 100, 100);
        for _ in 0..64 {
            queue.record(Duration::from_millis(10));
        }
        let average = queue.average();
        assert!(average < Duration::from_millis(12), "{average:?}");
    }
}
