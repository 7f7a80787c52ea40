//! Signing in with a passkey: passwordless (with or without an address), and a
//! passkey as the second step of a login. Each challenge is single-use.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use uuid::Uuid;

use super::passkeys::{PasskeyOptions, credentials};
use super::{Auth, ClientInfo, Error, TokenPair, normalize_email};
use crate::audit::{Event, EventType};
use crate::domain::Amr;
use crate::mfa::{Passkeys, Verified};
use crate::store::{ChallengeKind, PasskeyLogin, StoredPasskey};
use crate::tokens::refresh_digest;

impl Auth {
    /// Login options: for an address with passkeys, naming them; otherwise (no
    /// address, or one without passkeys or account) for any discoverable credential.
    /// A string that is no address is refused as everywhere else.
    pub async fn passkey_login_options(
        &self,
        email: Option<&str>,
    ) -> Result<PasskeyOptions, Error> {
        let user = match email.map(normalize_email).transpose()? {
            Some((_, normalized)) => self.store.credentials_by_email(&normalized).await?,
            None => None,
        };
        let existing = match &user {
            Some(found) => credentials(&self.store.passkeys(found.user.id).await?),
            None => Vec::new(),
        };
        if existing.is_empty() {
            let ceremony = self.passkeys_rp().start_discoverable();
            return self
                .begin(ceremony, ChallengeKind::Discoverable, None)
                .await;
        }
        let ceremony = self.passkeys_rp().start_login(&existing);
        let user_id = user.map(|found| found.user.id);
        self.begin(ceremony, ChallengeKind::Login, user_id).await
    }

    /// A passwordless login: the passkey alone (it verified the user), whatever other
    /// factors the account has.
    #[tracing::instrument(skip_all)]
    pub async fn login_with_passkey(
        &self,
        challenge_id: Uuid,
        credential: &Value,
        client: ClientInfo,
    ) -> Result<TokenPair, Error> {
        let now = self.clock.now();
        let (passkey, verified) = self
            .verify_login_passkey(challenge_id, credential)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        if self.requires_verified_email() {
            // As for a password, only the key's holder learns why.
            let user = self.store.user(passkey.user_id).await?;
            if !user.is_some_and(|user| user.email_verified) {
                return Err(Error::EmailNotVerified);
            }
        }
        let amr = Amr::passkey(verified.synced, verified.user_verified);
        let (session, pending) = self.new_session(client, now)?;
        let login = PasskeyLogin {
            passkey_id: passkey.id,
            user_id: passkey.user_id,
            credential: verified.credential,
            session,
            amr: amr.clone(),
            now,
            event: Event::new(EventType::LoginSucceeded, now).detail("method", "passkey"),
        };
        let user = self
            .store
            .passkey_login(&login)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        self.hand_out(&user, pending, amr)
    }

    /// The passkey a login challenge's answer verifies with, if it does.
    async fn verify_login_passkey(
        &self,
        challenge_id: Uuid,
        credential: &Value,
    ) -> Result<Option<(StoredPasskey, Verified)>, Error> {
        let now = self.clock.now();
        let store = &self.store;
        if let Some(challenge) = store
            .take_challenge(challenge_id, ChallengeKind::Discoverable, now)
            .await?
        {
            let Ok((_, credential_id)) = Passkeys::discoverable_user(credential) else {
                return Ok(None);
            };
            let Some(passkey) = store.passkey_by_credential(&credential_id).await? else {
                return Ok(None);
            };
            let verified = self.passkeys_rp().finish_discoverable(
                credential,
                &challenge.state,
                &passkey.credential,
            );
            return Ok(verified.ok().map(|verified| (passkey, verified)));
        }
        let Some(challenge) = store
            .take_challenge(challenge_id, ChallengeKind::Login, now)
            .await?
        else {
            return Ok(None);
        };
        let Some(user_id) = challenge.user_id else {
            return Ok(None);
        };
        self.finish_user_login(user_id, &challenge.state, credential)
            .await
    }

    /// Verifies `credential` against a login `state` for `user_id`'s passkeys.
    async fn finish_user_login(
        &self,
        user_id: Uuid,
        state: &str,
        credential: &Value,
    ) -> Result<Option<(StoredPasskey, Verified)>, Error> {
        let passkeys = self.store.passkeys(user_id).await?;
        let existing = credentials(&passkeys);
        let Ok(verified) = self
            .passkeys_rp()
            .finish_login(credential, state, &existing)
        else {
            return Ok(None);
        };
        let passkey = passkeys
            .into_iter()
            .find(|passkey| passkey.credential_id == verified.credential_id);
        Ok(passkey.map(|passkey| (passkey, verified)))
    }

    /// Options for the passkeys of the user behind a live `mfa_token`.
    pub async fn mfa_passkey_options(
        &self,
        mfa_token: &SecretString,
    ) -> Result<PasskeyOptions, Error> {
        let hash = refresh_digest(mfa_token.expose_secret());
        let ticket = self
            .store
            .mfa_ticket(&hash, self.clock.now())
            .await?
            .ok_or(Error::InvalidMfaToken)?;
        let existing = credentials(&self.store.passkeys(ticket.user_id).await?);
        if existing.is_empty() {
            return Err(Error::InvalidCredential);
        }
        let ceremony = self.passkeys_rp().start_login(&existing);
        self.begin(ceremony, ChallengeKind::Login, Some(ticket.user_id))
            .await
    }

    /// A second-factor passkey answer: the passkey and the verification, if the
    /// challenge was made for `user_id` and the answer verifies.
    pub(super) async fn verify_user_passkey(
        &self,
        user_id: Uuid,
        challenge_id: Uuid,
        credential: &Value,
    ) -> Result<Option<(Uuid, Verified)>, Error> {
        let now = self.clock.now();
        let challenge = self
            .store
            .take_challenge(challenge_id, ChallengeKind::Login, now)
            .await?
            .filter(|c| c.user_id == Some(user_id));
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let found = self
            .finish_user_login(user_id, &challenge.state, credential)
            .await?;
        Ok(found.map(|(passkey, verified)| (passkey.id, verified)))
    }
}
