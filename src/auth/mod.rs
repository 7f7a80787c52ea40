//! The use cases: register, log in, authenticate a bearer token. No HTTP in here: the
//! handlers call these with plain values and map [`Error`] to responses.

mod admin;
mod api_keys;
mod bearer;
mod cache;
mod codes;
mod email;
mod login;
mod messages;
mod mfa;
mod passkeys;
mod register;
mod sessions;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

use metrics::Counter;
use secrecy::SecretString;
use time::Duration;

use crate::clock::Clock;
use crate::password::{HashError, Hasher, PolicyError};
use crate::store::{LoginThrottle, Store, StoreError};
use crate::tokens::{AccessTokens, IssuedAccessToken, RefreshKey, TokenError};

pub use admin::{ADMIN_ROLE, Changes, MAX_METADATA_BYTES, NO_PASSWORD, NewAccount};
pub use bearer::Authenticated;
pub use codes::{CodeInput, EmailSetup};
pub use email::{EmailError, normalize_email};
pub use mfa::{FactorSetup, MfaAnswer};
pub use passkeys::{MAX_PASSKEY_NAME, PasskeyOptions};
pub use register::Registration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    WeakPassword(#[from] PolicyError),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    /// Too many consecutive failed logins for this email; refused for `retry_after`,
    /// whatever the password.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: std::time::Duration },
    /// The hashing queue is full; retry after `retry_after`.
    #[error("overloaded")]
    Overloaded { retry_after: std::time::Duration },
    #[error(transparent)]
    InvalidToken(TokenError),
    #[error(transparent)]
    InvalidRefreshToken(RefreshRejection),
    #[error("the password is wrong")]
    WrongPassword,
    #[error("no such session")]
    SessionNotFound,
    #[error("this address is already verified")]
    AlreadyVerified,
    /// A code or link token that is unknown, wrong, expired, used or exhausted: one
    /// error for all, so a guesser learns nothing but "no".
    #[error("the code is not valid")]
    InvalidCode,
    /// The password is right, but the address is not verified yet (with
    /// `--require-verified-email`).
    #[error("the email address is not verified")]
    EmailNotVerified,
    /// The caller is authenticated but not an admin.
    #[error("this needs the role admin")]
    Forbidden,
    #[error("no such user")]
    UserNotFound,
    #[error("no live API key has this name")]
    KeyNotFound,
    #[error("a live API key already has this name")]
    KeyNameTaken,
    /// A field of an admin request that cannot be used as it is.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The first step of a login was right; it must finish at `/login/mfa` with one
    /// of `methods`, presenting `mfa_token`.
    #[error("this account needs a second factor to log in")]
    MfaRequired {
        mfa_token: SecretString,
        methods: Vec<&'static str>,
    },
    /// An `mfa_token` that is unknown, expired, used or out of attempts.
    #[error("the login waiting for a second factor has expired or had too many attempts")]
    InvalidMfaToken,
    #[error("an authenticator app is already set up for this account")]
    AlreadyEnrolled,
    /// A passkey answer that does not verify, for a challenge that is unknown, used,
    /// expired or someone else's, or a passkey already registered.
    #[error("the passkey answer is not valid")]
    InvalidCredential,
    #[error("no such passkey")]
    PasskeyNotFound,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// Something that should not happen; the source says what, for the log.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRejection {
    #[error("the refresh token is not valid")]
    Unknown,
    #[error("the session of this refresh token has ended; log in again")]
    Ended,
    #[error("the refresh token has expired; log in again")]
    Expired,
    #[error("this refresh token was already used; the session has been ended for safety")]
    ReuseDetected,
}

impl Error {
    fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(err))
    }

    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::KeyNameTaken => Self::KeyNameTaken,
            StoreError::Unavailable(_) => Self::Unavailable(err),
            other => Self::internal(other),
        }
    }
}

impl From<HashError> for Error {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Overloaded(o) => Self::Overloaded {
                retry_after: o.retry_after,
            },
            other => Self::internal(other),
        }
    }
}

impl From<TokenError> for Error {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Signing(_) => Self::internal(err),
            other => Self::InvalidToken(other),
        }
    }
}

/// The most audit events one statement of their expiry deletes.
pub const AUDIT_EXPIRY_BATCH: u32 = 1_000;

