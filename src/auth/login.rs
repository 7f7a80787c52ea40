use secrecy::SecretString;
use uuid::Uuid;

use super::throttle::throttle_keys;
use super::{Auth, ClientInfo, Error, TokenPair};
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
        self.claim_attempt(&keys).await?;
        let credentials = match &normalized {
            Some(normalized) => self.store.credentials_by_email(normalized).await?,
            None => None,
        };
        let (user, stored_hash) = match credentials {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        let verdict = self
            .hasher
            .verify(reservation, password, stored_hash.clone())
            .await?;
        let (Verdict::Match { upgraded }, Some(user), Some(previous_hash)) =
            (verdict, user, stored_hash)
        else {
            self.metrics.logins_failed.increment(1);
            return Err(Error::InvalidCredentials);
        };
        // Only someone who knows the password learns that the account is disabled,
        // or that its address is not verified yet.
        if user.disabled {
            self.metrics.logins_failed.increment(1);
            return Err(Error::AccountDisabled);
        }
        if self.requires_verified_email() && !user.email_verified {
            self.metrics.logins_failed.increment(1);
            return Err(Error::EmailNotVerified);
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
        };
        match self.store.record_login(&session).await {
            Ok(()) => {}
            // The password changed while this login checked the old one.
            Err(StoreError::CredentialChanged) => {
                self.metrics.logins_failed.increment(1);
                return Err(Error::InvalidCredentials);
            }
            Err(e) => return Err(e.into()),
        }
        let access = self.tokens.issue(user.id, &user.email, session.id, now)?;
        self.metrics.logins_succeeded.increment(1);
        Ok(TokenPair {
            access,
            refresh_token: refresh.into_secret(),
            refresh_expires_in: (session.refresh_expires_at - now).whole_seconds(),
        })
    }
}
