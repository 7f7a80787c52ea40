//! Persistence. The [`Store`] trait is the only door to the database: every method is a
//! whole operation, atomic inside the store, so races are settled by the database and
//! never by a read-then-write in the layers above. The backend is chosen once, from the
//! URL scheme, in [`open`].

mod postgres;
mod sqlite;
mod throttle;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

pub use throttle::{Attempt, LoginThrottle};

/// What can go wrong in the store, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Connection-level failures (the database is down or unreachable), as opposed to
    /// errors in a query: the HTTP layer answers the first with 503.
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources,
            // such as too many connections) and 57P (operator intervention: shutdown,
            // terminated backend).
            sqlx::Error::Database(db)
                if db.code().is_some_and(|code| {
                    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
                }) =>
            {
                Self::Unavailable(err)
            }
            _ => Self::Database(err),
        }
    }
}

/// A user as the rest of the application sees it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
}

/// What a login needs to decide: the user and the stored hash.
#[derive(Debug)]
pub struct Credentials {
    pub user: User,
    pub password_hash: SecretString,
}

#[derive(Debug)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub email_normalized: String,
    pub password_hash: SecretString,
    pub created_at: OffsetDateTime,
}

/// Everything a successful login writes, in one transaction.
#[derive(Debug)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// SHA-256 of the first refresh token of the session's family.
    pub refresh_token_hash: Vec<u8>,
    pub refresh_expires_at: OffsetDateTime,
    /// A new hash of the password, when the stored one used outdated parameters.
    /// Replaces `previous_hash` only if that is still what the store holds.
    pub rehash: Option<Rehash>,
    /// The login-throttle key whose failure count the login clears.
    pub throttle_key: Vec<u8>,
}

#[derive(Debug)]
pub struct Rehash {
    pub previous_hash: SecretString,
    pub new_hash: SecretString,
}

/// A refresh token to store: its digest and when it stops being accepted.
#[derive(Debug)]
pub struct NewRefreshToken {
    pub hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// The rules a rotation applies, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// A session unused for this long has expired.
    pub idle_timeout: time::Duration,
    /// A replay of an already-rotated token within this window of its first use is a
    /// concurrent refresh from the same client, not a theft.
    pub grace: time::Duration,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// The token was exchanged; `next` is now valid in the same session.
    Rotated {
        session_id: Uuid,
        user: User,
        /// When `next` expires: its lifetime, cut short by the session's own end.
        expires_at: OffsetDateTime,
    },
    /// No such token.
    Unknown,
    /// The session has ended (logout, password change, earlier reuse, deletion).
    Ended,
    /// The token, or its session (idle or absolute lifetime), has expired.
    Expired,
    /// The token was already used, outside the grace window: the session is now ended.
    ReuseDetected,
}

/// Why a session ends, kept on the row for audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    LogoutAll,
    Revoked,
    PasswordChanged,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Revoked => "revoked",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// An active session, as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A signing key as stored: the private key as PKCS#8 PEM.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_key_pem: SecretString,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations; safe to run from several processes at once.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a user; [`StoreError::EmailTaken`] when the normalized email exists.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    async fn credentials_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Credentials>, StoreError>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError>;

    /// Records a successful login: creates the session with its first refresh token,
    /// stamps the user's last login and stores an upgraded hash, all or nothing.
    async fn record_login(&self, session: &NewSession) -> Result<(), StoreError>;

    /// Exchanges the refresh token whose digest is `presented` for `next`, atomically:
    /// of any number of concurrent calls with one token, the first rotates it, the
    /// others fall under the grace window or reuse detection, none fails.
    async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        next: &NewRefreshToken,
        now: OffsetDateTime,
        policy: RotationPolicy,
    ) -> Result<Rotation, StoreError>;

    /// The user, if `session_id` is theirs, has not ended or expired, and the account is
    /// enabled: the check behind every bearer-authenticated endpoint.
    async fn active_session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<User>, StoreError>;
    /// The user's sessions that have neither ended nor expired, newest first.
    async fn active_sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        idle_timeout: time::Duration,
    ) -> Result<Vec<SessionInfo>, StoreError>;
    /// Ends one of the user's active sessions; `false` if there was none such.
    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<bool, StoreError>;
    /// Ends every active session of the user but `except`.
    async fn end_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        now: OffsetDateTime,
        reason: EndReason,
    ) -> Result<u64, StoreError>;

    async fn password_hash(&self, user_id: Uuid) -> Result<Option<SecretString>, StoreError>;
    /// Replaces the password hash and ends every other session, in one transaction.
    async fn change_password(
        &self,
        user_id: Uuid,
        new_hash: &SecretString,
        keep_session: Uuid,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Every user's email and password hash, oldest account first: what
    /// `sesame user export` writes and `sesame user import` reads.
    async fn export_users(&self) -> Result<Vec<(String, SecretString)>, StoreError>;
    /// Deletes the user with its sessions and refresh tokens; `false` if already gone.
    async fn delete_user(&self, user_id: Uuid) -> Result<bool, StoreError>;

    /// Claims one login attempt on the throttle counter `key` (a digest of the email as
    /// typed, whether or not an account has it): refused while `policy` says the
    /// counter is locked, otherwise counted as a failure at once, so that concurrent
    /// guesses cannot all slip in before the first one fails. A successful login clears
    /// the count ([`NewSession::throttle_key`]).
    async fn begin_login_attempt(
        &self,
        key: &[u8],
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError>;
    /// Clears the throttle counter `key` (a password confirmed outside a login).
    async fn clear_login_failures(&self, key: &[u8]) -> Result<(), StoreError>;
    /// Drops throttle counters whose last failure is older than `before`.
    async fn forget_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
    /// Sessions neither ended nor past their absolute lifetime (for `/metrics`).
    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError>;

    /// The active signing key for `alg`, if one exists.
    async fn active_signing_key(&self, alg: &str) -> Result<Option<StoredKey>, StoreError>;
    /// Inserts `key` as the active key for its algorithm unless one already is, and
    /// returns whichever key is active afterwards (ours or the one that won the race).
    async fn insert_signing_key_if_none(&self, key: &StoredKey) -> Result<StoredKey, StoreError>;
}

/// Opens the store named by `url`: `sqlite://FILE` or `postgres://…`.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::connect(url, max_connections).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PostgresStore::connect(url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(
            "expected a URL starting with sqlite://, postgres:// or postgresql://".to_owned(),
        ))
    }
}
