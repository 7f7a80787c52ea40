//! [`UserStore`] on any engine.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;

use super::WriteTx;
use super::{Arg, Conn, End, Engine, Row, announce_sessions_ended, connection};
use crate::audit::Event;
use crate::domain::{EndReason, NormalizedEmail, User};
use crate::store::{Credentials, NewUser, StoreError, UserStore};

/// Sets `users.mfa_enabled` from the factors themselves: a confirmed TOTP, or a passkey.
pub(super) const RECOMPUTE_MFA: &str = "UPDATE users SET updated_at = $2, mfa_enabled =
        EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = users.id AND t.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = users.id)
     WHERE id = $1";

pub(super) const INSERT: &str =
    "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)";
pub(super) const INSERT_UNLESS_TAKEN: &str =
    "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (email_normalized) DO NOTHING";
pub(super) const CREDENTIALS_BY_EMAIL: &str =
    "SELECT id, email, email_verified, disabled, created_at, roles, mfa_enabled, password_hash
     FROM users WHERE email_normalized = $1";
pub(super) const USER: &str =
    "SELECT id, email, email_verified, disabled, created_at, roles, mfa_enabled
     FROM users WHERE id = $1";
pub(super) const PASSWORD_HASH: &str = "SELECT password_hash FROM users WHERE id = $1";
pub(super) const SET_PASSWORD: &str =
    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
pub(super) const END_OTHER_SESSIONS: &str = "UPDATE sessions SET ended_at = $3, end_reason = $4
     WHERE user_id = $1 AND ended_at IS NULL AND id != $2";
pub(super) const EXPORT: &str = "SELECT email, password_hash FROM users ORDER BY created_at, id";
// Sessions and refresh tokens go with the user (ON DELETE CASCADE).
pub(super) const DELETE: &str = "DELETE FROM users WHERE id = $1";

/// A user from a row with the columns `id, email, email_verified, disabled, created_at,
/// roles, mfa_enabled`.
pub(super) fn user_from_row(row: &impl Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.uuid("id")?,
        email: row.text("email")?,
        email_verified: row.flag("email_verified")?,
        disabled: row.flag("disabled")?,
        created_at: row.time("created_at")?,
        roles: roles_from_json(&row.text("roles")?)?,
        mfa_enabled: row.flag("mfa_enabled")?,
    })
}

/// The `roles` column: a JSON array of names, written only by [`roles_json`].
pub(super) fn roles_from_json(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("roles: {e}")))
}

pub(super) fn roles_json(roles: &[String]) -> String {
    serde_json::Value::from(roles).to_string()
}

/// The parameters of [`INSERT`] and [`INSERT_UNLESS_TAKEN`].
fn insert_args(user: &NewUser) -> [Arg<'_>; 5] {
    [
        user.id.into(),
        user.email.as_str().into(),
        user.email_normalized.as_str().into(),
        user.password_hash.expose_secret().into(),
        user.created_at.into(),
    ]
}

/// Inserts `user` on `conn` (a pooled connection, or inside a transaction).
pub(super) async fn insert_user<C: Conn + ?Sized>(
    conn: &mut C,
    user: &NewUser,
) -> Result<User, StoreError> {
    conn.execute(INSERT, &insert_args(user)).await?;
    Ok(User {
        id: user.id,
        email: user.email.clone(),
        email_verified: false,
        disabled: false,
        created_at: user.created_at,
        roles: Vec::new(),
        mfa_enabled: false,
    })
}

#[async_trait]
impl<E: Engine> UserStore for E {
    async fn create_user(&self, user: &NewUser, event: &Event) -> Result<User, StoreError> {
        WriteTx::run(self, async |tx| {
            let created = insert_user(&mut **tx, user).await?;
            tx.record(event).await?;
            Ok(End::Commit(created))
        })
        .await
    }

    async fn import_users(&self, users: &[NewUser]) -> Result<Vec<bool>, StoreError> {
        // One commit for the lot: a commit waits for the disk, a row does not.
        WriteTx::run(self, async |tx| {
            let mut inserted = Vec::with_capacity(users.len());
            for user in users {
                let args = insert_args(user);
                inserted.push(tx.execute(INSERT_UNLESS_TAKEN, &args).await? == 1);
            }
            Ok(End::Commit(inserted))
        })
        .await
    }

    async fn credentials_by_email(
        &self,
        email_normalized: &NormalizedEmail,
    ) -> Result<Option<Credentials>, StoreError> {
        let mut conn = connection(self).await?;
        let Some(row) = conn
            .fetch_optional(CREDENTIALS_BY_EMAIL, &[email_normalized.as_str().into()])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: SecretString::from(row.text("password_hash")?),
        }))
    }

    async fn user(&self, user_id: Uuid) -> Result<Option<User>, StoreError> {
        let mut conn = connection(self).await?;
        let row = conn.fetch_optional(USER, &[user_id.into()]).await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<SecretString>, StoreError> {
        let mut conn = connection(self).await?;
        let row = conn
            .fetch_optional(PASSWORD_HASH, &[user_id.into()])
            .await?;
        row.map(|row| Ok(SecretString::from(row.text("password_hash")?)))
            .transpose()
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        new_hash: &SecretString,
        keep_session: Uuid,
        now: OffsetDateTime,
        event: &Event,
    ) -> Result<(), StoreError> {
        WriteTx::run(self, async |tx| {
            let hash = new_hash.expose_secret();
            tx.execute(SET_PASSWORD, &[user_id.into(), hash.into(), now.into()])
                .await?;
            let reason = EndReason::PasswordChanged.as_str();
            tx.execute(
                END_OTHER_SESSIONS,
                &[
                    user_id.into(),
                    keep_session.into(),
                    now.into(),
                    reason.into(),
                ],
            )
            .await?;
            announce_sessions_ended::<E>(tx).await?;
            tx.record(event).await?;
            Ok(End::Commit(()))
        })
        .await
    }

    async fn export_users(&self) -> Result<Vec<(String, SecretString)>, StoreError> {
        let rows = connection(self).await?.fetch_all(EXPORT, &[]).await?;
        rows.iter()
            .map(|row| {
                let hash = SecretString::from(row.text("password_hash")?);
                Ok((row.text("email")?, hash))
            })
            .collect()
    }

    async fn delete_user(&self, user_id: Uuid, event: &Event) -> Result<bool, StoreError> {
        WriteTx::run(self, async |tx| {
            if tx.execute(DELETE, &[user_id.into()]).await? == 0 {
                return Ok(End::RollBack(false));
            }
            announce_sessions_ended::<E>(tx).await?;
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }
}
