//! After a password reset by email, the account's remaining second factors are named
//! to the address, with a link that removes them all: a squatter who registered
//! someone else's address, or an intruder, may have left a factor behind, and the
//! owner who just proved the mailbox must not be locked out by it.

use super::{Auth, CodeInput, Error, normalize_email};
use crate::domain::User;
use crate::store::{Effect, Purpose};

impl Auth {
    /// Mails the user the second factors the account still has and the link that
    /// removes them, if it has any. The reset is done either way: a failure here is
    /// logged.
    pub(super) async fn offer_factor_removal(&self, user: &User) {
        if let Err(e) = self.try_offer_factor_removal(user).await {
            tracing::warn!(error = %e, "could not mail the remaining factors after a reset");
        }
    }

    async fn try_offer_factor_removal(&self, user: &User) -> Result<(), Error> {
        let (totp, _) = self.store.factors(user.id).await?;
        let passkeys = self.store.passkeys(user.id).await?.len();
        let mut factors = Vec::new();
        if totp {
            factors.push("an authenticator app (with its recovery codes)".to_owned());
        }
        match passkeys {
            0 => {}
            1 => factors.push("a passkey".to_owned()),
            n => factors.push(format!("{n} passkeys")),
        }
        if factors.is_empty() {
            return Ok(());
        }
        let target = normalize_email(&user.email)?;
        let purpose = Purpose::RemoveFactors;
        let named = Some(factors.join(" and "));
        let (code, mail) = self.code_message_with(user.id, purpose, target, named)?;
        let limit = self.email.send_limit;
        if self.store.issue(Some(&code), &mail, limit, None).await? {
            self.email.wake.notify_one();
        }
        Ok(())
    }

    /// Removes every second factor of the user of a removal link.
    pub async fn remove_factors_by_link(&self, input: CodeInput) -> Result<(), Error> {
        self.redeem(Purpose::RemoveFactors, input, Effect::RemoveFactors)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }
}
