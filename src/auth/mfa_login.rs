//! The second step of a login: the ticket a right first step leaves (`mfa_required`),
//! and finishing it with a TOTP code, a recovery code or a passkey.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::throttle::throttle_keys;
use super::{Auth, ClientInfo, Error, TokenPair};
use crate::audit::{Event, EventType};
use crate::domain::Amr;
use crate::domain::User;
use crate::mail::Kind;
use crate::mfa::{PASSKEY, RECOVERY_CODE, TOTP, recovery_digest, well_formed_recovery_code};
use crate::store::{MfaFinish, MfaFinished, NewMfaTicket, SecondFactor};
use crate::tokens::{RefreshToken, refresh_digest};

/// How a client answers `mfa_required`.
pub enum MfaAnswer {
    Totp(SecretString),
    RecoveryCode(SecretString),
    /// A passkey assertion for a challenge from `/login/mfa/passkey/options`.
    Passkey {
        challenge_id: Uuid,
        credential: serde_json::Value,
    },
}

/// The longest `mfa_token` looked up (the real ones are 43 characters).
const MAX_MFA_TOKEN: usize = 64;

impl Auth {
    /// The first step of a login (`amr`) was right, but `user` has a second factor:
    /// the refusal that carries the ticket to finish with.
    pub(super) async fn second_factor_required(
        &self,
        user: &User,
        amr: Amr,
    ) -> Result<Error, Error> {
        let token = RefreshToken::generate().map_err(Error::internal)?;
        let ticket = NewMfaTicket {
            token_hash: token.digest(),
            user_id: user.id,
            amr,
            created_at: self.clock.now(),
        };
        self.store.create_mfa_ticket(&ticket).await?;
        Ok(Error::MfaRequired {
            mfa_token: token.into_secret(),
            methods: self.second_factor_methods(user.id).await?,
        })
    }

    /// The methods `mfa_required` offers the user.
    pub(super) async fn second_factor_methods(
        &self,
        user: Uuid,
    ) -> Result<Vec<&'static str>, Error> {
        let (totp, passkey) = self.store.factors(user).await?;
        let mut methods = Vec::new();
        if totp {
            methods.extend([TOTP, RECOVERY_CODE]);
        }
        if passkey {
            methods.push(PASSKEY);
        }
        Ok(methods)
    }

    /// Finishes a login that answered `mfa_required`. Each call spends one of the
    /// ticket's attempts; a wrong answer also counts on the account's login throttle.
    #[tracing::instrument(skip_all)]
    pub async fn finish_mfa(
        &self,
        mfa_token: &SecretString,
        answer: MfaAnswer,
        client: ClientInfo,
    ) -> Result<TokenPair, Error> {
        let token = mfa_token.expose_secret();
        if token.is_empty() || token.len() > MAX_MFA_TOKEN {
            return Err(Error::InvalidMfaToken);
        }
        let ticket_hash = refresh_digest(token);
        let now = self.clock.now();
        // The throttle first, on a look at the ticket: an answer refused unchecked
        // (429) spends none of the ticket's attempts.
        let ticket = self.store.mfa_ticket(&ticket_hash, now).await?;
        let ticket = ticket.ok_or(Error::InvalidMfaToken)?;
        let user = self.store.user(ticket.user_id).await?;
        let user = user.ok_or(Error::InvalidMfaToken)?;
        let (_, keys) = throttle_keys(&user.email, client.ip);
        self.claim_attempt(&keys).await?;
        let Some(ticket) = self.store.claim_mfa_attempt(&ticket_hash, now).await? else {
            // Spent meanwhile by a concurrent answer: this one guessed nothing.
            let (email, source) = (&keys.email, keys.source.as_deref());
            self.store.release_login_attempt(email, source, now).await?;
            return Err(Error::InvalidMfaToken);
        };
        let (factor, method, second) = match &answer {
            MfaAnswer::Totp(code) => {
                let factor = self.confirmed_totp(user.id).await?;
                let step = self.matching_step(&user, factor.as_ref(), code)?;
                let factor = step.map(|step| SecondFactor::Totp { step });
                (factor, TOTP, Amr::of(Amr::OTP))
            }
            MfaAnswer::RecoveryCode(code) => {
                let code = code.expose_secret();
                let hash = well_formed_recovery_code(code).then(|| recovery_digest(code));
                let factor = hash.map(|hash| SecondFactor::RecoveryCode { hash });
                (factor, RECOVERY_CODE, Amr::of(Amr::OTP))
            }
            MfaAnswer::Passkey {
                challenge_id,
                credential,
            } => match self
                .verify_user_passkey(user.id, *challenge_id, credential)
                .await?
            {
                Some((id, verified)) => {
                    let amr = Amr::passkey(verified.synced, verified.user_verified);
                    let credential = verified.credential;
                    (Some(SecondFactor::Passkey { id, credential }), PASSKEY, amr)
                }
                None => (None, PASSKEY, Amr::default()),
            },
        };
        let Some(factor) = factor else {
            return Err(self.mfa_failed(user.id, method, None).await);
        };
        let first = first_method(&ticket.amr);
        let amr = ticket.amr.and_second(&second);
        let (session, pending) = self.new_session(client, now)?;
        let recovery_notice = match factor {
            SecondFactor::RecoveryCode { .. } => Some((
                self.notice(Kind::RecoveryCodeUsed)?,
                Event::new(EventType::MfaRecoveryCodeUsed, now),
            )),
            SecondFactor::Totp { .. } | SecondFactor::Passkey { .. } => None,
        };
        let finish = MfaFinish {
            ticket_hash,
            factor,
            session,
            amr: amr.clone(),
            throttle_keys: [Some(keys.email), keys.source]
                .into_iter()
                .flatten()
                .collect(),
            now,
            event: Event::new(EventType::LoginSucceeded, now)
                .detail("method", first)
                .detail("second_factor", method),
            recovery_notice,
        };
        let user = match self.store.finish_mfa(&finish).await? {
            MfaFinished::LoggedIn(user) => user,
            MfaFinished::TicketGone => return Err(Error::InvalidMfaToken),
            MfaFinished::Refused => {
                let reason = match method {
                    TOTP => "replayed",
                    PASSKEY => "passkey_removed",
                    _ => "unknown_or_used",
                };
                return Err(self.mfa_failed(user.id, method, Some(reason)).await);
            }
        };
        if finish.recovery_notice.is_some() {
            self.email.wake.notify_one();
        }
        self.hand_out(&user, pending, amr)
    }
}

/// How the first step of a login went, as `login.succeeded` names methods.
fn first_method(amr: &Amr) -> &'static str {
    match amr.methods().first().map(String::as_str) {
        Some(Amr::PWD) => "password",
        _ => "email_code",
    }
}
