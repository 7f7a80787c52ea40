//! Bearer authentication: a verified access token whose session is live.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Auth, Error};
use crate::domain::User;
use crate::tokens::{AccessClaims, TokenError};

/// Proof that a request's access token is valid and that its session had not ended
/// when the store was last asked (at most `--session-check-ms` ago). Only
/// [`Auth::authenticate`] makes one, so a use case that takes it cannot run for a
/// logged-out session, and none needs to check again.
#[derive(Debug, Clone)]
pub struct Authenticated {
    claims: Arc<AccessClaims>,
    user: User,
}

impl Authenticated {
    pub fn user(&self) -> &User {
        &self.user
    }

    pub fn into_user(self) -> User {
        self.user
    }

    /// The session the token belongs to.
    pub fn session_id(&self) -> Uuid {
        self.claims.sid
    }

    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }
}

impl Auth {
    /// Checks a bearer token's signature, claims and expiry (the signature only the
    /// first time this exact token is seen), then that its session is live and its
    /// user enabled. A token whose session has ended (logout, password change, reuse
    /// detection) or whose user is gone or disabled is refused, not left to expire.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, Error> {
        let now = self.clock.now();
        let claims = self.verified_claims(token, now)?;
        if let Some(user) = self.cache.session(&claims, now) {
            return Ok(Authenticated { claims, user });
        }
        let user = self
            .store
            .active_session_user(claims.sid, claims.sub, now)
            .await?
            .ok_or(Error::InvalidToken(TokenError::Invalid))?;
        self.cache.remember_session(claims.sid, user.clone(), now);
        Ok(Authenticated { claims, user })
    }

    /// The claims of `token` once its signature (checked once per exact token), claims
    /// and expiry are.
    pub(super) fn verified_claims(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<AccessClaims>, Error> {
        if let Some(claims) = self.cache.token(token) {
            self.tokens.check_expiry(&claims, now)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.tokens.verify(token, now)?);
        self.cache.remember_token(token, Arc::clone(&claims));
        Ok(claims)
    }
}
