//! [`KeyStore`] on any engine.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::{Conn, Engine, Row, connection};
use crate::store::{KeyStore, StoreError, StoredKey};

const ACTIVE: &str = "SELECT kid, alg, private_key_pem, created_at FROM signing_keys
     WHERE alg = $1 AND active = TRUE";
// The partial unique index on active keys makes a concurrent second insert a no-op.
const INSERT_IF_NONE: &str =
    "INSERT INTO signing_keys (kid, alg, private_key_pem, created_at, active)
     VALUES ($1, $2, $3, $4, TRUE) ON CONFLICT DO NOTHING";

#[async_trait]
impl<E: Engine> KeyStore for E {
    async fn active_signing_key(&self, alg: &str) -> Result<Option<StoredKey>, StoreError> {
        let mut conn = connection(self).await?;
        let Some(row) = conn.fetch_optional(ACTIVE, &[alg.into()]).await? else {
            return Ok(None);
        };
        Ok(Some(StoredKey {
            kid: row.text("kid")?,
            alg: row.text("alg")?,
            private_key_pem: SecretString::from(row.text("private_key_pem")?),
            created_at: row.time("created_at")?,
        }))
    }

    async fn insert_signing_key_if_none(&self, key: &StoredKey) -> Result<StoredKey, StoreError> {
        let pem = key.private_key_pem.expose_secret();
        let args = [
            key.kid.as_str().into(),
            key.alg.as_str().into(),
            pem.into(),
            key.created_at.into(),
        ];
        connection(self)
            .await?
            .execute(INSERT_IF_NONE, &args)
            .await?;
        self.active_signing_key(&key.alg)
            .await?
            .ok_or(StoreError::Inconsistent(
                "no active signing key after inserting one",
            ))
    }
}
