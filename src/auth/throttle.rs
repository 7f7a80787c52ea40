//! The per-account login throttle, as the use cases apply it: every password check
//! (a login, or a confirmation of the current password) first claims an attempt on
//! the email's failure counter.

use aws_lc_rs::digest;

use super::{Auth, Error, normalize_email};
use crate::store::Attempt;

impl Auth {
    /// Counts a password attempt against the email's failure counter, or refuses it
    /// while the counter is locked. Logins and password confirmations share it.
    pub(super) async fn claim_attempt(&self, throttle_key: &[u8]) -> Result<(), Error> {
        let now = self.clock.now();
        match self
            .store
            .claim_login_attempt(throttle_key, now, self.throttle)
            .await?
        {
            Attempt::Allowed => Ok(()),
            Attempt::Throttled { until } => {
                self.metrics.logins_throttled.increment(1);
                Err(Error::TooManyAttempts {
                    retry_after: (until - now).try_into().unwrap_or_default(),
                })
            }
        }
    }
}

/// The normalized email (when `email` is one) and its failure counter's key: a digest
/// of the normalized email (or, for a string that is no email, of itself), so the store
/// holds no address of anyone who never signed up.
pub(super) fn email_key(email: &str) -> (Option<String>, Vec<u8>) {
    let normalized = normalize_email(email)
        .ok()
        .map(|(_, normalized)| normalized);
    let key = digest::digest(
        &digest::SHA256,
        normalized.as_deref().unwrap_or(email).as_bytes(),
    );
    (normalized, key.as_ref().to_vec())
}
