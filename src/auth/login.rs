use secrecy::SecretString;
use uuid::Uuid;

use super::{Auth, ClientInfo, Error, TokenPair, normalize_email};
use crate::password::Verdict;
use crate::store::{NewSession, Rehash};
use crate::tokens::RefreshToken;

impl Auth {
    /// Checks an email and password and opens a session.
    ///
    /// Unknown emails are verified against a dummy hash, so an unknown email and a
    /// wrong password cost the same time and give the same error.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<TokenPair, Error> {
        let credentials = match normalize_email(email) {
            Ok((_, normalized)) => self.store.credentials_by_email(&normalized).await?,
            Err(_) => None,
        };
        let (user, stored_hash) = match credentials {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        let verdict = self.hasher.verify(password, stored_hash.clone()).await?;
        let (Verdict::Match { upgraded }, Some(user), Some(previous_hash)) =
            (verdict, user, stored_hash)
        else {
            return Err(Error::InvalidCredentials);
        };
        // Only someone who knows the password learns that the account is disabled.
        if user.disabled {
            return Err(Error::AccountDisabled);
        }

        let now = self.clock.now();
        let refresh = RefreshToken::generate().map_err(|e| Error::Internal(e.to_string()))?;
        let session = NewSession {
            id: Uuid::now_v7(),
            user_id: user.id,
            created_at: now,
            expires_at: now + self.lifetimes.session,
            user_agent: client.user_agent,
            ip: client.ip.map(|ip| ip.to_string()),
            refresh_token_hash: refresh.digest(),
            refresh_expires_at: now + self.lifetimes.refresh_token.min(self.lifetimes.session),
            rehash: upgraded.map(|new_hash| Rehash {
                previous_hash,
                new_hash,
            }),
        };
        self.store.record_login(&session).await?;
        let access = self.tokens.issue(user.id, &user.email, session.id, now)?;
        Ok(TokenPair {
            access,
            refresh_token: refresh.into_secret(),
            refresh_expires_in: (session.refresh_expires_at - now).whole_seconds(),
        })
    }
}
