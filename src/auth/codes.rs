//! The use cases of emailed secrets: verify an address, reset a forgotten password,
//! sign in with a code, move an account to a new address. Each secret is one row of
//! the store ([`CodeStore`](crate::store::CodeStore)) and one message in the outbox,
//! written together; redeeming it and its effect are one transaction too.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use uuid::Uuid;

use super::notices::Change;
use super::throttle::throttle_keys;
use super::{Auth, Authenticated, ClientInfo, Error, TokenPair, normalize_email};
use crate::audit::{Event, EventType};
use crate::domain::Amr;
use crate::domain::User;
use crate::mail::{Kind, Templates};
use crate::password::validate_new;
use crate::store::{Effect, NewMfaTicket, Presented, Purpose, Redeemed, Redemption, SendLimit};
use crate::tokens::{CodeKey, RefreshToken, well_formed_code, well_formed_token};

/// What the email use cases need, built once at start-up.
pub struct EmailSetup {
    pub codes: CodeKey,
    pub templates: Templates,
    /// Base of the links in messages (no trailing slash).
    pub public_url: String,
    /// Logins wait for a verified address; registration answers alike for new and
    /// existing addresses.
    pub require_verified: bool,
    /// Wakes this instance's outbox worker when a message is queued.
    pub wake: Arc<Notify>,
    pub send_limit: SendLimit,
    /// Bounds the sends running after their answers: a flood of requests holds no
    /// more than this many tasks and connections.
    pub sends: Arc<tokio::sync::Semaphore>,
}

/// A secret as a client presents it: the link's token, or the address with the code.
#[derive(Debug)]
pub enum CodeInput {
    Token(SecretString),
    Code { email: String, code: SecretString },
}

impl Auth {
    /// Mails a verification code to the token's user.
    pub async fn send_verification(&self, who: &Authenticated) -> Result<(), Error> {
        let user = self
            .store
            .user(who.user().id)
            .await?
            .ok_or(Error::SessionNotFound)?;
        if user.email_verified {
            return Err(Error::AlreadyVerified);
        }
        self.send_code(&user, Purpose::VerifyEmail, None).await
    }

    /// Marks the address of the code's user verified. A code typed with its address
    /// from `ip` counts on the address's login throttle until it proves right.
    pub async fn verify_email(&self, input: CodeInput, ip: Option<IpAddr>) -> Result<User, Error> {
        let attempt = self.claim_code_attempt(&input, ip).await?;
        let redeemed = self
            .redeem(Purpose::VerifyEmail, input, Effect::VerifyEmail)
            .await;
        self.settle_code_attempt(attempt, &redeemed, false).await?;
        redeemed.map(|redeemed| redeemed.user)
    }

    /// Mails a reset code if the address has an account. Answers at once and does
    /// the work after, so the answer and its timing say nothing of the account.
    pub fn forgot_password(self: &Arc<Self>, email: &str) -> Result<(), Error> {
        self.in_background(email, Purpose::ResetPassword)
    }

    /// Sets a new password with a reset code: every session ends, the user's other
    /// codes die (an email change in progress too), the address counts as verified,
    /// and a notice goes to it. The password is checked and hashed first, so one the
    /// rules refuse leaves the code usable. (A link carries no address, so a reset by
    /// link cannot refuse the address as the password; by code, it does.)
    pub async fn reset_password(
        &self,
        input: CodeInput,
        new_password: &SecretString,
        client: ClientInfo,
    ) -> Result<(), Error> {
        let email = match &input {
            CodeInput::Code { email, .. } => email.as_str(),
            CodeInput::Token(_) => "",
        };
        let password = validate_new(new_password, email)?;
        // A throttled guess costs no hash.
        let attempt = self.claim_code_attempt(&input, client.ip).await?;
        let reset = async {
            let new_hash = self.hasher.hash(password, client.ip).await?;
            let notice = self.notice(Kind::PasswordChanged)?;
            let effect = Effect::ResetPassword { new_hash, notice };
            self.redeem(Purpose::ResetPassword, input, effect).await
        }
        .await;
        // The old password's failures are moot once a new one is set.
        self.settle_code_attempt(attempt, &reset, true).await?;
        let redeemed = reset?;
        self.cache.forget_sessions();
        self.offer_factor_removal(&redeemed.user).await;
        Ok(())
    }

    /// Mails a sign-in code if the address has an account (as [`Self::forgot_password`]).
    pub fn send_sign_in_code(self: &Arc<Self>, email: &str) -> Result<(), Error> {
        self.in_background(email, Purpose::SignIn)
    }

