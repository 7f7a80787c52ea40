//! The per-account login throttle, as the use cases apply it: every password check
//! (a login, or a confirmation of the current password) first claims an attempt on
//! the email's failure counter.

use std::net::IpAddr;

use aws_lc_rs::digest;

use super::{Auth, Error, normalize_email};
use crate::domain::NormalizedEmail;
use crate::net::client_prefix;
use crate::store::Attempt;

/// The throttle counters a password attempt may count on: the email's, shared by every
/// attempt on it, and the source's (the email with the client's address), which takes
/// over once that source has logged in successfully.
pub(super) struct ThrottleKeys {
    pub email: Vec<u8>,
    pub source: Option<Vec<u8>>,
}

impl Auth {
    /// Counts a password attempt against its failure counter, or refuses it while the
    /// counter is locked. Logins and password confirmations share it.
    /// Clears the counters an attempt with `keys` may have counted on (the email's,
    /// and the source's when it is a known one).
    pub(super) async fn clear_failures(&self, keys: &ThrottleKeys) -> Result<(), Error> {
        self.store.clear_login_failures(&keys.email).await?;
        if let Some(source) = &keys.source {
            self.store.clear_login_failures(source).await?;
        }
        Ok(())
    }

    pub(super) async fn claim_attempt(&self, keys: &ThrottleKeys) -> Result<(), Error> {
        let now = self.clock.now();
        match self
            .store
            .claim_login_attempt(&keys.email, keys.source.as_deref(), now, self.throttle)
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

/// The normalized email (when `email` is one) and its throttle keys: digests of the
/// normalized email (or, for a string that is no email, of itself) and of it with the
/// client's address (an IPv6 client by its /64), so the store holds neither the address
/// of anyone who never signed up nor where anyone logs in from.
pub(super) fn throttle_keys(
    email: &str,
    client: Option<IpAddr>,
) -> (Option<NormalizedEmail>, ThrottleKeys) {
    let normalized = normalize_email(email)
        .ok()
        .map(|(_, normalized)| normalized);
    let name = normalized.as_ref().map_or(email, NormalizedEmail::as_str);
    let email_key = digest::digest(&digest::SHA256, name.as_bytes());
    let source = client.map(|ip| {
        let place = format!("{name}\0{}", client_prefix(ip));
        digest::digest(&digest::SHA256, place.as_bytes())
            .as_ref()
            .to_vec()
    });
    let keys = ThrottleKeys {
        email: email_key.as_ref().to_vec(),
        source,
    };
    (normalized, keys)
}
