//! [`KeyStore`] on any engine.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::{Conn, Engine, Row, connection, write_connection};
use time::OffsetDateTime;

use crate::store::{KeyStore, SecretBytes, StoreError, StoredKey};

const ACTIVE: &str = "SELECT kid, alg, private_key_pem, created_at FROM signing_keys
     WHERE alg = $1 AND active = TRUE";
// The partial unique index on active keys makes a concurrent second insert a no-op.
const SECRET_IF_NONE: &str = "INSERT INTO server_secrets (name, secret, created_at)
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
const SECRET: &str = "SELECT secret FROM server_secrets WHERE name = $1";
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
        write_connection(self)
            .await?
            .execute(INSERT_IF_NONE, &args)
            .await?;
        self.active_signing_key(&key.alg)
            .await?
            .ok_or(StoreError::Inconsistent(
                "no active signing key after inserting one",
            ))
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: &SecretBytes,
        now: OffsetDateTime,
    ) -> Result<SecretBytes, StoreError> {
        let mut conn = write_connection(self).await?;
        let args = [name.into(), candidate.0.as_slice().into(), now.into()];
        conn.execute(SECRET_IF_NONE, &args).await?;
        let row = conn.fetch_optional(SECRET, &[name.into()]).await?;
        let row = row.ok_or(StoreError::Inconsistent(
            "no server secret after inserting one",
        ))?;
        Ok(SecretBytes(row.bytes("secret")?))
    }
}
