use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::throttle::throttle_keys;
use super::{Auth, ClientInfo, Error, NO_PASSWORD, TokenPair};
use crate::audit::{Event, EventType};
use crate::domain::Amr;
use crate::domain::SessionLogin;
use crate::password::Verdict;
use crate::store::{NewSession, StoreError};
use crate::tokens::RefreshToken;

impl Auth {
    /// Checks an email and password and opens a session.
    ///
    /// Unknown emails are verified against a dummy hash, so an unknown email and a
    /// wrong password cost the same time and give the same error. Every attempt first
    /// claims a place on the email's failure counter, which throttles unknown emails
    /// exactly as it throttles accounts: a lock says nothing about whether one exists.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<TokenPair, Error> {
        // The queue first: a login that would be shed must not count as an attempt.
        let reservation = self.hasher.reserve(client.ip)?;
        let (normalized, keys) = throttle_keys(email, client.ip);
        if let Err(throttled) = self.claim_attempt(&keys).await {
            let user = match &normalized {
                Some(normalized) => self.store.credentials_by_email(normalized).await?,
                None => None,
            };
            let event = Event::new(EventType::LoginThrottled, self.clock.now()).failed();
            let event = match user {
                Some(credentials) => event.user(credentials.user.id),
                None => event,
            };
            self.store.record_event(&event).await?;
            return Err(throttled);
        }
        let credentials = match &normalized {
            Some(normalized) => self.store.credentials_by_email(normalized).await?,
            None => None,
        };
        let (user, stored_hash) = match credentials {
            Some(c) => (Some(c.user), usable(c.password_hash)),
            None => (None, None),
        };
        let verdict = self
            .hasher
            .verify(reservation, password, stored_hash.clone())
            .await?;
        let user_id = user.as_ref().map(|user| user.id);
        let (Verdict::Match { upgraded }, Some(user), Some(previous_hash)) =
            (verdict, user, stored_hash)
        else {
            return Err(self.login_failed(user_id, Error::InvalidCredentials).await);
        };
        // Only someone who knows the password learns that the account is disabled,
        // or that its address is not verified yet.
        if user.disabled {
            return Err(self.login_failed(user_id, Error::AccountDisabled).await);
        }
        if self.requires_verified_email() && !user.email_verified {
            // Sign-up answered alike for new and taken addresses; a login with the
            // password just sent must not tell them apart either. So the right
            // password of an account still unverified answers (and counts) as a
            // wrong one: whoever signed up was told to check their mail first.
            let recorded = self.login_failed(user_id, Error::EmailNotVerified).await;
            return Err(match recorded {
                Error::EmailNotVerified => Error::InvalidCredentials,
                other => other,
            });
        }
        if user.mfa_enabled {
            // The right password neither counts as a failure nor clears the count:
            // only the second factor's answers do.
            let (email, source) = (&keys.email, keys.source.as_deref());
            self.store
                .release_login_attempt(email, source, self.clock.now())
                .await?;
            let required = self
                .second_factor_required(&user, Amr::of(Amr::PWD))
                .await?;
            return Err(self.login_failed(user_id, required).await);
        }

        let now = self.clock.now();
        let refresh = RefreshToken::generate().map_err(Error::internal)?;
        let session = NewSession {
            id: Uuid::now_v7(),
            user_id: user.id,
            created_at: now,
            expires_at: now + self.lifetimes.session,
            user_agent: client.user_agent,
            ip: client.ip.map(|ip| ip.to_string()),
            refresh_token_hash: refresh.digest(),
            refresh_expires_at: now + self.lifetimes.refresh_token.min(self.lifetimes.session),
            verified_hash: previous_hash,
            rehash: upgraded,
            throttle_key: keys.email,
            source_key: keys.source,
            amr: Amr::of(Amr::PWD),
        };
        let event = Event::new(EventType::LoginSucceeded, now)
            .user(user.id)
            .session(session.id)
            .detail("method", "password");
        match self.store.record_login(&session, &event).await {
            Ok(()) => {}
            // The password changed while this login checked the old one.
            Err(StoreError::CredentialChanged) => {
                return Err(self.login_failed(user_id, Error::InvalidCredentials).await);
            }
            Err(e) => return Err(e.into()),
        }
        let login = SessionLogin {
            amr: session.amr.clone(),
            auth_time: now,
        };
        let access = self.tokens.issue(&user, session.id, &login, now)?;
        self.metrics.logins_succeeded.increment(1);
        Ok(TokenPair {
            access,
            refresh_token: refresh.into_secret(),
            refresh_expires_in: (session.refresh_expires_at - now).whole_seconds(),
        })
    }

    /// Counts and records a refused login (`user`: the account, if the email has
    /// one), and answers `refusal`, or why it could not be recorded. Known and unknown
    /// emails cost the same: one row each.
    async fn login_failed(&self, user: Option<Uuid>, refusal: Error) -> Error {
        let reason = match &refusal {
            Error::MfaRequired { .. } => "mfa_required",
            Error::AccountDisabled => "account_disabled",
            Error::EmailNotVerified => "email_not_verified",
            _ => "invalid_credentials",
        };
        if reason != "mfa_required" {
            self.metrics.logins_failed.increment(1);
        }
        let event = Event::new(EventType::LoginFailed, self.clock.now())
            .failed()
            .detail("reason", reason)
            .detail("method", "password");
        let event = match user {
            Some(user) => event.user(user),
            None => event,
        };
        match self.store.record_event(&event).await {
            Ok(()) => refusal,
            Err(e) => e.into(),
        }
    }
}

/// A stored password hash, unless the account has no password yet (then no password
/// matches, after the same work as for an unknown email).
pub(super) fn usable(hash: SecretString) -> Option<SecretString> {
    (hash.expose_secret() != NO_PASSWORD).then_some(hash)
}
