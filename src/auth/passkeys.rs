//! Passkeys: registration (password-confirmed), the list, removal, passwordless login
//! with or without an address, and the options of a passkey as a second factor. Each
//! ceremony's state waits in the store, single-use, for 5 minutes.

use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;

use super::mfa::may_add_factor;
use super::notices::Change;
use super::{Auth, Authenticated, ClientInfo, Error};
use crate::audit::{Event, EventType};
use crate::domain::EndReason;
use crate::mfa::{Ceremony, PasskeyError, Passkeys};
use crate::store::{ChallengeKind, NewChallenge, NewPasskey, StoreError, StoredPasskey};

/// A ceremony's options, and the id its answer comes back with.
pub struct PasskeyOptions {
    pub challenge_id: Uuid,
    pub options: Value,
}

/// The longest passkey name kept.
pub const MAX_PASSKEY_NAME: usize = 64;

impl Auth {
    pub(super) fn passkeys_rp(&self) -> &Passkeys {
        &self.factors.passkeys
    }

    pub(super) async fn begin(
        &self,
        ceremony: Result<Ceremony, PasskeyError>,
        kind: ChallengeKind,
        user_id: Option<Uuid>,
    ) -> Result<PasskeyOptions, Error> {
        let ceremony = ceremony.map_err(Error::internal)?;
        let challenge = NewChallenge {
            id: Uuid::now_v7(),
            user_id,
            kind,
            state: ceremony.state,
            created_at: self.clock.now(),
        };
        self.store.put_challenge(&challenge).await?;
        Ok(PasskeyOptions {
            challenge_id: challenge.id,
            options: ceremony.options,
        })
    }

    /// Registration options, once the password is confirmed.
    pub async fn passkey_registration_options(
        &self,
        who: &Authenticated,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<PasskeyOptions, Error> {
        let user = self.confirm_password(who, password, client.ip).await?;
        may_add_factor(user, who)?;
        let existing = credentials(&self.store.passkeys(user.id).await?);
        let ceremony = self
            .passkeys_rp()
            .start_registration(user.id, &user.email, &existing);
        self.begin(ceremony, ChallengeKind::Register, Some(user.id))
            .await
    }

    /// Adds the passkey the browser made for a registration challenge of this user.
    pub async fn add_passkey(
        &self,
        who: &Authenticated,
        challenge_id: Uuid,
        credential: &Value,
        name: Option<String>,
    ) -> Result<StoredPasskey, Error> {
        let user = who.user();
        let name = match name.as_deref().map(str::trim) {
            None | Some("") => "Passkey".to_owned(),
            Some(name) if name.chars().count() > MAX_PASSKEY_NAME => {
                return Err(Error::invalid(
                    "name",
                    "A passkey name is at most 64 characters.",
                ));
            }
            Some(name) => name.to_owned(),
        };
        let now = self.clock.now();
        // Fresh from the store: the session's copy of the user may be a moment old.
        let fresh = self.store.user(user.id).await?;
        let had_factor = fresh.as_ref().is_some_and(|u| u.mfa_enabled);
        let challenge = self
            .store
            .take_challenge(challenge_id, ChallengeKind::Register, now)
            .await?
            .filter(|c| c.user_id == Some(user.id))
            .ok_or(Error::InvalidCredential)?;
        let registered = self
            .passkeys_rp()
            .finish_registration(credential, &challenge.state)
            .map_err(|_| Error::InvalidCredential)?;
        let passkey = NewPasskey {
            id: Uuid::now_v7(),
            user_id: user.id,
            credential_id: registered.credential_id,
            credential: registered.credential,
            name,
            created_at: now,
        };
        let event = Event::new(EventType::PasskeyAdded, now)
            .user(user.id)
            .session(who.session_id())
            .detail("passkey_id", passkey.id.to_string());
        match self.store.add_passkey(&passkey, &event).await {
            Ok(()) => {}
            Err(StoreError::PasskeyTaken) => return Err(Error::InvalidCredential),
            Err(e) => return Err(e.into()),
        }
        if !had_factor {
            // The account's first factor: as when TOTP is confirmed, a session opened
            // without it (perhaps by whoever had the password) ends.
            let reason = EndReason::SecondFactorAdded;
            let ended = Event::new(EventType::SessionEnded, now)
                .user(user.id)
                .session(who.session_id())
                .detail("reason", reason.as_str());
            let keep = Some(who.session_id());
            self.store
                .end_sessions(user.id, keep, now, reason, &ended)
                .await?;
        }
        self.cache.forget_sessions();
        let address = fresh.map_or_else(|| user.email.clone(), |u| u.email);
        self.tell(&address, Change::PasskeyAdded).await;
        Ok(StoredPasskey {
            id: passkey.id,
            user_id: user.id,
            credential_id: passkey.credential_id,
            name: passkey.name,
            created_at: now,
            last_used_at: None,
            credential: passkey.credential,
        })
    }

    pub async fn list_passkeys(&self, who: &Authenticated) -> Result<Vec<StoredPasskey>, Error> {
        Ok(self.store.passkeys(who.user().id).await?)
    }

    /// Removes one of the user's passkeys; the password confirms it.
    pub async fn delete_passkey(
        &self,
        who: &Authenticated,
        id: Uuid,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<(), Error> {
        let user = self.confirm_password(who, password, client.ip).await?;
        let event = Event::new(EventType::PasskeyRemoved, self.clock.now())
            .user(user.id)
            .session(who.session_id())
            .detail("passkey_id", id.to_string());
        if !self.store.delete_passkey(user.id, id, &event).await? {
            return Err(Error::PasskeyNotFound);
        }
        self.cache.forget_sessions();
        self.tell(&user.email, Change::PasskeyRemoved).await;
        Ok(())
    }
}

pub(super) fn credentials(passkeys: &[StoredPasskey]) -> Vec<String> {
    passkeys.iter().map(|p| p.credential.clone()).collect()
}