    /// Opens a session with a sign-in code; the address counts as verified. A code
    /// typed with its address counts as a login attempt on the address's throttle.
    pub async fn sign_in_with_code(
        &self,
        input: CodeInput,
        client: ClientInfo,
    ) -> Result<TokenPair, Error> {
        let throttle = match &input {
            CodeInput::Code { email, .. } => {
                let (_, keys) = throttle_keys(email, client.ip);
                self.claim_attempt(&keys).await?;
                Some(keys)
            }
            CodeInput::Token(_) => None,
        };
        let now = self.clock.now();
        let (session, pending) = self.new_session(client, now)?;
        let token = RefreshToken::generate().map_err(Error::internal)?;
        let ticket = NewMfaTicket {
            token_hash: token.digest(),
            // The store sets the code's user.
            user_id: Uuid::nil(),
            amr: Amr::of(Amr::OTP),
            created_at: now,
        };
        let effect = Effect::SignIn { session, ticket };
        let redeemed = self.redeem(Purpose::SignIn, input, effect).await?;
        if redeemed.awaiting_second_factor {
            if let Some(keys) = throttle {
                let (email, source) = (&keys.email, keys.source.as_deref());
                self.store.release_login_attempt(email, source, now).await?;
            }
            return Err(Error::MfaRequired {
                mfa_token: token.into_secret(),
                methods: self.second_factor_methods(redeemed.user.id).await?,
            });
        }
        if !redeemed.session_opened {
            return Err(Error::AccountDisabled);
        }
        if let Some(keys) = throttle {
            self.clear_failures(&keys).await?;
        }
        self.hand_out(&redeemed.user, pending, Amr::of(Amr::OTP))
    }

    /// Starts moving the token's user to `new_email`, once the password is confirmed:
    /// a code goes to the new address, and the current one is told. Nothing changes
    /// until the code is redeemed. A taken address answers alike (the code goes out,
    /// and its confirmation is refused): the answer tells nobody who has an account.
    pub async fn change_email(
        &self,
        who: &Authenticated,
        new_email: &str,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<(), Error> {
        let (display, normalized) = normalize_email(new_email)?;
        let user = self.confirm_password(who, password, client.ip).await?;
        let target = Some((display, normalized));
        self.send_code(user, Purpose::ChangeEmail, target).await?;
        let event = Event::new(EventType::EmailChanged, self.clock.now())
            .user(user.id)
            .session(who.session_id())
            .detail("stage", "requested");
        self.store.record_event(&event).await?;
        self.tell(&user.email, Change::EmailChangeRequested).await;
        Ok(())
    }

    /// Moves the code's user to the address the code was sent to; a notice goes to
    /// the old address, and codes sent there die. A typed code counts on the new
    /// address's throttle, as for [`Self::verify_email`].
    pub async fn confirm_email_change(
        &self,
        input: CodeInput,
        ip: Option<IpAddr>,
    ) -> Result<User, Error> {
        let notice = self.notice(Kind::EmailChanged)?;
        let effect = Effect::ChangeEmail { notice };
        let attempt = self.claim_code_attempt(&input, ip).await?;
        let redeemed = self.redeem(Purpose::ChangeEmail, input, effect).await;
        self.settle_code_attempt(attempt, &redeemed, false).await?;
        redeemed.map(|redeemed| redeemed.user)
    }

    pub(super) fn requires_verified_email(&self) -> bool {
        self.email.require_verified
    }

    /// Redeems `input` for `purpose` with `effect`: the user after it, and what a
    /// sign-in opened. Every way a code can be wrong is one [`Error::InvalidCode`].
    pub(super) async fn redeem(
        &self,
        purpose: Purpose,
        input: CodeInput,
        effect: Effect,
    ) -> Result<Redeemed, Error> {
        let presented = self.presented(purpose, &input)?;
        let queues_mail = matches!(
            effect,
            Effect::ResetPassword { .. } | Effect::ChangeEmail { .. }
        );
        let now = self.clock.now();
        let event = match purpose {
            Purpose::VerifyEmail => Event::new(EventType::EmailVerified, now),
            Purpose::ResetPassword => Event::new(EventType::PasswordReset, now),
            Purpose::SignIn => {
                Event::new(EventType::LoginSucceeded, now).detail("method", "email_code")
            }
            Purpose::ChangeEmail => Event::new(EventType::EmailChanged, now),
            Purpose::RemoveFactors => {
                Event::new(EventType::MfaRemoved, now).detail("by", "email_link")
            }
        };
        let redemption = Redemption {
            purpose,
            presented,
            effect,
            now,
            event,
        };
        let redeemed = self
            .store
            .redeem(&redemption)
            .await?
            .ok_or(Error::InvalidCode)?;
        if queues_mail {
            self.email.wake.notify_one();
        }
        // Sessions cached here hold a copy of the user the code just changed: a
        // person's own change shows at once.
        self.cache.forget_sessions();
        Ok(redeemed)
    }

    fn presented(&self, purpose: Purpose, input: &CodeInput) -> Result<Presented, Error> {
        let codes = &self.email.codes;
        match input {
            CodeInput::Token(token) if well_formed_token(token) => Ok(Presented::Token {
                hash: codes.token_hash(token.expose_secret()),
            }),
            CodeInput::Code { email, code } if well_formed_code(code) => {
                let (_, address) = normalize_email(email).map_err(|_| Error::InvalidCode)?;
                let hash =
                    codes.code_hash(purpose.as_str(), address.as_str(), code.expose_secret());
                Ok(Presented::Code { address, hash })
            }
            _ => Err(Error::InvalidCode),
        }
    }
}
