//! [`PasskeyStore`] on any engine. A ceremony's state is taken with one `DELETE ...
//! RETURNING`: of concurrent finishes, one gets it.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::sessions::open_session;
use super::users::{RECOMPUTE_MFA, USER, user_from_row};
use super::{Conn, End, Engine, Row, WriteTx, connection, write_connection};
use crate::audit::Event;
use crate::domain::User;
use crate::store::{
    CHALLENGE_LIFETIME, Challenge, ChallengeKind, NewChallenge, NewPasskey, PasskeyLogin,
    PasskeyStore, StoreError, StoredPasskey,
};

pub(super) const PUT_CHALLENGE: &str =
    "INSERT INTO webauthn_challenges (id, user_id, kind, state, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const TAKE_CHALLENGE: &str = "DELETE FROM webauthn_challenges
     WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING user_id, state";
pub(super) const FORGET_CHALLENGES: &str = "DELETE FROM webauthn_challenges WHERE expires_at <= $1";
pub(super) const COLUMNS: &str =
    "SELECT id, user_id, credential_id, name, created_at, last_used_at, credential FROM passkeys";
pub(super) const BY_USER: &str =
    const_format::concatcp!(COLUMNS, " WHERE user_id = $1 ORDER BY id");
pub(super) const BY_CREDENTIAL: &str =
    const_format::concatcp!(COLUMNS, " WHERE credential_id = $1");
pub(super) const INSERT: &str =
    "INSERT INTO passkeys (id, user_id, credential_id, credential, name, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const DELETE: &str = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";
/// A passkey's use: its counter and flags, and when.
pub(super) const USED: &str =
    "UPDATE passkeys SET credential = $3, last_used_at = $4 WHERE id = $1 AND user_id = $2";

fn passkey_from_row(row: &impl Row) -> Result<StoredPasskey, StoreError> {
    Ok(StoredPasskey {
        id: row.uuid("id")?,
        user_id: row.uuid("user_id")?,
        credential_id: row.bytes("credential_id")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
        last_used_at: row.opt_time("last_used_at")?,
        credential: row.text("credential")?,
    })
}

#[async_trait]
impl<E: Engine> PasskeyStore for E {
    async fn put_challenge(&self, challenge: &NewChallenge) -> Result<(), StoreError> {
        let args = [
            challenge.id.into(),
            challenge.user_id.into(),
            challenge.kind.as_str().into(),
            challenge.state.as_str().into(),
            challenge.created_at.into(),
            (challenge.created_at + CHALLENGE_LIFETIME).into(),
        ];
        write_connection(self)
            .await?
            .execute(PUT_CHALLENGE, &args)
            .await?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        id: Uuid,
        kind: ChallengeKind,
        now: OffsetDateTime,
    ) -> Result<Option<Challenge>, StoreError> {
        let args = [id.into(), kind.as_str().into(), now.into()];
        let row = write_connection(self)
            .await?
            .fetch_optional(TAKE_CHALLENGE, &args)
            .await?;
        row.map(|row| {
            Ok(Challenge {
                user_id: row.opt_uuid("user_id")?,
                state: row.text("state")?,
            })
        })
        .transpose()
    }

    async fn passkeys(&self, user_id: Uuid) -> Result<Vec<StoredPasskey>, StoreError> {
        let rows = connection(self)
            .await?
            .fetch_all(BY_USER, &[user_id.into()])
            .await?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, StoreError> {
        let row = connection(self)
            .await?
            .fetch_optional(BY_CREDENTIAL, &[credential_id.into()])
            .await?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn add_passkey(&self, passkey: &NewPasskey, event: &Event) -> Result<(), StoreError> {
        WriteTx::run(self, async |tx| {
            let args = [
                passkey.id.into(),
                passkey.user_id.into(),
                passkey.credential_id.as_slice().into(),
                passkey.credential.as_str().into(),
                passkey.name.as_str().into(),
                passkey.created_at.into(),
            ];
            tx.execute(INSERT, &args).await?;
            let args = [passkey.user_id.into(), passkey.created_at.into()];
            tx.execute(RECOMPUTE_MFA, &args).await?;
            tx.record(event).await?;
            Ok(End::Commit(()))
        })
        .await
    }

    async fn delete_passkey(
        &self,
        user_id: Uuid,
        id: Uuid,
        event: &Event,
    ) -> Result<bool, StoreError> {
        WriteTx::run(self, async |tx| {
            if tx.execute(DELETE, &[id.into(), user_id.into()]).await? == 0 {
                return Ok(End::RollBack(false));
            }
            tx.execute(RECOMPUTE_MFA, &[user_id.into(), event.at.into()])
                .await?;
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }

    async fn passkey_login(&self, login: &PasskeyLogin) -> Result<Option<User>, StoreError> {
        WriteTx::run(self, async |tx| {
            let PasskeyLogin {
                passkey_id,
                user_id,
                credential,
                session,
                amr,
                now,
                event,
            } = login;
            let (user_id, now) = (*user_id, *now);
            let args = [
                (*passkey_id).into(),
                user_id.into(),
                credential.as_str().into(),
                now.into(),
            ];
            if tx.execute(USED, &args).await? == 0 {
                return Ok(End::RollBack(None));
            }
            let row = tx.fetch_optional(USER, &[user_id.into()]).await?;
            let Some(user) = row.map(|row| user_from_row(&row)).transpose()? else {
                return Ok(End::RollBack(None));
            };
            if user.disabled {
                return Ok(End::RollBack(None));
            }
            open_session(&mut **tx, user_id, session, amr, now).await?;
            tx.record(&event.clone().user(user_id).session(session.id))
                .await?;
            Ok(End::Commit(Some(user)))
        })
        .await
    }
}
