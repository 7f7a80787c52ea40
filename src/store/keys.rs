//! Signing keys, kept in the store so that every instance signs with the same key.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::StoreError;

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
}

/// Key material that must never reach a log: `Debug` shows its length only.
#[derive(Clone)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes([redacted; {}])", self.0.len())
    }
}
