//! [`SessionStore`] on any engine. A rotation loads the presented token with its
//! session under the engine's row locks ([`Engine::LOAD_REFRESH_FOR_UPDATE`]), lets
//! [`RotationPolicy::decide`] judge, and writes the verdict in the same transaction.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use uuid::Uuid;

use super::WriteTx;
use super::users::user_from_row;
use super::{Conn, End, Engine, Row, announce_sessions_ended, connection};
use crate::audit::Event;
use crate::domain::Amr;
use crate::domain::{EndReason, User};
use crate::store::{
    CodeSession, NewRefreshToken, NewSession, Rotation, RotationPolicy, SessionEnds, SessionInfo,
    SessionStore, StoreError,
};

/// The columns every `LOAD_REFRESH_FOR_UPDATE` selects, for [`refresh_state`].
pub(crate) const LOAD_REFRESH: &str =
    "SELECT t.session_id, t.used_at, t.expires_at AS token_expires_at,
        s.ended_at, s.expires_at AS session_expires_at, s.last_used_at,
        s.amr, s.created_at AS auth_time,
        u.id, u.email, u.email_verified, u.disabled, u.created_at, u.roles, u.mfa_enabled
     FROM refresh_tokens t
     JOIN sessions s ON s.id = t.session_id
     JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = $1";

/// A rotation to run: the digest presented, the token to issue, when, under which rules.
#[derive(Debug)]
pub(crate) struct RotationRequest {
    pub presented: Vec<u8>,
    pub next: NewRefreshToken,
    pub now: OffsetDateTime,
    pub policy: RotationPolicy,
}

pub(super) const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip, amr)
     VALUES ($1, $2, $3, $3, $4, $5, $6, $7)";
pub(super) const INSERT_REFRESH: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)";
// Compare-and-set, first in the login's transaction: it locks the user's row (on
// SQLite, the database) and proves the verified hash is still the stored one, so a
// password change either commits before (and the login opens nothing) or after (and
// ends the new session with the others).
pub(super) const STAMP_LOGIN: &str =
    "UPDATE users SET last_login_at = $2 WHERE id = $1 AND password_hash = $3";
/// A login that checked no password (a code, a passkey, a second factor): its time.
pub(super) const STAMP_LOGIN_TIME: &str = "UPDATE users SET last_login_at = $2 WHERE id = $1";
pub(super) const REHASH: &str =
    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
pub(super) const CLEAR_FAILURES: &str = "DELETE FROM login_failures WHERE key = $1";
pub(super) const REMEMBER_SOURCE: &str =
    "INSERT INTO login_sources (key, last_success_at) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET last_success_at = excluded.last_success_at";
pub(super) const END: &str = "UPDATE sessions SET ended_at = $2, end_reason = $3 WHERE id = $1";
pub(super) const SESSION_USER: &str =
    "SELECT u.id, u.email, u.email_verified, u.disabled, u.created_at, u.roles, u.mfa_enabled,
        s.expires_at
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.user_id = $2 AND s.ended_at IS NULL";
pub(super) const LIST: &str =
    "SELECT id, created_at, last_used_at, expires_at, user_agent, ip FROM sessions
     WHERE user_id = $1 AND ended_at IS NULL ORDER BY created_at DESC";
pub(super) const END_ONE: &str = "UPDATE sessions SET ended_at = $3, end_reason = $4
     WHERE id = $1 AND user_id = $2 AND ended_at IS NULL";
pub(super) const END_ALL: &str = "UPDATE sessions SET ended_at = $3, end_reason = $4
     WHERE user_id = $1 AND ended_at IS NULL AND id IS DISTINCT FROM $2";
// Times are compared as values on PostgreSQL and as sqlx's fixed-width UTC text on
// SQLite: the same order either way.
pub(super) const COUNT_ACTIVE: &str =
    "SELECT count(*) AS n FROM sessions WHERE ended_at IS NULL AND expires_at > $1";

/// Opens `session` for `user_id` with its first refresh token, for a login that checked
/// no password (a sign-in code, a passkey, a second factor), stamping the login time.
pub(super) async fn open_session<C: Conn + ?Sized>(
    tx: &mut C,
    user_id: Uuid,
    session: &CodeSession,
    amr: &Amr,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let amr = amr.to_json();
    let args = [
        session.id.into(),
        user_id.into(),
        now.into(),
        session.expires_at.into(),
        session.user_agent.as_deref().into(),
        session.ip.as_deref().into(),
        amr.as_str().into(),
    ];
    tx.execute(INSERT_SESSION, &args).await?;
    let args = [
        session.refresh_token_hash.as_slice().into(),
        session.id.into(),
        None::<&[u8]>.into(),
        now.into(),
        session.refresh_expires_at.into(),
    ];
    tx.execute(INSERT_REFRESH, &args).await?;
    tx.execute(STAMP_LOGIN_TIME, &[user_id.into(), now.into()])
        .await?;
    Ok(())
}

