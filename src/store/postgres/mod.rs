//! PostgreSQL: the backend for running several instances against one database.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, migrate::Migrator};
use uuid::Uuid;

mod sessions;
mod throttle;

use time::OffsetDateTime;

use super::{
    Attempt, Credentials, EndReason, LoginThrottle, NewRefreshToken, NewSession, NewUser, Rotation,
    RotationPolicy, SessionInfo, Store, StoreError, StoredKey, User,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            // A request waits this long for a connection before answering 503.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(Self { pool })
    }
}

fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

fn key_from_row(row: &PgRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        private_key_pem: SecretString::from(row.try_get::<String, _>("private_key_pem")?),
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id)
        .bind(&user.email)
        .bind(&user.email_normalized)
        .bind(user.password_hash.expose_secret())
        .bind(user.created_at)
        .bind(user.created_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(User {
                id: user.id,
                email: user.email.clone(),
                email_verified: false,
                disabled: false,
                created_at: user.created_at,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::EmailTaken),
            Err(e) => Err(StoreError::from_sqlx(e)),
        }
    }

    async fn credentials_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified, disabled, created_at, password_hash
             FROM users WHERE email_normalized = $1",
        )
        .bind(email_normalized)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        let credentials = Credentials {
            user: user_from_row(&row).map_err(StoreError::Database)?,
            password_hash: SecretString::from(
                row.try_get::<String, _>("password_hash")
                    .map_err(StoreError::Database)?,
            ),
        };
        Ok(Some(credentials))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified, disabled, created_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        row.as_ref()
            .map(user_from_row)
            .transpose()
            .map_err(StoreError::Database)
    }

    async fn record_login(&self, session: &NewSession) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(session.created_at)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(&session.user_agent)
        .bind(&session.ip)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&session.refresh_token_hash)
        .bind(session.id)
        .bind(session.created_at)
        .bind(session.refresh_expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(session.created_at)
            .bind(session.user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        if let Some(rehash) = &session.rehash {
            // Compare-and-set: a password changed meanwhile is never overwritten.
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2
                 WHERE id = $3 AND password_hash = $4",
            )
            .bind(rehash.new_hash.expose_secret())
            .bind(session.created_at)
            .bind(session.user_id)
            .bind(rehash.previous_hash.expose_secret())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(&session.throttle_key)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
        now: OffsetDateTime,
        policy: RotationPolicy,
    ) -> Result<Rotation, StoreError> {
        self.rotate(presented, next, now, policy).await
    }

    async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError> {
        self.session_user(session_id, user_id, now).await
    }

    async fn active_sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        idle_timeout: time::Duration,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        self.sessions(user_id, now, idle_timeout).await
    }

    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<bool, StoreError> {
        self.end_one(user_id, session_id, now, reason).await
    }

    async fn end_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<u64, StoreError> {
        self.end_all(user_id, except, now, reason).await
    }

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<SecretString>, StoreError> {
        self.hash_of(user_id).await
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        new_hash: &SecretString,
        keep_session: Uuid,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.set_password(user_id, new_hash, keep_session, now)
            .await
    }

    async fn export_users(&self) -> Result<Vec<(String, SecretString)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT email, password_hash FROM users ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        Ok(rows
            .into_iter()
            .map(|(email, hash)| (email, SecretString::from(hash)))
            .collect())
    }

    async fn delete_user(&self, user_id: Uuid) -> Result<bool, StoreError> {
        self.delete(user_id).await
    }

    async fn begin_login_attempt(
        &self,
        key: &[u8],
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError> {
        self.claim_attempt(key, now, policy).await
    }

    async fn clear_login_failures(&self, key: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn forget_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.forget_failures(before).await
    }

    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)
    }

    async fn active_signing_key(&self, alg: &str) -> Result<Option<StoredKey>, StoreError> {
        let row = sqlx::query(
            "SELECT kid, alg, private_key_pem, created_at FROM signing_keys
             WHERE alg = $1 AND active",
        )
        .bind(alg)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        row.as_ref()
            .map(key_from_row)
            .transpose()
            .map_err(StoreError::Database)
    }

    async fn insert_signing_key_if_none(&self, key: &StoredKey) -> Result<StoredKey, StoreError> {
        // The partial unique index on active keys makes a concurrent second insert a no-op.
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_key_pem, created_at, active)
             VALUES ($1, $2, $3, $4, TRUE) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.private_key_pem.expose_secret())
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        self.active_signing_key(&key.alg)
            .await?
            .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }
}