/// Where a request came from, recorded on the session it creates.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// How long what a login hands out stays valid.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub refresh_token: Duration,
    /// Absolute: a session ends this long after its login, however active.
    pub session: Duration,
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A rotated refresh token replayed within this window is a concurrent refresh.
    pub reuse_grace: Duration,
    /// How long a session confirmed by the store is trusted without asking again
    /// (sessions ended on this instance are forgotten at once).
    pub session_check_ttl: Duration,
    /// How long audit events are kept.
    pub audit_retention: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            refresh_token: Duration::days(30),
            session: Duration::days(90),
            idle: Duration::days(30),
            reuse_grace: Duration::seconds(10),
            session_check_ttl: Duration::seconds(1),
            audit_retention: Duration::days(90),
        }
    }
}

/// Login outcomes, for `/metrics`; no-ops unless a recorder supplied them.
#[derive(Clone)]
pub struct AuthMetrics {
    pub logins_succeeded: Counter,
    pub logins_failed: Counter,
    pub logins_throttled: Counter,
}

impl Default for AuthMetrics {
    fn default() -> Self {
        Self {
            logins_succeeded: Counter::noop(),
            logins_failed: Counter::noop(),
            logins_throttled: Counter::noop(),
        }
    }
}

/// What a successful login returns.
pub struct TokenPair {
    pub access: IssuedAccessToken,
    pub refresh_token: SecretString,
    pub refresh_expires_in: i64,
}

/// Everything the use cases need, built once at start-up.
pub struct Auth {
    store: Arc<dyn Store>,
    hasher: Hasher,
    tokens: AccessTokens,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
    throttle: LoginThrottle,
    metrics: AuthMetrics,
    cache: cache::BearerCache,
    refresh_key: RefreshKey,
    email: EmailSetup,
    factors: FactorSetup,
}

/// What [`Auth`] is built from.
pub struct AuthParts {
    pub store: Arc<dyn Store>,
    pub hasher: Hasher,
    pub tokens: AccessTokens,
    pub clock: Arc<dyn Clock>,
    pub lifetimes: Lifetimes,
    pub throttle: LoginThrottle,
    pub refresh_key: RefreshKey,
    pub email: EmailSetup,
    pub factors: FactorSetup,
}

impl Auth {
    pub fn new(parts: AuthParts) -> Self {
        let AuthParts {
            store,
            hasher,
            tokens,
            clock,
            lifetimes,
            throttle,
            refresh_key,
            email,
            factors,
        } = parts;
        Self {
            email,
            factors,
            refresh_key,
            store,
            hasher,
            tokens,
            clock,
            cache: cache::BearerCache::new(lifetimes.session_check_ttl),
            lifetimes,
            throttle,
            metrics: AuthMetrics::default(),
        }
    }

    /// Reports login outcomes to `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: AuthMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The store, for the workers that run beside the use cases (the outbox).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// What wakes the outbox worker when a use case queues mail.
    pub fn mail_wake(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.email.wake)
    }

    /// The base of links in messages, which is where the link pages are served.
    pub fn public_url(&self) -> &str {
        &self.email.public_url
    }

    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// Answers when the store does.
    pub async fn ready(&self) -> Result<(), Error> {
        Ok(self.store.ping().await?)
    }

    /// Sessions that have neither ended nor expired, for `/metrics`.
    pub async fn active_sessions(&self) -> Result<i64, Error> {
        Ok(self.store.count_active_sessions(self.clock.now()).await?)
    }

    /// Deletes the audit events older than the retention, a batch of
    /// [`AUDIT_EXPIRY_BATCH`] at a time with a pause between, so other writers get
    /// their turn: how many, in how many batches.
    pub async fn expire_audit_events(&self) -> Result<(u64, u32), Error> {
        let before = self.clock.now() - self.lifetimes.audit_retention;
        let (mut deleted, mut batches) = (0, 0);
        loop {
            let batch = self
                .store
                .expire_audit_events(before, AUDIT_EXPIRY_BATCH)
                .await?;
            deleted += batch;
            batches += 1;
            if batch < u64::from(AUDIT_EXPIRY_BATCH) {
                return Ok((deleted, batches));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Forgets login-throttle counters that no longer count (run now and then).
    pub async fn forget_old_failures(&self) -> Result<u64, Error> {
        let before = self.clock.now() - LoginThrottle::FORGET_AFTER;
        Ok(self.store.forget_login_failures(before).await?)
    }
}
