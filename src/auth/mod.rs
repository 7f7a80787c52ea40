//! The use cases: register, log in, authenticate a bearer token. No HTTP in here: the
//! handlers call these with plain values and map [`Error`] to responses.

mod admin;
mod admin_update;
mod api_keys;
mod bearer;
mod cache;
mod code_work;
mod codes;
mod error;
mod factor_removal;
mod login;
mod messages;
mod mfa;
mod mfa_login;
mod notices;
mod opening;
mod passkey_login;
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
use crate::domain::{EmailError, normalize_email};
use crate::password::Hasher;
use crate::store::{LoginThrottle, Store};
use crate::tokens::{AccessTokens, IssuedAccessToken, KeyRing, RefreshKey};

pub use admin::{ADMIN_ROLE, NO_PASSWORD, NewAccount};
pub use admin_update::{Changes, MAX_METADATA_BYTES};
pub use bearer::Authenticated;
pub use codes::{CodeInput, EmailSetup};
pub use error::{Error, RefreshRejection};
pub use mfa::FactorSetup;
pub use mfa_login::MfaAnswer;
pub use passkeys::{MAX_PASSKEY_NAME, PasskeyOptions};
pub use register::Registration;

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

    /// Signs and verifies with `ring` from now on. When a key is gone from it (revoked,
    /// or past its retention), tokens verified earlier are verified again, so those it
    /// signed are refused at once.
    pub fn replace_keys(&self, ring: KeyRing) {
        let before: Vec<String> = self.tokens.keys().kids().map(str::to_owned).collect();
        let gone = before.iter().any(|kid| !ring.kids().any(|now| now == kid));
        if self.tokens.replace_keys(ring) && gone {
            self.cache.forget_tokens();
        }
    }

    /// The public keys published now, with how many seconds verifiers may cache them;
    /// `None` when tokens are signed with a shared secret.
    pub fn key_set(&self) -> Option<(serde_json::Value, u64)> {
        let keys = self.tokens.keys();
        let set = keys.jwks(self.clock.now())?;
        Some((set, keys.policy().key_set_max_age()))
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
