//! Second factors: TOTP enrollment, confirmation and removal, and recovery codes (the
//! second step of a login is `mfa_login.rs`). Every code checked here counts as a
//! login attempt on the user's throttle until it proves right, so a stolen access
//! token or password buys no more guesses than a login form would.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::notices::Change;
use super::throttle::throttle_keys;
use super::{Auth, Authenticated, ClientInfo, Error};
use crate::audit::{Event, EventType};
use crate::domain::Amr;
use crate::domain::User;
use crate::mfa::{
    Enrollment, FactorKey, Passkeys, RecoveryCode, TOTP, TotpSecret, well_formed_totp_code,
};
use crate::store::{TotpConfirmation, TotpFactor};

/// What the second-factor use cases need, built once at start-up.
pub struct FactorSetup {
    /// Seals TOTP secrets at rest.
    pub key: std::sync::Arc<FactorKey>,
    /// The name authenticator apps show for the account (`otpauth` issuer).
    pub issuer: String,
    /// The WebAuthn relying party.
    pub passkeys: Passkeys,
}

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
        if self.confirmed_totp(user.id).await?.is_some() {
            return Err(Error::AlreadyEnrolled);
        }
        may_add_factor(user, who)?;
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
        self.tell(&user.email, Change::TotpEnrolled).await;
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
        self.tell(&user.email, Change::TotpRemoved).await;
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

    pub(super) async fn confirmed_totp(&self, user_id: Uuid) -> Result<Option<TotpFactor>, Error> {
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
    pub(super) fn matching_step(
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
    pub(super) async fn mfa_failed(&self, user: Uuid, method: &str, reason: Option<&str>) -> Error {
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

/// Whether `who` may add a factor to `user` (as the store has them now). An address
/// nobody has proved gets none: a squatter who signed up someone else's address
/// would otherwise leave a factor behind for the owner to be locked out by. And an
/// account with a factor takes another only from a session whose login used one, so
/// a stolen token and password buy no way around the factor there is.
pub(super) fn may_add_factor(user: &User, who: &Authenticated) -> Result<(), Error> {
    if !user.email_verified {
        return Err(Error::EmailNotVerified);
    }
    let second = [Amr::MFA, Amr::HWK, Amr::SWK];
    let used_one = who
        .claims()
        .amr
        .iter()
        .any(|m| second.contains(&m.as_str()));
    if user.mfa_enabled && !used_one {
        return Err(Error::SecondFactorRequired);
    }
    Ok(())
}
