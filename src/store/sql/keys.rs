//! [`KeyStore`] on any engine.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::mfa::{DELETE_RECOVERY_CODES, DELETE_TOTP};
use super::outbox::queue_mail;
use super::users::RECOMPUTE_MFA;
use super::{Conn, End, Engine, Row, WriteTx, connection, write_connection};
use time::OffsetDateTime;

use crate::audit::Event;
use crate::store::{KeyStore, NewMail, SecretBytes, StoreError, StoredKey};

pub(super) const ACTIVE: &str = "SELECT kid, alg, private_key_pem, created_at FROM signing_keys
     WHERE alg = $1 AND active = TRUE";
// The partial unique index on active keys makes a concurrent second insert a no-op.
pub(super) const SECRET_IF_NONE: &str = "INSERT INTO server_secrets (name, secret, created_at)
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
pub(super) const SECRET: &str = "SELECT secret FROM server_secrets WHERE name = $1";
pub(super) const REPLACE_SECRET: &str =
    "UPDATE server_secrets SET secret = $2, created_at = $3 WHERE name = $1";
pub(super) const SEALED_SECRETS: &str = "SELECT count(*) AS n FROM totp_factors";
pub(super) const SEALED_USERS: &str = "SELECT user_id FROM totp_factors";
pub(super) const INSERT_IF_NONE: &str =
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

    async fn replace_server_secret(
        &self,
        name: &str,
        secret: &SecretBytes,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let args = [name.into(), secret.0.as_slice().into(), now.into()];
        write_connection(self)
            .await?
            .execute(REPLACE_SECRET, &args)
            .await?;
        Ok(())
    }

    async fn sealed_secrets(&self) -> Result<i64, StoreError> {
        let row = connection(self)
            .await?
            .fetch_optional(SEALED_SECRETS, &[])
            .await?;
        row.map_or(Ok(0), |row| row.count("n"))
    }

    async fn drop_sealed_secrets(
        &self,
        notice: &NewMail,
        event: &Event,
    ) -> Result<u64, StoreError> {
        WriteTx::run(self, async |tx| {
            let rows = tx.fetch_all(SEALED_USERS, &[]).await?;
            let users = rows
                .iter()
                .map(|row| row.uuid("user_id"))
                .collect::<Result<Vec<_>, _>>()?;
            drop(rows);
            for &user_id in &users {
                tx.execute(DELETE_TOTP, &[user_id.into()]).await?;
                tx.execute(DELETE_RECOVERY_CODES, &[user_id.into()]).await?;
                tx.execute(RECOMPUTE_MFA, &[user_id.into(), event.at.into()])
                    .await?;
                let notice = NewMail {
                    id: uuid::Uuid::now_v7(),
                    ..notice.clone()
                };
                queue_mail(&mut **tx, &notice, Some(user_id)).await?;
                tx.record(&event.clone().user(user_id)).await?;
            }
            Ok(End::Commit(users.len() as u64))
        })
        .await
    }
}
