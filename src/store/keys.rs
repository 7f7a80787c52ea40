//! Signing keys, kept in the store so that every instance signs with the same key.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::{NewMail, StoreError};
use crate::audit::Event;

/// A signing key as stored.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// Counts up per algorithm; only one key of an algorithm may have each.
    pub generation: i32,
    pub private_key: PrivateKey,
    pub created_at: OffsetDateTime,
    /// When it starts signing (it is published from `created_at`).
    pub signs_from: OffsetDateTime,
}

/// The private half of a stored signing key.
#[derive(Debug, Clone)]
pub enum PrivateKey {
    /// PKCS#8 sealed with the factor key, bound to the key id: how every key is kept.
    Sealed(SecretBytes),
    /// PKCS#8 PEM from before keys were sealed: read once, sealed, never written.
    Clear(SecretString),
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key for `alg`, oldest generation first.
    async fn signing_keys(&self, alg: &str) -> Result<Vec<StoredKey>, StoreError>;
    /// Stores `key` (sealed) unless its algorithm already has a key of its generation;
    /// whether it was stored.
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError>;
    /// Replaces the clear private key of `kid` with `sealed`, and makes the clear one
    /// unrecoverable from the database's files.
    async fn seal_signing_key(&self, kid: &str, sealed: &SecretBytes) -> Result<(), StoreError>;
    /// Removes the key `kid`; whether there was one.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError>;
    /// The server secret called `name`, stored as `candidate` if there is none yet;
    /// whichever is stored afterwards (ours, or the one of an instance that won the race).
    async fn server_secret(
        &self,
        name: &str,
        candidate: &SecretBytes,
        now: OffsetDateTime,
    ) -> Result<SecretBytes, StoreError>;
    /// Sets the existing server secret `name` to `secret`.
    async fn replace_server_secret(
        &self,
        name: &str,
        secret: &SecretBytes,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// How many secrets are sealed under the factor key (TOTP factors, pending ones
    /// included, and signing keys).
    async fn sealed_secrets(&self) -> Result<i64, StoreError>;
    /// For a factor key lost for good: removes every TOTP factor (with its recovery
    /// codes) and queues `notice` to each of their users, recording `event` for each,
    /// and removes the sealed signing keys (the next start makes a new one), in one
    /// transaction; how many factors were removed. Passkeys are not sealed and stay.
    async fn drop_sealed_secrets(&self, notice: &NewMail, event: &Event)
    -> Result<u64, StoreError>;
}

/// Key material that must never reach a log: `Debug` shows its length only.
#[derive(Clone)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes([redacted; {}])", self.0.len())
    }
}
