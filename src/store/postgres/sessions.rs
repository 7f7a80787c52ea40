//! Sessions and refresh-token families on PostgreSQL. Rotation locks the token's and
//! the session's rows (`FOR UPDATE`) before deciding, so concurrent rotations of one
//! token, from any number of instances, queue up behind each other.

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PostgresStore, user_from_row};
use crate::store::{
    EndReason, NewRefreshToken, Rotation, RotationPolicy, SessionInfo, StoreError, User,
};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

impl PostgresStore {
    pub(super) async fn rotate(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
        now: OffsetDateTime,
        policy: RotationPolicy,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let row = sqlx::query(
            "SELECT t.session_id, t.used_at, t.expires_at AS token_expires_at,
                    s.ended_at, s.expires_at AS session_expires_at, s.last_used_at,
                    u.id, u.email, u.email_verified, u.disabled, u.created_at
             FROM refresh_tokens t
             JOIN sessions s ON s.id = t.session_id
             JOIN users u ON u.id = s.user_id
             WHERE t.token_hash = $1
             FOR UPDATE OF t, s",
        )
        .bind(presented)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            return Ok(Rotation::Unknown);
        };
        let session_id: Uuid = row.try_get("session_id").map_err(db)?;
        let used_at: Option<OffsetDateTime> = row.try_get("used_at").map_err(db)?;
        let token_expires_at: OffsetDateTime = row.try_get("token_expires_at").map_err(db)?;
        let ended_at: Option<OffsetDateTime> = row.try_get("ended_at").map_err(db)?;
        let session_expires_at: OffsetDateTime = row.try_get("session_expires_at").map_err(db)?;
        let last_used_at: OffsetDateTime = row.try_get("last_used_at").map_err(db)?;
        let user: User = user_from_row(&row).map_err(db)?;

        if ended_at.is_some() || user.disabled {
            return Ok(Rotation::Ended);
        }
        if now >= session_expires_at || now >= last_used_at + policy.idle_timeout {
            end(&mut tx, session_id, now, "expired").await?;
            tx.commit().await.map_err(db)?;
            return Ok(Rotation::Expired);
        }
        match used_at {
            Some(used_at) if now - used_at >= policy.grace => {
                // A token used twice, the second time well after the first: one of the
                // two holders is not the user. End the session, newest token included.
                end(&mut tx, session_id, now, "reuse_detected").await?;
                tx.commit().await.map_err(db)?;
                return Ok(Rotation::ReuseDetected);
            }
            Some(_) => {}
            None if now >= token_expires_at => return Ok(Rotation::Expired),
            None => {
                sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
                    .bind(now)
                    .bind(presented)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let expires_at = next.expires_at.min(session_expires_at);
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&next.hash)
        .bind(session_id)
        .bind(presented)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Rotation::Rotated {
            session_id,
            user,
            expires_at,
        })
    }

    pub(super) async fn session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.email_verified, u.disabled, u.created_at, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.user_id = $2 AND s.ended_at IS NULL",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: OffsetDateTime = row.try_get("expires_at").map_err(db)?;
        let user = user_from_row(&row).map_err(db)?;
        Ok((now < expires_at && !user.disabled).then_some(user))
    }

    pub(super) async fn sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        idle_timeout: time::Duration,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, last_used_at, expires_at, user_agent, ip FROM sessions
             WHERE user_id = $1 AND ended_at IS NULL ORDER BY created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut sessions = Vec::with_capacity(rows.len());
        for row in rows {
            let expires_at: OffsetDateTime = row.try_get("expires_at").map_err(db)?;
            let session = SessionInfo {
                id: row.try_get("id").map_err(db)?,
                created_at: row.try_get("created_at").map_err(db)?,
                last_used_at: row.try_get("last_used_at").map_err(db)?,
                user_agent: row.try_get("user_agent").map_err(db)?,
                ip: row.try_get("ip").map_err(db)?,
            };
            if now < expires_at && now < session.last_used_at + idle_timeout {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    pub(super) async fn end_one(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2
             WHERE id = $3 AND user_id = $4 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(session_id)
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn end_all(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2
             WHERE user_id = $3 AND ended_at IS NULL AND id IS DISTINCT FROM $4",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(user_id)
        .bind(except)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(result.rows_affected())
    }

    pub(super) async fn hash_of(&self, user_id: Uuid) -> Result<Option<SecretString>, StoreError> {
        let hash: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(hash.map(SecretString::from))
    }

    pub(super) async fn set_password(
        &self,
        user_id: Uuid,
        new_hash: &SecretString,
        keep_session: Uuid,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(new_hash.expose_secret())
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2
             WHERE user_id = $3 AND ended_at IS NULL AND id != $4",
        )
        .bind(now)
        .bind(EndReason::PasswordChanged.as_str())
        .bind(user_id)
        .bind(keep_session)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub(super) async fn delete(&self, user_id: Uuid) -> Result<bool, StoreError> {
        // Sessions and refresh tokens go with the user (ON DELETE CASCADE).
        let result = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(result.rows_affected() == 1)
    }
}

async fn end(
    tx: &mut sqlx::PgConnection,
    session_id: Uuid,
    now: OffsetDateTime,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3")
        .bind(now)
        .bind(reason)
        .bind(session_id)
        .execute(tx)
        .await
        .map_err(db)?;
    Ok(())
}
