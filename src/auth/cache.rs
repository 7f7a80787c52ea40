//! What makes a bearer request cheap: verified tokens and checked sessions are kept
//! for a short while, so a repeat `/me` costs neither a signature check (~70 µs for
//! ES256) nor a store round trip.
//!
//! - Verified tokens are keyed by the exact token string (any other byte string is
//!   verified in full) and still expire at their own `exp`.
//! - A checked session is trusted for `session_ttl` after the store last confirmed it.
//!   Sessions ended through this instance are dropped from the cache at once, and so,
//!   on PostgreSQL, are those ended through another (`Auth::follow_session_ends`); on
//!   SQLite, sessions ended by another process are seen within `session_ttl`
//!   (documented in docs/security.md). A zero `session_ttl` asks the store every time.

use std::sync::Arc;

use quick_cache::sync::Cache;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::User;
use crate::tokens::AccessClaims;

/// Entries kept in each cache; beyond that the least used go first.
const CAPACITY: usize = 16_384;

pub(super) struct BearerCache {
    tokens: Cache<String, Arc<AccessClaims>>,
    sessions: Cache<Uuid, (User, OffsetDateTime)>,
    session_ttl: Duration,
}

impl BearerCache {
    pub(super) fn new(session_ttl: Duration) -> Self {
        Self {
            tokens: Cache::new(CAPACITY),
            sessions: Cache::new(CAPACITY),
            session_ttl,
        }
    }

    pub(super) fn token(&self, token: &str) -> Option<Arc<AccessClaims>> {
        self.tokens.get(token)
    }

    pub(super) fn remember_token(&self, token: &str, claims: Arc<AccessClaims>) {
        self.tokens.insert(token.to_owned(), claims);
    }

    /// The user of `claims`' session, if the store confirmed it less than `session_ttl` ago.
    pub(super) fn session(&self, claims: &AccessClaims, now: OffsetDateTime) -> Option<User> {
        let (user, checked_at) = self.sessions.get(&claims.sid)?;
        (user.id == claims.sub && now - checked_at < self.session_ttl).then_some(user)
    }

    pub(super) fn remember_session(&self, session_id: Uuid, user: User, now: OffsetDateTime) {
        if self.session_ttl.is_positive() {
            self.sessions.insert(session_id, (user, now));
        }
    }

    /// After a signing key is gone: tokens it signed must be checked again, and fail.
    pub(super) fn forget_tokens(&self) {
        self.tokens.clear();
    }

    /// After any session ends here: forget every checked session (ends are rare, and
    /// one user's sessions are not indexed).
    pub(super) fn forget_sessions(&self) {
        self.sessions.clear();
    }
}
