//! The embedded default: one SQLite file in WAL mode with full fsync on commit.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, migrate::Migrator};
use uuid::Uuid;

mod sessions;
mod throttle;

use time::OffsetDateTime;

use super::{
    Attempt, Credentials, EndReason, LoginThrottle, NewRefreshToken, NewSession, NewUser, Rotation,
    RotationPolicy, SessionInfo, Store, StoreError, StoredKey, User,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How often start-up steps that can race with another process are tried.
const STARTUP_ATTEMPTS: u64 = 5;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit that returned is on disk, even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // Two processes opening a new file at once race to switch it to WAL, and the
        // loser gets SQLITE_BUSY without waiting: try again, as for migrations.
        let mut attempt = 1;
        loop {
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(options.clone())
                .await;
            match pool {
                Ok(pool) => return Ok(Self { pool }),
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("5") && attempt < STARTUP_ATTEMPTS =>
                {
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(StoreError::from_sqlx(e)),
            }
        }
    }
}

fn user_from_row(row: &SqliteRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

fn key_from_row(row: &SqliteRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        private_key_pem: SecretString::from(row.try_get::<String, _>("private_key_pem")?),
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        // SQLite has no migration lock: two processes starting on a new file can both
        // try the first migration. Each migration is one transaction, so the loser
        // fails cleanly; on a retry it sees the winner's work recorded and goes on.
        let mut attempt = 1;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(_) if attempt < STARTUP_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
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
             VALUES (?, ?, ?, ?, ?, ?)",
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
             FROM users WHERE email_normalized = ?",
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
            "SELECT id, email, email_verified, disabled, created_at FROM users WHERE id = ?",
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
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
             VALUES (?, ?, ?, ?)",
        )
        .bind(&session.refresh_token_hash)
        .bind(session.id)
        .bind(session.created_at)
        .bind(session.refresh_expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
            .bind(session.created_at)
            .bind(session.user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        if let Some(rehash) = &session.rehash {
            // Compare-and-set: a password changed meanwhile is never overwritten.
            sqlx::query(
                "UPDATE users SET password_hash = ?, updated_at = ?
                 WHERE id = ? AND password_hash = ?",
            )
            .bind(rehash.new_hash.expose_secret())
            .bind(session.created_at)
            .bind(session.user_id)
            .bind(rehash.previous_hash.expose_secret())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
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
        sqlx::query("DELETE FROM login_failures WHERE key = ?")
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
            "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)
    }

    async fn active_signing_key(&self, alg: &str) -> Result<Option<StoredKey>, StoreError> {
        let row = sqlx::query(
            "SELECT kid, alg, private_key_pem, created_at FROM signing_keys
             WHERE alg = ? AND active = 1",
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
             VALUES (?, ?, ?, ?, 1) ON CONFLICT DO NOTHING",
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
