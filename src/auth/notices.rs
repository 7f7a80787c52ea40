//! Notices of changes to an account's security (ASVS 5.0 V6.3): its address is told
//! when a factor is added or removed, the password changed, the account disabled, or
//! the address changed or asked to change, so that an owner whose account someone
//! else is changing hears of it. A notice reports what already happened: it is never
//! held back by the send limit, and one that cannot be queued is logged, not the
//! change undone.

use super::{Auth, Error};
use crate::mail::Kind;

/// What a notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    PasskeyAdded,
    PasskeyRemoved,
    TotpEnrolled,
    TotpRemoved,
    PasswordChanged,
    Disabled,
    /// To the address an admin moved the account away from.
    EmailChangedByAdmin,
    /// To the current address, when a move to another one is asked for.
    EmailChangeRequested,
}

impl Change {
    fn sentence(self) -> &'static str {
        match self {
            Self::PasskeyAdded => "A passkey was just added to your account.",
            Self::PasskeyRemoved => "A passkey was just removed from your account.",
            Self::TotpEnrolled => "An authenticator app was just set up for your account.",
            Self::TotpRemoved => {
                "The authenticator app was just removed from your account, with its recovery codes."
            }
            Self::PasswordChanged => "The password of your account was just changed.",
            Self::Disabled => "Your account was just disabled by an administrator.",
            Self::EmailChangedByAdmin => {
                "An administrator just moved your account to another email address: this one no longer signs in."
            }
            Self::EmailChangeRequested => {
                "Someone signed in to your account asked to move it to another email address. Nothing changes unless that address confirms."
            }
        }
    }
}

impl Auth {
    /// Tells `address` of `change`.
    pub(super) async fn tell(&self, address: &str, change: Change) {
        if let Err(e) = self.queue_notice(address, change).await {
            tracing::warn!(error = %e, ?change, "could not queue a notice");
        }
    }

    async fn queue_notice(&self, address: &str, change: Change) -> Result<(), Error> {
        let kind = Kind::AccountChanged;
        let context = serde_json::json!({ "change": change.sentence() });
        let rendered = self
            .email
            .templates
            .render(kind, context)
            .map_err(Error::internal)?;
        // Not counted against any limit.
        let mail = rendered.into_mail(kind, Some(address.to_owned()), None, self.clock.now());
        if self
            .store
            .issue(None, &mail, self.email.send_limit, None)
            .await?
        {
            self.email.wake.notify_one();
        }
        Ok(())
    }
}
