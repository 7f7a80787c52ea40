//! [`KeyStore`] on any engine.

use async_trait::async_trait;
use secrecy::SecretString;

use super::mfa::{DELETE_RECOVERY_CODES, DELETE_TOTP};
use super::outbox::queue_mail;
use super::users::RECOMPUTE_MFA;
use super::{Conn, End, Engine, Row, WriteTx, connection, write_connection};
use crate::store::Store;
use time::OffsetDateTime;

use crate::audit::Event;
use crate::store::{KeyStore, NewMail, PrivateKey, SecretBytes, StoreError, StoredKey};

pub(super) const SIGNING_KEYS: &str =
    "SELECT kid, alg, generation, sealed_key, clear_pem, created_at, signs_from
     FROM signing_keys WHERE alg = $1 ORDER BY generation";
// The unique (alg, generation) makes a concurrent second insert of a generation a no-op.
pub(super) const INSERT_KEY: &str =
    "INSERT INTO signing_keys (kid, alg, generation, sealed_key, created_at, signs_from)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
pub(super) const SEAL_KEY: &str =
    "UPDATE signing_keys SET sealed_key = $2, clear_pem = NULL WHERE kid = $1";
pub(super) const DELETE_KEY: &str = "DELETE FROM signing_keys WHERE kid = $1";
pub(super) const DELETE_SEALED_KEYS: &str = "DELETE FROM signing_keys WHERE sealed_key IS NOT NULL";
pub(super) const SECRET_IF_NONE: &str = "INSERT INTO server_secrets (name, secret, created_at)
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
pub(super) const SECRET: &str = "SELECT secret FROM server_secrets WHERE name = $1";
pub(super) const REPLACE_SECRET: &str =
    "UPDATE server_secrets SET secret = $2, created_at = $3 WHERE name = $1";
pub(super) const SEALED_SECRETS: &str = "SELECT (SELECT count(*) FROM totp_factors)
     + (SELECT count(*) FROM signing_keys WHERE sealed_key IS NOT NULL) AS n";
pub(super) const SEALED_USERS: &str = "SELECT user_id FROM totp_factors";

fn stored_key(row: &impl Row) -> Result<StoredKey, StoreError> {
    let private_key = match (row.opt_bytes("sealed_key")?, row.opt_text("clear_pem")?) {
        (Some(sealed), _) => PrivateKey::Sealed(SecretBytes(sealed)),
        (None, Some(pem)) => PrivateKey::Clear(SecretString::from(pem)),
        (None, None) => {
            return Err(StoreError::Inconsistent(
                "a signing key without its private key",
            ));
        }
    };
    Ok(StoredKey {
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        generation: row.int("generation")?,
        private_key,
        created_at: row.time("created_at")?,
        signs_from: row.time("signs_from")?,
    })
}

#[async_trait]
impl<E: Engine> KeyStore for E {
    async fn signing_keys(&self, alg: &str) -> Result<Vec<StoredKey>, StoreError> {
        let rows = connection(self)
            .await?
            .fetch_all(SIGNING_KEYS, &[alg.into()])
            .await?;
        rows.iter().map(stored_key).collect()
    }

    async fn insert_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        // Only sealed keys are written.
        let PrivateKey::Sealed(sealed) = &key.private_key else {
            return Err(StoreError::Inconsistent("a signing key to store in clear"));
        };
        let args = [
            key.kid.as_str().into(),
            key.alg.as_str().into(),
            key.generation.into(),
            sealed.0.as_slice().into(),
            key.created_at.into(),
            key.signs_from.into(),
        ];
        let inserted = write_connection(self)
            .await?
            .execute(INSERT_KEY, &args)
            .await?;
        Ok(inserted == 1)
    }

    async fn seal_signing_key(&self, kid: &str, sealed: &SecretBytes) -> Result<(), StoreError> {
        write_connection(self)
            .await?
            .execute(SEAL_KEY, &[kid.into(), sealed.0.as_slice().into()])
            .await?;
        self.scrub().await
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        let deleted = write_connection(self)
            .await?
            .execute(DELETE_KEY, &[kid.into()])
            .await?;
        Ok(deleted == 1)
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
            tx.execute(DELETE_SEALED_KEYS, &[]).await?;
            Ok(End::Commit(users.len() as u64))
        })
        .await
    }
}
