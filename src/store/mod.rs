//! Persistence: one trait per concern ([`UserStore`], [`SessionStore`],
//! [`ThrottleStore`], [`KeyStore`], [`CodeStore`], [`OutboxStore`], [`AdminStore`],
//! [`ApiKeyStore`], [`AuditStore`], [`MfaStore`], [`PasskeyStore`]), all behind [`Store`]. Every method is a whole
//! operation, atomic inside the store, so races are settled by the database and never
//! by a read-then-write in the layers above.
//!
//! Layout: the traits and their types live in a file per concern here; decisions are
//! pure functions beside them ([`LoginThrottle::decide`], the rotation rule in
//! `rotation.rs`), tested without a database; `sql/` implements every trait once, with
//! SQL that both engines accept; `sqlite.rs` and `postgres.rs` supply a pool, how a
//! writing transaction begins and the two statements whose row locks differ. The
//! backend is chosen once, from the URL scheme, in [`open`].

mod admin;
mod api_keys;
mod audit;
mod codes;
mod error;
mod files;
mod group_commit;
mod keys;
mod mfa;
mod outbox;
mod passkeys;
mod postgres;
mod rotation;
mod sessions;
mod sql;
mod sqlite;
mod throttle;
mod users;

use std::sync::Arc;

use async_trait::async_trait;

pub use admin::{AdminNewUser, AdminStore, AdminUser, UserPatch, UserQuery};
pub use api_keys::{ApiKeyInfo, ApiKeyStore, LAST_USED_PRECISION, NewApiKey};
pub use audit::{AuditQuery, AuditStore};
pub use codes::{
    CodeSession, CodeStore, Effect, GUESS_WINDOW, MAX_CODE_ATTEMPTS, MAX_DAILY_CODE_FAILURES,
    NewCode, Presented, Purpose, Redeemed, Redemption, SendLimit,
};
pub use error::StoreError;
pub use files::{Permissions, check as check_permissions};
pub use keys::{KeyStore, PrivateKey, SecretBytes, StoredKey};
pub use mfa::{
    MAX_MFA_ATTEMPTS, MFA_TICKET_LIFETIME, MfaFinish, MfaFinished, MfaStore, MfaTicket,
    NewMfaTicket, SecondFactor, TotpConfirmation, TotpFactor,
};
pub use outbox::{NewMail, OutboxStore, QueuedMail};
pub use passkeys::{
    CHALLENGE_LIFETIME, Challenge, ChallengeKind, NewChallenge, NewPasskey, PasskeyLogin,
    PasskeyStore, StoredPasskey,
};
pub use rotation::{Rotation, RotationPolicy};
pub use sessions::{NewRefreshToken, NewSession, SessionEnds, SessionInfo, SessionStore};
pub use sql::QueryPlan;
pub use throttle::{Attempt, LoginThrottle, ThrottleStore};
pub use users::{Credentials, NewUser, UserStore};

/// Every concern of one database.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + ThrottleStore
    + KeyStore
    + CodeStore
    + OutboxStore
    + AdminStore
    + ApiKeyStore
    + AuditStore
    + MfaStore
    + PasskeyStore
    + 'static
{
    /// Applies pending migrations; safe to run from several processes at once.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;
    /// How the database would run each query on the request paths (see
    /// `sql/plans.rs`); `price_out_scans` shows where an index could serve a query
    /// that a small table makes cheaper to scan.
    async fn query_plans(&self, price_out_scans: bool) -> Result<Vec<QueryPlan>, StoreError>;
    /// The statements of `sql/` this database refuses to prepare, each named with
    /// the database's reason: none, unless a statement and the schema disagree.
    async fn unpreparable(&self) -> Result<Vec<(&'static str, String)>, StoreError>;
    /// Makes what was erased unrecoverable from the database's files (SQLite: empties
    /// the write-ahead log, which still holds old page images): at a clean stop.
    async fn scrub(&self) -> Result<(), StoreError>;
}

/// Opens the store named by `url`: `sqlite://FILE` or `postgres://…`. A SQLite file
/// that others can read is refused unless `permissions` allows it.
pub async fn open(
    url: &str,
    max_connections: u32,
    permissions: Permissions,
) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::connect(url, max_connections, permissions).await?,
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
