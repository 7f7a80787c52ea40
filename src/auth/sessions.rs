//! Sessions: refresh with rotation and reuse detection, logout, the session list,
//! password change and account deletion.

use secrecy::SecretString;
use uuid::Uuid;

use super::login::email_key;
use super::{Auth, Error, TokenPair};
use crate::password::{Verdict, validate_new};
use crate::store::{EndReason, NewRefreshToken, Rotation, RotationPolicy, SessionInfo, User};
use crate::tokens::{AccessClaims, RefreshToken, refresh_digest};

impl Auth {
    /// Exchanges a refresh token for a new pair in the same session.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &SecretString) -> Result<TokenPair, Error> {
        use secrecy::ExposeSecret;
        let now = self.clock.now();
        let next = RefreshToken::generate().map_err(|e| Error::Internal(e.to_string()))?;
        let rotation = self
            .store
            .rotate_refresh_token(
                &refresh_digest(presented.expose_secret()),
                &NewRefreshToken {
                    hash: next.digest(),
                    expires_at: now + self.lifetimes.refresh_token,
                },
                now,
                RotationPolicy {
                    idle_timeout: self.lifetimes.idle,
                    grace: self.lifetimes.reuse_grace,
                },
            )
            .await?;
        let (session_id, user, expires_at) = match rotation {
            Rotation::Rotated {
                session_id,
                user,
                expires_at,
            } => (session_id, user, expires_at),
            Rotation::Unknown => {
                return Err(Error::InvalidRefreshToken("the refresh token is not valid"));
            }
            Rotation::Ended => {
                return Err(Error::InvalidRefreshToken(
                    "the session of this refresh token has ended; log in again",
                ));
            }
            Rotation::Expired => {
                return Err(Error::InvalidRefreshToken(
                    "the refresh token has expired; log in again",
                ));
            }
            Rotation::ReuseDetected => {
                self.cache.forget_sessions();
                tracing::warn!("refresh token reuse detected: session ended");
                return Err(Error::InvalidRefreshToken(
                    "this refresh token was already used; the session has been ended for safety",
                ));
            }
        };
        let access = self.tokens.issue(user.id, &user.email, session_id, now)?;
        Ok(TokenPair {
            access,
            refresh_token: next.into_secret(),
            refresh_expires_in: (expires_at - now).whole_seconds(),
        })
    }

    /// Ends the session of the token.
    pub async fn logout(&self, claims: &AccessClaims) -> Result<(), Error> {
        self.current_user(claims).await?;
        self.store
            .end_session(claims.sub, claims.sid, self.clock.now(), EndReason::Logout)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Ends every session of the token's user.
    pub async fn logout_all(&self, claims: &AccessClaims) -> Result<(), Error> {
        self.current_user(claims).await?;
        self.store
            .end_sessions(claims.sub, None, self.clock.now(), EndReason::LogoutAll)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    pub async fn sessions(&self, claims: &AccessClaims) -> Result<Vec<SessionInfo>, Error> {
        self.current_user(claims).await?;
        Ok(self
            .store
            .active_sessions(claims.sub, self.clock.now(), self.lifetimes.idle)
            .await?)
    }

    /// Ends one of the user's own sessions.
    pub async fn end_session(&self, claims: &AccessClaims, session_id: Uuid) -> Result<(), Error> {
        self.current_user(claims).await?;
        let ended = self
            .store
            .end_session(claims.sub, session_id, self.clock.now(), EndReason::Revoked)
            .await?;
        self.cache.forget_sessions();
        if ended {
            Ok(())
        } else {
            Err(Error::SessionNotFound)
        }
    }

    /// Changes the password; every other session ends, this one continues.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        claims: &AccessClaims,
        current: SecretString,
        new: SecretString,
    ) -> Result<(), Error> {
        let user = self.confirm_password(claims, current).await?;
        let new = validate_new(&new, &user.email)?;
        let hash = self.hasher.hash(new, None).await?;
        self.store
            .change_password(user.id, &hash, claims.sid, self.clock.now())
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Deletes the account with its sessions; the password confirms it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(
        &self,
        claims: &AccessClaims,
        password: SecretString,
    ) -> Result<(), Error> {
        let user = self.confirm_password(claims, password).await?;
        self.store.delete_user(user.id).await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Checks the password of the token's user. Wrong guesses count against the same
    /// failure counter as logins: a stolen access token is no way around the throttle.
    async fn confirm_password(
        &self,
        claims: &AccessClaims,
        password: SecretString,
    ) -> Result<User, Error> {
        let user = self.current_user(claims).await?;
        let reservation = self.hasher.reserve(None)?;
        let (_, throttle_key) = email_key(&user.email);
        self.claim_attempt(&throttle_key).await?;
        let stored = self.store.password_hash(user.id).await?;
        match self.hasher.verify(reservation, password, stored).await? {
            Verdict::Match { .. } => {
                self.store.clear_login_failures(&throttle_key).await?;
                Ok(user)
            }
            Verdict::Mismatch => Err(Error::WrongPassword),
        }
    }
}
