//! Sessions: refresh with rotation and reuse detection, logout, the session list,
//! password change and account deletion. Every use case here but `refresh` takes an
//! [`Authenticated`]: the session was checked before it was called.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use time::OffsetDateTime;

use super::login::usable;
use super::notices::Change;
use super::throttle::throttle_keys;
use super::{Auth, Authenticated, Error, RefreshRejection, TokenPair};
use crate::audit::{Event, EventType};
use crate::domain::{EndReason, User};
use crate::password::{Verdict, validate_new};
use crate::store::{NewRefreshToken, Rotation, RotationPolicy, SessionInfo};
use crate::tokens::{RefreshToken, refresh_digest};

impl Auth {
    /// Exchanges a refresh token for a new pair in the same session.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &SecretString) -> Result<TokenPair, Error> {
        let now = self.clock.now();
        let next = RefreshToken::successor(&self.refresh_key, presented.expose_secret());
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
        let rejection = match rotation {
            Rotation::Rotated {
                session_id,
                user,
                login,
                expires_at,
            } => {
                let access = self.tokens.issue(&user, session_id, &login, now)?;
                return Ok(TokenPair {
                    access,
                    refresh_token: next.into_secret(),
                    refresh_expires_in: (expires_at - now).whole_seconds(),
                });
            }
            Rotation::Unknown => RefreshRejection::Unknown,
            Rotation::Ended => RefreshRejection::Ended,
            Rotation::Expired => RefreshRejection::Expired,
            Rotation::ReuseDetected {
                session_id,
                user_id,
            } => {
                self.cache.forget_sessions();
                tracing::warn!("refresh token reuse detected: session ended");
                // Recorded right after the rotation's own transaction, which on SQLite
                // may commit together with other rotations (see `sqlite.rs`).
                let event = Event::new(EventType::SessionReuseDetected, now)
                    .user(user_id)
                    .session(session_id)
                    .failed();
                self.store.record_event(&event).await?;
                RefreshRejection::ReuseDetected
            }
        };
        Err(Error::InvalidRefreshToken(rejection))
    }

    /// Drops the cached session checks whenever the store says sessions ended
    /// anywhere (another instance's logout, disable or deletion), so that they are
    /// refused here at once; returns when the store sends no such notices. Runs for
    /// the life of the server.
    pub async fn follow_session_ends(&self) {
        let mut ends = match self.store.watch_session_ends().await {
            Ok(Some(ends)) => ends,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for ended sessions; relying on --session-check-ms");
                return;
            }
        };
        loop {
            if let Err(e) = ends.next().await {
                tracing::warn!(error = %e, "lost the notices of ended sessions; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            // After an error too: notices may have been missed meanwhile.
            self.cache.forget_sessions();
        }
    }

    /// Ends the session of the token.
    pub async fn logout(&self, who: &Authenticated) -> Result<(), Error> {
        let (user, now) = (who.user().id, self.clock.now());
        let reason = EndReason::Logout;
        let event = session_ended(who, reason, now);
        self.store
            .end_session(user, who.session_id(), now, reason, &event)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Ends every session of the token's user.
    pub async fn logout_all(&self, who: &Authenticated) -> Result<(), Error> {
        let (user, now) = (who.user().id, self.clock.now());
        let reason = EndReason::LogoutAll;
        let event = session_ended(who, reason, now);
        self.store
            .end_sessions(user, None, now, reason, &event)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    pub async fn sessions(&self, who: &Authenticated) -> Result<Vec<SessionInfo>, Error> {
        let (user, now) = (who.user().id, self.clock.now());
        Ok(self
            .store
            .active_sessions(user, now, self.lifetimes.idle)
            .await?)
    }

    /// Ends one of the user's own sessions.
    pub async fn end_session(&self, who: &Authenticated, session_id: Uuid) -> Result<(), Error> {
        let (user, now) = (who.user().id, self.clock.now());
        let reason = EndReason::Revoked;
        let event = session_ended(who, reason, now).session(session_id);
        let ended = self
            .store
            .end_session(user, session_id, now, reason, &event)
            .await?;
        self.cache.forget_sessions();
        ended.then_some(()).ok_or(Error::SessionNotFound)
    }

    /// Changes the password; every other session ends, this one continues.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        who: &Authenticated,
        current: SecretString,
        new: SecretString,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let user = self.confirm_password(who, current, client).await?;
        let new = validate_new(&new, &user.email)?;
        let hash = self.hasher.hash(new, client).await?;
        let now = self.clock.now();
        let event = Event::new(EventType::PasswordChanged, now)
            .user(user.id)
            .session(who.session_id());
        self.store
            .change_password(user.id, &hash, who.session_id(), now, &event)
            .await?;
        self.cache.forget_sessions();
        self.tell(&user.email, Change::PasswordChanged).await;
        Ok(())
    }

    /// Deletes the account with its sessions; the password confirms it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_account(
        &self,
        who: &Authenticated,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let user = self.confirm_password(who, password, client).await?;
        let event = Event::new(EventType::UserDeleted, self.clock.now())
            .user(user.id)
            .session(who.session_id());
        self.store.delete_user(user.id, &event).await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Checks the password of the token's user. It takes a place in the hashing queue
    /// as `client`, like a login (one address cannot fill the queue through this door),
    /// and wrong guesses count against the same failure counter as logins: a stolen
    /// access token is no way around the throttle.
    pub(super) async fn confirm_password<'a>(
        &self,
        who: &'a Authenticated,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<&'a User, Error> {
        let user = who.user();
        let reservation = self.hasher.reserve(client)?;
        let (_, keys) = throttle_keys(&user.email, client);
        self.claim_attempt(&keys).await?;
        let stored = self.store.password_hash(user.id).await?.and_then(usable);
        match self.hasher.verify(reservation, password, stored).await? {
            Verdict::Match { .. } => {
                self.clear_failures(&keys).await?;
                Ok(user)
            }
            Verdict::Mismatch => {
                let event = Event::new(EventType::LoginFailed, self.clock.now())
                    .user(user.id)
                    .session(who.session_id())
                    .failed()
                    .detail("reason", "wrong_password")
                    .detail("method", "password_confirmation");
                self.store.record_event(&event).await?;
                Err(Error::WrongPassword)
            }
        }
    }
}

/// `session.ended` for a session that `who` ended, with why.
fn session_ended(who: &Authenticated, reason: EndReason, now: OffsetDateTime) -> Event {
    Event::new(EventType::SessionEnded, now)
        .user(who.user().id)
        .session(who.session_id())
        .detail("reason", reason.as_str())
}
