//! API keys: how services call the admin API. Only a SHA-256 digest of a key is kept
//! (a key is 256 random bits, so a slow hash would add nothing).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::audit::Event;

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    pub digest: Vec<u8>,
    pub created_at: OffsetDateTime,
}

/// A key as `sesame key list` shows it.
#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// How stale `last_used_at` may grow before a use stamps it again: one write a minute
/// per busy key, not one per request.
pub const LAST_USED_PRECISION: time::Duration = time::Duration::minutes(1);

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a key; [`StoreError::KeyNameTaken`] when a live key has its name.
    async fn create_api_key(&self, key: &NewApiKey, event: &Event) -> Result<(), StoreError>;
    /// The id of the live key with this digest, stamping its last use.
    async fn use_api_key(
        &self,
        digest: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Uuid>, StoreError>;
    async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError>;
    /// Revokes the live key named `name`; its id, or `None` if there is none. `event`
    /// is completed with the key's id.
    async fn revoke_api_key(
        &self,
        name: &str,
        now: OffsetDateTime,
        event: Event,
    ) -> Result<Option<Uuid>, StoreError>;
}
