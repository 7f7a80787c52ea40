//! [`ApiKeyStore`] on any engine.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Conn, End, Engine, Row, WriteTx, connection, write_connection};
use crate::audit::Event;
use crate::store::{ApiKeyInfo, ApiKeyStore, LAST_USED_PRECISION, NewApiKey, StoreError};

pub(super) const INSERT: &str =
    "INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)";
pub(super) const LIVE: &str =
    "SELECT id, last_used_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
pub(super) const STAMP: &str = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1";
pub(super) const LIST: &str = "SELECT id, name, created_at, last_used_at, revoked_at FROM api_keys
     ORDER BY created_at, id";
pub(super) const REVOKE: &str = "UPDATE api_keys SET revoked_at = $2
     WHERE name = $1 AND revoked_at IS NULL RETURNING id";

#[async_trait]
impl<E: Engine> ApiKeyStore for E {
    async fn create_api_key(&self, key: &NewApiKey, event: &Event) -> Result<(), StoreError> {
        WriteTx::run(self, async |tx| {
            let args = [
                key.id.into(),
                key.name.as_str().into(),
                key.digest.as_slice().into(),
                key.created_at.into(),
            ];
            tx.execute(INSERT, &args).await?;
            tx.record(event).await?;
            Ok(End::Commit(()))
        })
        .await
    }

    async fn use_api_key(
        &self,
        digest: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Uuid>, StoreError> {
        let Some(row) = connection(self)
            .await?
            .fetch_optional(LIVE, &[digest.into()])
            .await?
        else {
            return Ok(None);
        };
        let id = row.uuid("id")?;
        let stale = row
            .opt_time("last_used_at")?
            .is_none_or(|at| now - at >= LAST_USED_PRECISION);
        if stale {
            write_connection(self)
                .await?
                .execute(STAMP, &[id.into(), now.into()])
                .await?;
        }
        Ok(Some(id))
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = connection(self).await?.fetch_all(LIST, &[]).await?;
        rows.iter()
            .map(|row| {
                Ok(ApiKeyInfo {
                    id: row.uuid("id")?,
                    name: row.text("name")?,
                    created_at: row.time("created_at")?,
                    last_used_at: row.opt_time("last_used_at")?,
                    revoked_at: row.opt_time("revoked_at")?,
                })
            })
            .collect()
    }

    async fn revoke_api_key(
        &self,
        name: &str,
        now: OffsetDateTime,
        event: Event,
    ) -> Result<Option<Uuid>, StoreError> {
        WriteTx::run(self, async |tx| {
            let Some(row) = tx
                .fetch_optional(REVOKE, &[name.into(), now.into()])
                .await?
            else {
                return Ok(End::RollBack(None));
            };
            let id = row.uuid("id")?;
            let event = event.detail("key_id", id.to_string());
            tx.record(&event).await?;
            Ok(End::Commit(Some(id)))
        })
        .await
    }
}
