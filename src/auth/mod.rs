//! The use cases: register, log in, authenticate a bearer token. No HTTP in here: the
//! handlers call these with plain values and map [`Error`] to responses.

mod cache;
mod email;
mod login;
mod register;
mod sessions;

use std::net::IpAddr;
use std::sync::Arc;

use metrics::Counter;
use secrecy::SecretString;
use time::Duration;

use crate::clock::{Clock, retry_after_seconds};
use crate::password::{HashError, Hasher, PolicyError};
use crate::store::{LoginThrottle, Store, StoreError, User};
use crate::tokens::{AccessClaims, AccessTokens, IssuedAccessToken, TokenError};

pub use email::{EmailError, normalize_email};

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
    /// Too many consecutive failed logins for this email; refused until `retry_after`
    /// seconds have passed, whatever the password.
    #[error("too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// The hashing queue is full; retry after `retry_after` seconds.
    #[error("overloaded; retry in {retry_after} s")]
    Overloaded { retry_after: u64 },
    #[error(transparent)]
    InvalidToken(TokenError),
    #[error("{0}")]
    InvalidRefreshToken(&'static str),
    #[error("the password is wrong")]
    WrongPassword,
    #[error("no such session")]
    SessionNotFound,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::Unavailable(_) => Self::Unavailable(err),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<HashError> for Error {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Overloaded(o) => Self::Overloaded {
                retry_after: retry_after_seconds(o.retry_after),
            },
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<TokenError> for Error {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Signing(reason) => Self::Internal(reason),
            other => Self::InvalidToken(other),
        }
    }
}

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
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            refresh_token: Duration::days(30),
            session: Duration::days(90),
            idle: Duration::days(30),
            reuse_grace: Duration::seconds(10),
            session_check_ttl: Duration::seconds(1),
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
}

impl Auth {
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        tokens: AccessTokens,
        clock: Arc<dyn Clock>,
        lifetimes: Lifetimes,
        throttle: LoginThrottle,
    ) -> Self {
        Self {
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

    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// Checks a bearer token's signature, claims and expiry (the signature only the
    /// first time this exact token is seen).
    pub fn authenticate(&self, token: &str) -> Result<Arc<AccessClaims>, Error> {
        let now = self.clock.now();
        if let Some(claims) = self.cache.token(token) {
            self.tokens.check_expiry(&claims, now)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.tokens.verify(token, now)?);
        self.cache.remember_token(token, Arc::clone(&claims));
        Ok(claims)
    }

    /// The user a verified token speaks for. A token whose session has ended (logout,
    /// password change, reuse detection) or whose user is gone or disabled is refused
    /// at once, not at its expiry.
    pub async fn current_user(&self, claims: &AccessClaims) -> Result<User, Error> {
        let now = self.clock.now();
        if let Some(user) = self.cache.session(claims, now) {
            return Ok(user);
        }
        let user = self
            .store
            .active_session_user(claims.sid, claims.sub, now)
            .await?
            .ok_or(Error::InvalidToken(TokenError::Invalid))?;
        self.cache.remember_session(claims.sid, user.clone(), now);
        Ok(user)
    }

    /// Answers when the store does.
    pub async fn ready(&self) -> Result<(), Error> {
        Ok(self.store.ping().await?)
    }

    /// Sessions that have neither ended nor expired, for `/metrics`.
    pub async fn active_sessions(&self) -> Result<i64, Error> {
        Ok(self.store.count_active_sessions(self.clock.now()).await?)
    }

    /// Forgets login-throttle counters that no longer count (run now and then).
    pub async fn forget_old_failures(&self) -> Result<u64, Error> {
        let before = self.clock.now() - LoginThrottle::FORGET_AFTER;
        Ok(self.store.forget_login_failures(before).await?)
    }
}