/// The `amr` column, written only from [`Amr::to_json`].
pub(super) fn amr_from_json(text: &str) -> Result<Amr, StoreError> {
    Amr::from_json(text).map_err(|e| StoreError::Corrupt(format!("amr: {e}")))
}

#[async_trait]
impl<E: Engine> SessionStore for E {
    async fn watch_session_ends(&self) -> Result<Option<Box<dyn SessionEnds>>, StoreError> {
        Engine::watch_session_ends(self).await
    }

    async fn record_login(&self, session: &NewSession, event: &Event) -> Result<(), StoreError> {
        WriteTx::run(self, async |tx| {
            let (user_id, now) = (session.user_id, session.created_at);
            let verified = session.verified_hash.expose_secret();
            let stamped = tx
                .execute(STAMP_LOGIN, &[user_id.into(), now.into(), verified.into()])
                .await?;
            if stamped == 0 {
                return Err(StoreError::CredentialChanged);
            }
            if let Some(rehash) = &session.rehash {
                let new = rehash.expose_secret();
                tx.execute(REHASH, &[user_id.into(), new.into(), now.into()])
                    .await?;
            }
            let user_agent = session.user_agent.as_deref();
            let amr = session.amr.to_json();
            tx.execute(
                INSERT_SESSION,
                &[
                    session.id.into(),
                    session.user_id.into(),
                    session.created_at.into(),
                    session.expires_at.into(),
                    user_agent.into(),
                    session.ip.as_deref().into(),
                    amr.as_str().into(),
                ],
            )
            .await?;
            tx.execute(
                INSERT_REFRESH,
                &[
                    session.refresh_token_hash.as_slice().into(),
                    session.id.into(),
                    None::<&[u8]>.into(),
                    session.created_at.into(),
                    session.refresh_expires_at.into(),
                ],
            )
            .await?;
            let key = session.throttle_key.as_slice();
            tx.execute(CLEAR_FAILURES, &[key.into()]).await?;
            if let Some(source) = session.source_key.as_deref() {
                tx.execute(CLEAR_FAILURES, &[source.into()]).await?;
                tx.execute(REMEMBER_SOURCE, &[source.into(), now.into()])
                    .await?;
            }
            tx.record(event).await?;
            Ok(End::Commit(()))
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
        now: OffsetDateTime,
        policy: RotationPolicy,
    ) -> Result<Rotation, StoreError> {
        let request = RotationRequest {
            presented: presented.to_vec(),
            next: next.clone(),
            now,
            policy,
        };
        self.commit_rotation(request).await
    }

    async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let mut conn = connection(self).await?;
        let args = [session_id.into(), user_id.into()];
        let Some(row) = conn.fetch_optional(SESSION_USER, &args).await? else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        Ok((now < row.time("expires_at")? && !user.disabled).then_some(user))
    }

    async fn active_sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        idle_timeout: time::Duration,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = connection(self)
            .await?
            .fetch_all(LIST, &[user_id.into()])
            .await?;
        let mut sessions = Vec::with_capacity(rows.len());
        for row in rows {
            let session = SessionInfo {
                id: row.uuid("id")?,
                created_at: row.time("created_at")?,
                last_used_at: row.time("last_used_at")?,
                user_agent: row.opt_text("user_agent")?,
                ip: row.opt_text("ip")?,
            };
            if now < row.time("expires_at")? && now < session.last_used_at + idle_timeout {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        reason: EndReason,
        event: &Event,
    ) -> Result<bool, StoreError> {
        let args = [
            session_id.into(),
            user_id.into(),
            now.into(),
            reason.as_str().into(),
        ];
        WriteTx::run(self, async |tx| {
            if tx.execute(END_ONE, &args).await? == 0 {
                return Ok(End::RollBack(false));
            }
            announce_sessions_ended::<E>(tx).await?;
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }

    async fn end_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        now: OffsetDateTime,
        reason: EndReason,
        event: &Event,
    ) -> Result<u64, StoreError> {
        let args = [
            user_id.into(),
            except.into(),
            now.into(),
            reason.as_str().into(),
        ];
        WriteTx::run(self, async |tx| {
            let ended = tx.execute(END_ALL, &args).await?;
            announce_sessions_ended::<E>(tx).await?;
            tx.record(event).await?;
            Ok(End::Commit(ended))
        })
        .await
    }

    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError> {
        let mut conn = connection(self).await?;
        match conn.fetch_optional(COUNT_ACTIVE, &[now.into()]).await? {
            Some(row) => row.count("n"),
            None => Ok(0),
        }
    }
}
