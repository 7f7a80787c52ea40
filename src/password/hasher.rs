//! Password hashing as a managed resource: Argon2id on tokio's blocking pool, at most
//! `workers` hashes at a time, so memory stays at `workers × memory_kib` whatever the
//! load and the async runtime never stalls on a hash.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Semaphore;

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
    #[error("the hashing task was lost: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the hashing pool is closed")]
    Closed,
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

/// A hash accepted by `sesame user import`: bcrypt (passlib's `$2a$`, `$2b$`, `$2y$`) or
/// an Argon2 PHC string.
#[derive(Debug)]
pub struct ImportedHash(SecretString);

impl ImportedHash {
    pub fn parse(hash: &str) -> Result<Self, &'static str> {
        if is_bcrypt(hash) {
            hash.parse::<bcrypt::HashParts>()
                .map_err(|_| "malformed bcrypt hash")?;
        } else if hash.starts_with("$argon2") {
            let parsed = PasswordHash::new(hash).map_err(|_| "malformed Argon2 PHC string")?;
            Params::try_from(&parsed).map_err(|_| "unsupported Argon2 parameters")?;
        } else {
            return Err("unsupported hash format (expected bcrypt $2a$/$2b$/$2y$ or Argon2 PHC)");
        }
        Ok(Self(SecretString::from(hash)))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password with the current parameters: unknown emails are
    /// verified against it so they cost the same time as a wrong password.
    dummy: String,
}

impl Hasher {
    /// Builds the hasher and computes its dummy hash (one hash, on the calling thread).
    pub fn new(params: HashParams, workers: usize) -> Result<Self, HashError> {
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
        let dummy = argon2
            .hash_password(&random)
            .map_err(|e| HashError::Hashing(e.to_string()))?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                argon2,
                params,
                permits: Arc::new(Semaphore::new(workers.max(1))),
                dummy,
            }),
        })
    }

    /// Hashes an (already normalized) password with the current parameters.
    pub async fn hash(&self, password: SecretString) -> Result<SecretString, HashError> {
        self.run(move |inner| inner.hash(password.expose_secret().as_bytes()))
            .await?
    }

    /// Checks `password` (as the user sent it) against `stored`, or against the dummy
    /// hash when there is no such user, so both failures take the same time.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<SecretString>,
    ) -> Result<Verdict, HashError> {
        self.run(move |inner| match stored {
            Some(stored) => inner.verify(&password, stored.expose_secret()),
            None => {
                let normalized = normalize(&password);
                let _ = inner.verify_argon2(normalized.expose_secret(), &inner.dummy);
                Ok(Verdict::Mismatch)
            }
        })
        .await?
    }

    async fn run<T, F>(&self, work: F) -> Result<T, HashError>
    where
        F: FnOnce(&Inner) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        let inner = Arc::clone(&self.inner);
        // The permit moves into the task: a client that hangs up does not free the slot
        // before the hash that occupies it has finished.
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&inner)
        })
        .await?;
        Ok(result)
    }
}

impl Inner {
    fn hash(&self, password: &[u8]) -> Result<SecretString, HashError> {
        self.argon2
            .hash_password(password)
            .map(|hash| SecretString::from(hash.to_string()))
            .map_err(|e| HashError::Hashing(e.to_string()))
    }

    fn verify(&self, password: &SecretString, stored: &str) -> Result<Verdict, HashError> {
        if is_bcrypt(stored) {
            // Imported passlib hashes were made over the raw bytes. Never truncating:
            // past bcrypt's 72 bytes the check fails instead of comparing a prefix.
            let raw = password.expose_secret().as_bytes();
            return match bcrypt::non_truncating_verify(raw, stored) {
                Ok(true) => Ok(Verdict::Match {
                    upgraded: Some(self.hash(normalize(password).expose_secret().as_bytes())?),
                }),
                Ok(false) | Err(_) => Ok(Verdict::Mismatch),
            };
        }
        let normalized = normalize(password);
        match self.verify_argon2(normalized.expose_secret(), stored) {
            Some(true) if self.is_current(stored) => Ok(Verdict::Match { upgraded: None }),
            Some(true) => Ok(Verdict::Match {
                upgraded: Some(self.hash(normalized.expose_secret().as_bytes())?),
            }),
            Some(false) => Ok(Verdict::Mismatch),
            None => {
                tracing::warn!("a stored password hash could not be parsed");
                Ok(Verdict::Mismatch)
            }
        }
    }

    /// `None` when `stored` is not a usable Argon2 PHC string.
    fn verify_argon2(&self, password: &str, stored: &str) -> Option<bool> {
        let hash = PasswordHash::new(stored).ok()?;
        Some(
            self.argon2
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
        )
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
