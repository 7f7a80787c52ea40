//! Sessions and their refresh-token families.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::Event;
use crate::domain::Amr;

use super::{Rotation, RotationPolicy, StoreError};
use crate::domain::{EndReason, User};

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
    /// The stored hash the password was checked against. The session is created only
    /// if it is still the user's hash: a login that verified a password changed (or
    /// reset) meanwhile opens nothing ([`StoreError::CredentialChanged`]).
    pub verified_hash: SecretString,
    /// A new hash of the same password, when the stored one used outdated parameters.
    pub rehash: Option<SecretString>,
    /// The login-throttle key whose failure count the login clears.
    pub throttle_key: Vec<u8>,
    /// The digest of the email with the client's address: remembered as a known
    /// source, and its own counter cleared too.
    pub source_key: Option<Vec<u8>>,
    /// How the login happened.
    pub amr: Amr,
}

/// A refresh token to store: its digest and when it stops being accepted.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
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

/// Notices, from the database, that sessions have ended somewhere: what lets every
/// instance drop its cached session checks at once, not after `--session-check-ms`.
#[async_trait]
pub trait SessionEnds: Send {
    /// Waits for the next notice. A notice may be spurious (after a lost connection,
    /// when some may have been missed); none is ever lost without one.
    async fn next(&mut self) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// A stream of [`SessionEnds`] notices, on a backend that can send them (PostgreSQL);
    /// `None` on one that cannot (SQLite, where the session-check window bounds it).
    async fn watch_session_ends(&self) -> Result<Option<Box<dyn SessionEnds>>, StoreError>;

    /// Records a successful login: checks that the verified hash is still the user's,
    /// creates the session with its first refresh token, stamps the user's last login,
    /// stores an upgraded hash and clears the login throttle's count, all or nothing.
    /// `event` is recorded with it.
    async fn record_login(&self, session: &NewSession, event: &Event) -> Result<(), StoreError>;

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
    /// Ends one of the user's active sessions, recording `event`; `false` (and nothing
    /// recorded) if there was none such.
    async fn end_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: OffsetDateTime,
        reason: EndReason,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Ends every active session of the user but `except`, recording `event`.
    async fn end_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        now: OffsetDateTime,
        reason: EndReason,
        event: &Event,
    ) -> Result<u64, StoreError>;
    /// Sessions neither ended nor past their absolute lifetime (for `/metrics`).
    async fn count_active_sessions(&self, now: OffsetDateTime) -> Result<i64, StoreError>;
}
