//! Password hashing as a managed resource: Argon2id on a fixed set of worker threads,
//! at most `workers` hashes at a time, so the async runtime never stalls on a hash, and
//! a queue bounded by the wait it causes (see `admission`).
//! Each worker owns one Argon2 memory buffer, allocated at its first hash and reused
//! for every hash after it, so hashing memory is exactly `workers × memory_kib`
//! whatever the load. (Allocating it per hash, as the argon2 crate's convenience API
//! does, let glibc keep freed buffers per thread arena: 200 MB resident after a
//! login burst with two workers, measured with bench/run.)

use std::net::IpAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
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
    /// Builds the hasher and computes its dummy hash (one hash, on the calling thread,
    /// which also seeds the queue's estimate of how long a hash takes).
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
        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random).map_err(|e| HashError::Hashing(e.to_string()))?;
        let started = Instant::now();
        let dummy = argon2
            .hash_password(&random)
            .map_err(|e| HashError::Hashing(e.to_string()))?
            .to_string();
        let first_hash = started.elapsed();
        let workers = pool.workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let inner = Arc::new(Inner {
            argon2,
            params,
            queue: Arc::new(Queue::new(pool, first_hash, metrics)),
            jobs: Mutex::new(jobs),
            dummy,
        });
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
                let _ = inner.verify_argon2(normalized.expose_secret(), &inner.dummy, memory);
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
