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

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::oneshot;

use super::admission::{HashMetrics, Overloaded, PoolSettings, Queue, Ticket};
use super::imported::is_bcrypt;
use super::policy::normalize;

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

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(argon2::Error),
    #[error("hashing failed: {0}")]
    Hashing(String),
    #[error("the hashing pool is closed")]
    Closed,
    #[error("the hashing queue is full")]
    Overloaded(Overloaded),
}

/// The outcome of checking a password.
#[derive(Debug)]
pub enum Verdict {
    /// The password is right. `upgraded` holds a fresh hash when the stored one was
    /// made with other parameters or another algorithm (bcrypt imports).
    Match {
        upgraded: Option<SecretString>,
    },
    Mismatch,
}

/// A place in the hashing queue ([`Hasher::reserve`]); dropping it gives it back.
pub struct Reservation(Ticket);

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

type Job = Box<dyn FnOnce(&Inner, &mut Vec<Block>) + Send>;

struct Inner {
    argon2: Argon2<'static>,
    params: Params,
    queue: Arc<Queue>,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// A hash of a random password with the current parameters: unknown emails are
    /// verified against it so they cost the same time as a wrong password.
    dummy: String,
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

/// A worker's loop: take the next job, run it, until the hasher is gone.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, owner: &std::sync::Weak<Inner>) {
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let Some(inner) = owner.upgrade() else { return };
        job(&inner, &mut memory);
    }
}

impl Inner {
    fn hash(&self, password: &[u8], memory: &mut Vec<Block>) -> Result<SecretString, HashError> {
        let failed = |e: &dyn std::fmt::Display| HashError::Hashing(e.to_string());
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|e| failed(&e))?;
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.argon2
            .hash_password_into_with_memory(
                password,
                &salt,
                &mut output,
                grown(memory, &self.params),
            )
            .map_err(|e| failed(&e))?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
        };
        Ok(SecretString::from(hash.to_string()))
    }

    fn verify(
        &self,
        password: &SecretString,
        stored: &str,
        memory: &mut Vec<Block>,
    ) -> Result<Verdict, HashError> {
        if is_bcrypt(stored) {
            // Imported passlib hashes were made over the raw bytes. Never truncating:
            // past bcrypt's 72 bytes the check fails instead of comparing a prefix.
            let raw = password.expose_secret().as_bytes();
            return match bcrypt::non_truncating_verify(raw, stored) {
                Ok(true) => Ok(Verdict::Match {
                    upgraded: Some(
                        self.hash(normalize(password).expose_secret().as_bytes(), memory)?,
                    ),
                }),
                Ok(false) | Err(_) => Ok(Verdict::Mismatch),
            };
        }
        let normalized = normalize(password);
        match self.verify_argon2(normalized.expose_secret(), stored, memory) {
            Some(true) if self.is_current(stored) => Ok(Verdict::Match { upgraded: None }),
            Some(true) => Ok(Verdict::Match {
                upgraded: Some(self.hash(normalized.expose_secret().as_bytes(), memory)?),
            }),
            Some(false) => Ok(Verdict::Mismatch),
            None => {
                tracing::warn!("a stored password hash could not be parsed");
                Ok(Verdict::Mismatch)
            }
        }
    }

    /// `None` when `stored` is not a usable Argon2 PHC string. Hashes made with other
    /// parameters (imports, older settings) are checked with their own parameters.
    fn verify_argon2(&self, password: &str, stored: &str, memory: &mut Vec<Block>) -> Option<bool> {
        let hash = PasswordHash::new(stored).ok()?;
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return None;
        };
        let params = Params::try_from(&hash).ok()?;
        let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
        let version = Version::try_from(hash.version.unwrap_or(Version::V0x13.into())).ok()?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut output = vec![0u8; expected.len()];
        if params.block_count() <= self.params.block_count() {
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut output,
                grown(memory, &params),
            )
        } else {
            // Costlier than today's parameters (an import): a buffer for this hash only,
            // so the worker's own stays at the configured size.
            argon2.hash_password_into(password.as_bytes(), salt.as_ref(), &mut output)
        }
        .ok()?;
        // Output's equality is constant-time.
        Some(Output::new(&output).ok()? == *expected)
    }

    fn is_current(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return false;
        };
        let same_params = Params::try_from(&hash).is_ok_and(|p| {
            p.m_cost() == self.params.m_cost()
                && p.t_cost() == self.params.t_cost()
                && p.p_cost() == self.params.p_cost()
        });
        hash.algorithm.as_str() == "argon2id"
            && hash.version == Some(Version::V0x13.into())
            && same_params
    }
}

/// The worker's buffer, grown (never shrunk) to what `params` needs.
fn grown<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    &mut memory[..params.block_count()]
}
