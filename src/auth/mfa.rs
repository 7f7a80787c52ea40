//! Second factors: TOTP enrollment, confirmation and removal, recovery codes, and
//! finishing a login that waits for its second factor. Every code checked here counts
//! as a login attempt on the user's throttle until it proves right, so a stolen access
//! token or password buys no more guesses than a login form would.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::throttle::throttle_keys;
use super::{Auth, Authenticated, ClientInfo, Error, TokenPair};
use crate::audit::{Event, EventType};
use crate::mail::Kind;
use crate::mfa::{
    Amr, Enrollment, FactorKey, PASSKEY, Passkeys, RECOVERY_CODE, RecoveryCode, TOTP, TotpSecret,
    recovery_digest, well_formed_recovery_code, well_formed_totp_code,
};
use crate::store::{
    CodeSession, MfaFinish, MfaFinished, NewMfaTicket, SecondFactor, SessionLogin,
    TotpConfirmation, TotpFactor, User,
};
use crate::tokens::{RefreshToken, refresh_digest};

/// What the second-factor use cases need, built once at start-up.
pub struct FactorSetup {
    /// Seals TOTP secrets at rest.
    pub key: FactorKey,
    /// The name authenticator apps show for the account (`otpauth` issuer).
    pub issuer: String,
    /// The WebAuthn relying party.
    pub passkeys: Passkeys,
}

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
    /// Starts TOTP enrollment once the password is confirmed: a new secret, pending
    /// until [`Self::confirm_totp`] (a pending one is replaced).
    pub async fn begin_totp(
        &self,
        who: &Authenticated,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<Enrollment, Error> {
        let user = self.confirm_password(who, password, client.ip).await?;
        let secret = TotpSecret::generate().map_err(Error::internal)?;
        let sealed = self
            .factors
            .key
            .seal(user.id, secret.as_bytes())
            .map_err(Error::internal)?;
        if !self
            .store
            .begin_totp(user.id, &sealed, self.clock.now())
            .await?
        {
            return Err(Error::AlreadyEnrolled);
        }
        secret
            .enrollment(&self.factors.issuer, &user.email)
            .map_err(Error::internal)
    }

    /// Confirms the pending TOTP factor with a code from the app: the factor counts
    /// from now on, every other session ends, and the first recovery codes come back.
    pub async fn confirm_totp(
        &self,
        who: &Authenticated,
        code: &SecretString,
        client: ClientInfo,
    ) -> Result<Vec<RecoveryCode>, Error> {
        let user = who.user();
        let factor = self.store.totp_factor(user.id).await?;
        let factor = factor.filter(|f| !f.confirmed);
        let step = self
            .totp_step(user, factor.as_ref(), code, client.ip)
            .await?;
        let codes = RecoveryCode::generate_set().map_err(Error::internal)?;
        let now = self.clock.now();
        let confirmation = TotpConfirmation {
            user_id: user.id,
            step,
            recovery_hashes: codes.iter().map(RecoveryCode::digest).collect(),
            keep_session: who.session_id(),
            now,
            event: Event::new(EventType::MfaEnrolled, now)
                .user(user.id)
                .session(who.session_id())
                .detail("method", TOTP),
        };
        if !self.store.confirm_totp(&confirmation).await? {
            return Err(Error::InvalidCode);
        }
        self.cache.forget_sessions();
        Ok(codes)
    }

    /// Removes the TOTP factor (and the recovery codes) with the password and a
    /// current code.
    pub async fn remove_totp(
        &self,
        who: &Authenticated,
        password: SecretString,
        code: &SecretString,
        client: ClientInfo,
    ) -> Result<(), Error> {
        let user = self.confirm_password(who, password, client.ip).await?;
        let factor = self.confirmed_totp(user.id).await?;
        let step = self
            .totp_step(user, factor.as_ref(), code, client.ip)
            .await?;
        let event = Event::new(EventType::MfaRemoved, self.clock.now())
            .user(user.id)
            .session(who.session_id())
            .detail("method", TOTP);
        if !self.store.remove_totp(user.id, step, &event).await? {
            return Err(Error::InvalidCode);
        }
        // Cached session checks hold the user, `mfa_enabled` with it.
        self.cache.forget_sessions();
        Ok(())
    }

    /// A new set of recovery codes for a current TOTP code; the old set dies.
    pub async fn regenerate_recovery_codes(
        &self,
        who: &Authenticated,
        code: &SecretString,
        client: ClientInfo,
    ) -> Result<Vec<RecoveryCode>, Error> {
        let user = who.user();
        let factor = self.confirmed_totp(user.id).await?;
        let step = self
            .totp_step(user, factor.as_ref(), code, client.ip)
            .await?;
        let codes = RecoveryCode::generate_set().map_err(Error::internal)?;
        let hashes: Vec<_> = codes.iter().map(RecoveryCode::digest).collect();
        let event = Event::new(EventType::MfaEnrolled, self.clock.now())
            .user(user.id)
            .session(who.session_id())
            .detail("method", "recovery_codes");
        match self
            .store
            .replace_recovery_codes(user.id, step, &hashes, &event)
            .await?
        {
            true => Ok(codes),
            false => Err(Error::InvalidCode),
        }
    }

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
        let ticket = self.store.claim_mfa_attempt(&ticket_hash, now).await?;
        let ticket = ticket.ok_or(Error::InvalidMfaToken)?;
        let user = self.store.user(ticket.user_id).await?;
        let user = user.ok_or(Error::InvalidMfaToken)?;
        let (_, keys) = throttle_keys(&user.email, client.ip);
        self.claim_attempt(&keys).await?;
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
        let refresh = RefreshToken::generate().map_err(Error::internal)?;
        let refresh_expires_at = now + self.lifetimes.refresh_token.min(self.lifetimes.session);
        let session = CodeSession {
            id: Uuid::now_v7(),
            expires_at: now + self.lifetimes.session,
            user_agent: client.user_agent,
            ip: client.ip.map(|ip| ip.to_string()),
            refresh_token_hash: refresh.digest(),
            refresh_expires_at,
        };
        let recovery_notice = match factor {
            SecondFactor::RecoveryCode { .. } => Some((
                self.notice(Kind::RecoveryCodeUsed)?,
                Event::new(EventType::MfaRecoveryCodeUsed, now),
            )),
            SecondFactor::Totp { .. } | SecondFactor::Passkey { .. } => None,
        };
        let session_id = session.id;
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
        let login = SessionLogin {
            amr,
            auth_time: now,
        };
        let access = self.tokens.issue(&user, session_id, &login, now)?;
        self.metrics.logins_succeeded.increment(1);
        Ok(TokenPair {
            access,
            refresh_token: refresh.into_secret(),
            refresh_expires_in: (refresh_expires_at - now).whole_seconds(),
        })
    }

    async fn confirmed_totp(&self, user_id: Uuid) -> Result<Option<TotpFactor>, Error> {
        let factor = self.store.totp_factor(user_id).await?;
        Ok(factor.filter(|f| f.confirmed))
    }

    /// The time step `code` matches for `factor`, checked as a login attempt on the
    /// user's throttle: a wrong code stays counted and is recorded.
    async fn totp_step(
        &self,
        user: &User,
        factor: Option<&TotpFactor>,
        code: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<i64, Error> {
        let (_, keys) = throttle_keys(&user.email, client);
        self.claim_attempt(&keys).await?;
        match self.matching_step(user, factor, code)? {
            Some(step) => {
                self.clear_failures(&keys).await?;
                Ok(step)
            }
            None => Err(self.mfa_failed(user.id, TOTP, None).await),
        }
    }

    /// The step `code` matches now, if `factor` exists and the code is right.
    fn matching_step(
        &self,
        user: &User,
        factor: Option<&TotpFactor>,
        code: &SecretString,
    ) -> Result<Option<i64>, Error> {
        let code = code.expose_secret();
        let Some(factor) = factor.filter(|_| well_formed_totp_code(code)) else {
            return Ok(None);
        };
        let secret = self
            .factors
            .key
            .open(user.id, &factor.sealed_secret)
            .map_err(Error::internal)?;
        Ok(TotpSecret::from_bytes(secret).matching_step(code, self.clock.now()))
    }

    /// Records a wrong second-factor answer and answers [`Error::InvalidCode`] (or why
    /// it could not be recorded).
    async fn mfa_failed(&self, user: Uuid, method: &str, reason: Option<&str>) -> Error {
        let event = Event::new(EventType::MfaFailed, self.clock.now())
            .user(user)
            .failed()
            .detail("method", method)
            .detail("reason", reason.unwrap_or("wrong_code"));
        match self.store.record_event(&event).await {
            Ok(()) => Error::InvalidCode,
            Err(e) => e.into(),
        }
    }
}

/// How the first step of a login went, as `login.succeeded` names methods.
fn first_method(amr: &Amr) -> &'static str {
    match amr.methods().first().map(String::as_str) {
        Some(Amr::PWD) => "password",
        _ => "email_code",
    }
}
