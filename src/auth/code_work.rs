//! The work around a code that is not its redemption: the sends that run after their
//! answer (`/password/forgot`, `/login/code/send`), and the login-throttle attempt a
//! typed code claims.

use std::net::IpAddr;
use std::sync::Arc;

use super::throttle::{ThrottleKeys, throttle_keys};
use super::{Auth, CodeInput, Error, normalize_email};
use crate::audit::{self, Actor, Event, EventType};
use crate::store::Purpose;

impl Auth {
    /// Runs the lookup and the send of a code for `email` after answering: the same
    /// answer, at once, for every address. The work waits a moment first, so that the
    /// processor time an existing account costs is not spent while the answer is still
    /// being written, where a client timing it could see it.
    pub(super) fn in_background(
        self: &Arc<Self>,
        email: &str,
        purpose: Purpose,
    ) -> Result<(), Error> {
        const AFTER_THE_ANSWER: std::time::Duration = std::time::Duration::from_millis(20);
        let (_, normalized) = normalize_email(email)?;
        let Ok(permit) = Arc::clone(&self.email.sends).try_acquire_owned() else {
            // The answer is the same either way; the work is dropped, as a send over
            // the per-recipient limit is.
            tracing::warn!(
                purpose = purpose.as_str(),
                "too many code sends at once: one dropped"
            );
            return Ok(());
        };
        let auth = Arc::clone(self);
        // The request's origin goes along, for the `password.reset_requested` event.
        let origin = audit::current_origin();
        tokio::spawn(audit::within(origin, async move {
            tokio::time::sleep(AFTER_THE_ANSWER).await;
            let sent = match auth.store.credentials_by_email(&normalized).await {
                // Whoever asked is anonymous: the account's owner is the event's
                // subject, not its actor.
                Ok(Some(found)) if !found.user.disabled => {
                    let anonymous = Actor::Anonymous;
                    auth.send_code_by(&found.user, purpose, None, anonymous)
                        .await
                }
                Ok(_) => auth.record_request_for_nobody(purpose).await,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = sent {
                tracing::error!(error = %e, purpose = purpose.as_str(), "cannot send a code");
            }
            drop(permit);
        }));
        Ok(())
    }

    /// Records a code asked for an address with no (usable) account: the audit trail
    /// sees the request, and the write costs the store what a send costs, so a request
    /// right after this one waits as long for the writer whether or not the account
    /// exists.
    async fn record_request_for_nobody(&self, purpose: Purpose) -> Result<(), Error> {
        let now = self.clock.now();
        let event = match purpose {
            Purpose::ResetPassword => Event::new(EventType::PasswordResetRequested, now),
            _ => Event::new(EventType::LoginFailed, now).detail("method", "email_code"),
        };
        let event = event
            .by(Actor::Anonymous)
            .failed()
            .detail("reason", "no_account");
        Ok(self.store.record_event(&event).await?)
    }

    /// Claims a login attempt on the throttle of the address a code is typed with,
    /// as a password would: guesses at codes and at passwords share one count. A
    /// link's token (256 bits) is no guess and claims nothing.
    pub(super) async fn claim_code_attempt(
        &self,
        input: &CodeInput,
        ip: Option<IpAddr>,
    ) -> Result<Option<ThrottleKeys>, Error> {
        let CodeInput::Code { email, .. } = input else {
            return Ok(None);
        };
        let (_, keys) = throttle_keys(email, ip);
        self.claim_attempt(&keys).await?;
        Ok(Some(keys))
    }

    /// Ends a claimed attempt: a wrong code stays counted; anything else is taken
    /// back, or, with `clear`, clears the count (a password reset).
    pub(super) async fn settle_code_attempt<T>(
        &self,
        attempt: Option<ThrottleKeys>,
        outcome: &Result<T, Error>,
        clear: bool,
    ) -> Result<(), Error> {
        let Some(keys) = attempt else {
            return Ok(());
        };
        match outcome {
            Err(Error::InvalidCode) => Ok(()),
            Ok(_) if clear => self.clear_failures(&keys).await,
            _ => {
                let (email, source) = (&keys.email, keys.source.as_deref());
                let now = self.clock.now();
                Ok(self.store.release_login_attempt(email, source, now).await?)
            }
        }
    }
}
