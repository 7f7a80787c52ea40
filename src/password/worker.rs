//! What runs on a hashing worker thread: Argon2id into the worker's own buffer, and
//! verification of every stored format (current Argon2id, other Argon2 parameters,
//! imported bcrypt).

use std::sync::{Arc, Mutex, OnceLock, Weak, mpsc};
use std::time::Instant;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use secrecy::{ExposeSecret, SecretString};

use super::admission::Queue;
use super::imported::is_bcrypt;
use super::outcome::{HashError, Verdict};
use super::policy::normalize;

pub(super) type Job = Box<dyn FnOnce(&Inner, &mut Vec<Block>) + Send>;

/// The hasher's shared state: the Argon2 instance for the current parameters, the
/// queue, the job channel and the dummy hash.
pub(super) struct Inner {
    pub(super) argon2: Argon2<'static>,
    pub(super) params: Params,
    pub(super) queue: Arc<Queue>,
    pub(super) jobs: Mutex<mpsc::Sender<Job>>,
    /// A hash of a random password with the current parameters: unknown emails are
    /// verified against it so they cost the same time as a wrong password. Made by
    /// the first worker as its first job, not on the way to serving.
    dummy: OnceLock<String>,
}

/// A worker's loop: take the next job, run it, until the hasher is gone.
pub(super) fn work(queue: &Mutex<mpsc::Receiver<Job>>, owner: &Weak<Inner>) {
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
    pub(super) fn new(
        argon2: Argon2<'static>,
        params: Params,
        queue: Queue,
        jobs: mpsc::Sender<Job>,
    ) -> Self {
        Self {
            argon2,
            params,
            queue: Arc::new(queue),
            jobs: Mutex::new(jobs),
            dummy: OnceLock::new(),
        }
    }

    /// The dummy hash, made with `memory` if no worker has made it yet; the first one
    /// made also sets the queue's estimate of how long a hash takes.
    pub(super) fn dummy(&self, memory: &mut Vec<Block>) -> Result<&str, HashError> {
        if let Some(dummy) = self.dummy.get() {
            return Ok(dummy);
        }
        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random).map_err(|e| HashError::Hashing(e.to_string()))?;
        let started = Instant::now();
        let made = self.hash(&random, memory)?;
        self.queue.seed(started.elapsed());
        Ok(self.dummy.get_or_init(|| made.expose_secret().to_owned()))
    }

    pub(super) fn hash(
        &self,
        password: &[u8],
        memory: &mut Vec<Block>,
    ) -> Result<SecretString, HashError> {
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

    pub(super) fn verify(
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
    pub(super) fn verify_argon2(
        &self,
        password: &str,
        stored: &str,
        memory: &mut Vec<Block>,
    ) -> Option<bool> {
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
