//! Password hashing as a managed resource: Argon2id on a fixed set of worker threads,
//! at most `workers` hashes at a time, so the async runtime never stalls on a hash, and
//! a queue bounded by the wait it causes (see `admission`).
//! Each worker owns one Argon2 memory buffer, allocated at its first hash and reused
//! for every hash after it, so hashing memory is exactly `workers × memory_kib`
//! whatever the load. (Allocating it per hash, as the argon2 crate's convenience API
//! does, let glibc keep freed buffers per thread arena: 200 MB resident after a
//! login burst with two workers, measured with bench/run.) It stays after a burst:
//! freeing it when idle only moved it into glibc's arena (64 MB resident before and
//! after), and mimalloc kept more (60 MB idle).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::oneshot;

use super::admission::{HashMetrics, PoolSettings, Queue, Ticket};
use super::outcome::{HashError, Verdict};
use super::policy::normalize;
use super::worker::{Inner, Job, work};

/// Argon2id cost. The defaults are OWASP's first recommendation (19 MiB, 2 passes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A place in the hashing queue ([`Hasher::reserve`]); dropping it gives it back.
pub struct Reservation(Ticket);

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

impl Hasher {
    /// Builds the hasher and starts its workers, the first of which makes the dummy
    /// hash (and so measures what a hash costs here) while the server starts.
    pub fn new(
        params: HashParams,
        pool: PoolSettings,
        metrics: HashMetrics,
    ) -> Result<Self, HashError> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(HashError::Params)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let estimate = first_estimate(&params);
        let workers = pool.workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let inner = Arc::new(Inner::new(
            argon2,
            params,
            Queue::new(pool, estimate, metrics),
            jobs,
        ));
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = Arc::clone(&queue);
            // Workers hold only a weak reference: they end with the last Hasher.
            let owner = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name(format!("sesame-hash-{n}"))
                .spawn(move || work(&queue, &owner))
                .map_err(|e| HashError::Hashing(e.to_string()))?;
        }
        // The first job: the dummy hash, made while the server starts, not before.
        // Its own buffer, freed at once: an idle server keeps none.
        let warm_up: Job = Box::new(|inner, _| {
            if let Err(e) = inner.dummy(&mut Vec::new()) {
                tracing::error!(error = %e, "the dummy password hash could not be made");
            }
        });
        inner
            .jobs
            .lock()
            .map_err(|_| HashError::Closed)?
            .send(warm_up)
            .map_err(|_| HashError::Closed)?;
        Ok(Self { inner })
    }

    /// Takes a place in the hashing queue for a request from `client` (for its share of
    /// the queue), or says when to retry. Taken before any other work of the request,
    /// so a request that will be refused costs nothing else.
    pub fn reserve(&self, client: Option<IpAddr>) -> Result<Reservation, HashError> {
        self.inner
            .queue
            .admit(client)
            .map(Reservation)
            .map_err(HashError::Overloaded)
    }

    /// Hashes an (already normalized) password with the current parameters.
    pub async fn hash(
        &self,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<SecretString, HashError> {
        let reservation = self.reserve(client)?;
        self.run(reservation, move |inner, memory| {
            inner.hash(password.expose_secret().as_bytes(), memory)
        })
        .await?
    }

    /// Checks `password` (as the user sent it) against `stored`, or against the dummy
    /// hash when there is no such user, so both failures take the same time.
    pub async fn verify(
        &self,
        reservation: Reservation,
        password: SecretString,
        stored: Option<SecretString>,
    ) -> Result<Verdict, HashError> {
        self.run(reservation, move |inner, memory| match stored {
            Some(stored) => inner.verify(&password, stored.expose_secret(), memory),
            None => {
                let normalized = normalize(&password);
                let dummy = inner.dummy(memory)?.to_owned();
                let _ = inner.verify_argon2(normalized.expose_secret(), &dummy, memory);
                Ok(Verdict::Mismatch)
            }
        })
        .await?
    }

    async fn run<T, F>(&self, Reservation(ticket): Reservation, job: F) -> Result<T, HashError>
    where
        F: FnOnce(&Inner, &mut Vec<Block>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        // The ticket moves into the job: a client that hangs up does not free its place
        // before the job is done with, and the job itself is skipped, since no one waits
        // for its result any more.
        let job: Job = Box::new(move |inner, memory| {
            let ticket: Ticket = ticket;
            if reply.is_closed() {
                return;
            }
            inner
                .queue
                .metrics
                .wait_seconds
                .record(ticket.admitted.elapsed().as_secs_f64());
            let started = Instant::now();
            let outcome = job(inner, memory);
            inner.queue.record(started.elapsed());
            let _ = reply.send(outcome);
        });
        self.inner
            .jobs
            .lock()
            .map_err(|_| HashError::Closed)?
            .send(job)
            .map_err(|_| HashError::Closed)?;
        result.await.map_err(|_| HashError::Closed)
    }
}

/// What a hash is taken to cost until the dummy hash has measured it: 1 µs per KiB per
/// pass, above what a current x86 core needs (about 0.6 µs), so that the queue admits
/// too few rather than too many in the first milliseconds.
fn first_estimate(params: &Params) -> std::time::Duration {
    let kib_passes = u64::from(params.m_cost()) * u64::from(params.t_cost());
    std::time::Duration::from_micros(kib_passes)
}
