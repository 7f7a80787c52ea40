//! Signing keys, kept in the store so that every instance signs with the same key.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::{NewMail, StoreError};
use crate::audit::Event;

/// A signing key as stored: the private key as PKCS#8 PEM.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_key_pem: SecretString,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The active signing key for `alg`, if one exists.
    async fn active_signing_key(&self, alg: &str) -> Result<Option<StoredKey>, StoreError>;
    /// Inserts `key` as the active key for its algorithm unless one already is, and
    /// returns whichever key is active afterwards (ours or the one that won the race).
    async fn insert_signing_key_if_none(&self, key: &StoredKey) -> Result<StoredKey, StoreError>;
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
    /// included).
    async fn sealed_secrets(&self) -> Result<i64, StoreError>;
    /// For a factor key lost for good: removes every TOTP factor (with its recovery
    /// codes) and queues `notice` to each of their users, recording `event` for each,
    /// in one transaction; how many were removed. Passkeys are not sealed and stay.
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
