//! The messages the email use cases send: each rendered from its templates, and
//! queued in the store with the code it carries (or, for a notice, with the change it
//! reports).

use secrecy::ExposeSecret;
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

use super::{Auth, Error, normalize_email};
use crate::audit::{Actor, Event, EventType};
use crate::domain::{NormalizedEmail, User};
use crate::mail::Kind;
use crate::store::{NewCode, NewMail, Purpose};
use crate::tokens::IssuedCode;

/// What a message's templates can show.
#[derive(Serialize, Default)]
struct MessageContext {
    link: Option<String>,
    code: Option<String>,
    lifetime: Option<String>,
    /// The second factors an account has, in words.
    factors: Option<String>,
}

/// The page under `/ui/` a message's link opens.
fn page(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::VerifyEmail => "verify-email",
        Purpose::ResetPassword => "reset-password",
        Purpose::SignIn => "sign-in",
        Purpose::ChangeEmail => "confirm-email",
        Purpose::RemoveFactors => "remove-factors",
    }
}

fn kind(purpose: Purpose) -> Kind {
    match purpose {
        Purpose::VerifyEmail => Kind::VerifyEmail,
        Purpose::ResetPassword => Kind::ResetPassword,
        Purpose::SignIn => Kind::SignIn,
        Purpose::ChangeEmail => Kind::ChangeEmail,
        Purpose::RemoveFactors => Kind::RemoveFactors,
    }
}

/// "24 hours", "30 minutes".
fn spell(lifetime: Duration) -> String {
    match lifetime.whole_hours() {
        1 => "1 hour".to_owned(),
        hours if hours > 1 => format!("{hours} hours"),
        _ => format!("{} minutes", lifetime.whole_minutes()),
    }
}

impl Auth {
    /// Tells the owner of `email` that somebody tried to register it again (with
    /// `--require-verified-email`, where registration answers alike).
    pub(super) async fn mail_account_exists(
        &self,
        email: &str,
        normalized: &NormalizedEmail,
    ) -> Result<(), Error> {
        let mail = self.mail(
            Kind::AccountExists,
            email,
            normalized.as_str(),
            &MessageContext::default(),
        )?;
        if self
            .store
            .issue(None, &mail, self.email.send_limit, None)
            .await?
        {
            self.email.wake.notify_one();
        }
        Ok(())
    }
    /// Issues a code of `purpose` for `user` and queues its message to `target`
    /// (`(address, normalized)`; the user's own address by default). Over the send
    /// limit, nothing happens, and the caller cannot tell.
    pub(super) async fn send_code(
        &self,
        user: &User,
        purpose: Purpose,
        target: Option<(String, NormalizedEmail)>,
    ) -> Result<(), Error> {
        self.send_code_by(user, purpose, target, Actor::User(Some(user.id)))
            .await
    }

    /// [`Auth::send_code`] at the request of `actor`, who is named on the
    /// `password.reset_requested` event a reset code records.
    pub(super) async fn send_code_by(
        &self,
        user: &User,
        purpose: Purpose,
        target: Option<(String, NormalizedEmail)>,
        actor: Actor,
    ) -> Result<(), Error> {
        let target = match target {
            Some(target) => target,
            None => normalize_email(&user.email)?,
        };
        let (code, mail) = self.code_message(user.id, purpose, target)?;
        let event = (purpose == Purpose::ResetPassword).then(|| {
            Event::new(EventType::PasswordResetRequested, self.clock.now())
                .by(actor)
                .user(user.id)
        });
        if self
            .store
            .issue(Some(&code), &mail, self.email.send_limit, event.as_ref())
            .await?
        {
            self.email.wake.notify_one();
        }
        Ok(())
    }

    /// A new code of `purpose` for the user `user_id`, and its message to `target`
    /// (`(address, normalized)`), ready to store together.
    pub(super) fn code_message(
        &self,
        user_id: Uuid,
        purpose: Purpose,
        target: (String, NormalizedEmail),
    ) -> Result<(NewCode, NewMail), Error> {
        self.code_message_with(user_id, purpose, target, None)
    }

    /// [`Self::code_message`], naming the account's second factors in the message.
    pub(super) fn code_message_with(
        &self,
        user_id: Uuid,
        purpose: Purpose,
        (address, normalized): (String, NormalizedEmail),
        factors: Option<String>,
    ) -> Result<(NewCode, NewMail), Error> {
        let issued = self
            .email
            .codes
            .issue(purpose.as_str(), normalized.as_str())
            .map_err(Error::internal)?;
        let now = self.clock.now();
        let context = MessageContext {
            factors,
            ..self.code_context(purpose, &issued)
        };
        let mail = self.mail(kind(purpose), &address, normalized.as_str(), &context)?;
        let new_email = (purpose == Purpose::ChangeEmail).then(|| address.clone());
        let code = NewCode {
            id: Uuid::now_v7(),
            user_id,
            purpose,
            address: normalized,
            token_hash: issued.token_hash,
            code_hash: issued.code_hash,
            new_email,
            created_at: now,
            expires_at: now + purpose.lifetime(),
        };
        Ok((code, mail))
    }

    fn code_context(&self, purpose: Purpose, issued: &IssuedCode) -> MessageContext {
        MessageContext {
            link: Some(format!(
                "{}/ui/{}?token={}",
                self.email.public_url,
                page(purpose),
                issued.token.expose_secret()
            )),
            code: Some(issued.code.expose_secret().to_owned()),
            lifetime: Some(spell(purpose.lifetime())),
            factors: None,
        }
    }

    /// A message of `kind` to `address`, counted against its send limit.
    fn mail(
        &self,
        kind: Kind,
        address: &str,
        normalized: &str,
        context: &MessageContext,
    ) -> Result<NewMail, Error> {
        let rendered = self
            .email
            .templates
            .render(kind, context)
            .map_err(Error::internal)?;
        let key = self.email.codes.recipient_key(kind.name(), normalized);
        let to = Some(address.to_owned());
        Ok(rendered.into_mail(kind, to, Some(key), self.clock.now()))
    }

    /// A notice to the address a redeemed code's user has when it is queued (never
    /// limited: it reports a change that happened).
    pub(super) fn notice(&self, kind: Kind) -> Result<NewMail, Error> {
        let rendered = self
            .email
            .templates
            .render(kind, MessageContext::default())
            .map_err(Error::internal)?;
        Ok(rendered.into_mail(kind, None, None, self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_spelled_for_people() {
        let spelled: Vec<String> = [
            Purpose::VerifyEmail,
            Purpose::ResetPassword,
            Purpose::SignIn,
            Purpose::ChangeEmail,
            Purpose::RemoveFactors,
        ]
        .map(|purpose| spell(purpose.lifetime()))
        .into();
        assert_eq!(
            spelled,
            ["24 hours", "30 minutes", "10 minutes", "1 hour", "24 hours"]
        );
    }
}
