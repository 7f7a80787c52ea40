//! Passkeys (WebAuthn, webauthn-rs): ceremonies as JSON in and out, their state as JSON
//! for the store, so any instance finishes what another began. User verification is
//! required at registration and login; registration asks for a resident (discoverable)
//! key, so a login needs no address. Signature counters are recorded, and enforced
//! only for credentials that cannot be synced: a synced passkey's copies count apart.

use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The browser's answer does not verify (wrong origin or RP id, challenge, signature,
    /// no user verification, a cloned device-bound key) or is malformed.
    #[error("the passkey answer is not valid: {0}")]
    Invalid(String),
    /// What the store kept does not parse: a bug or tampering.
    #[error("stored passkey data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot start a passkey ceremony: {0}")]
    Start(String),
}

/// A ceremony begun: the options for `navigator.credentials.create/get`, and the state
/// the store keeps until it is finished.
pub struct Ceremony {
    pub options: Value,
    pub state: String,
}

/// A passkey registered, as the store keeps it.
pub struct Registered {
    pub credential_id: Vec<u8>,
    /// webauthn-rs's credential, JSON: public key, counter, flags.
    pub credential: String,
}

/// A login assertion that verified.
pub struct Verified {
    pub credential_id: Vec<u8>,
    /// The stored credential with its counter and backup flags brought up to date.
    pub credential: String,
    /// Backed up (synced) or able to be: a software-held key (`swk`), else `hwk`.
    pub synced: bool,
    pub user_verified: bool,
}

pub struct Passkeys {
    webauthn: Webauthn,
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, PasskeyError> {
    serde_json::from_value(value.clone()).map_err(|e| PasskeyError::Invalid(e.to_string()))
}

fn stored<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(text).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

fn to_text<T: serde::Serialize>(value: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, PasskeyError> {
    serde_json::to_value(value).map_err(|e| PasskeyError::Corrupt(e.to_string()))
}

/// The credential as the ceremony checks it: a synced one's counter is not held
/// against it (its copies on other devices count on their own).
fn as_checked(passkey: &Passkey) -> Passkey {
    let mut credential = Credential::from(passkey.clone());
    if credential.backup_eligible {
        credential.counter = 0;
    }
    Passkey::from(credential)
}

impl Passkeys {
    /// Passkeys for the relying party `rp_id`, answered from `origin` only.
    pub fn new(rp_id: &str, origin: &Url, rp_name: &str) -> Result<Self, PasskeyError> {
        let webauthn = WebauthnBuilder::new(rp_id, origin)
            .and_then(|builder| builder.rp_name(rp_name).build())
            .map_err(|e| PasskeyError::Start(format!("{e} (RP id {rp_id}, origin {origin})")))?;
        Ok(Self { webauthn })
    }

    /// Registration options for `user` (whose id is the user handle the key keeps),
    /// excluding the credentials they already have.
    pub fn start_registration(
        &self,
        user: Uuid,
        email: &str,
        existing: &[String],
    ) -> Result<Ceremony, PasskeyError> {
        let exclude = existing
            .iter()
            .map(|text| stored::<Passkey>(text).map(|p| p.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(user, email, email, Some(exclude))
            .map_err(|e| PasskeyError::Start(e.to_string()))?;
        // A resident key, so that a login can start with no address.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok(Ceremony {
            options: to_value(&options)?,
            state: to_text(&state)?,
        })
    }

    pub fn finish_registration(
        &self,
        credential: &Value,
        state: &str,
    ) -> Result<Registered, PasskeyError> {
        let answer: RegisterPublicKeyCredential = parse(credential)?;
        let state: PasskeyRegistration = stored(state)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| PasskeyError::Invalid(e.to_string()))?;
        Ok(Registered {
            credential_id: passkey.cred_id().to_vec(),
            credential: to_text(&passkey)?,
        })
    }

    /// Login options naming the credentials in `existing` (a known user's).
    pub fn start_login(&self, existing: &[String]) -> Result<Ceremony, PasskeyError> {
        let passkeys = existing
            .iter()
            .map(|text| stored::<Passkey>(text).map(|p| as_checked(&p)))
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| PasskeyError::Start(e.to_string()))?;
        Ok(Ceremony {
            options: to_value(&options)?,
            state: to_text(&state)?,
        })
    }

    /// Login options for any discoverable credential of this RP (conditional UI).
    pub fn start_discoverable(&self) -> Result<Ceremony, PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Start(e.to_string()))?;
        Ok(Ceremony {
            options: to_value(&options)?,
            state: to_text(&state)?,
        })
    }

    /// The user handle and credential id a discoverable assertion names.
    pub fn discoverable_user(credential: &Value) -> Result<(Uuid, Vec<u8>), PasskeyError> {
        let answer: PublicKeyCredential = parse(credential)?;
        let handle = answer
            .get_user_unique_id()
            .and_then(|bytes| Uuid::from_slice(bytes).ok())
            .ok_or_else(|| PasskeyError::Invalid("no user handle".to_owned()))?;
        Ok((handle, answer.get_credential_id().to_vec()))
    }

    /// Verifies an assertion against a [`Self::start_login`] state; `existing` are the
    /// stored credentials it named.
    pub fn finish_login(
        &self,
        credential: &Value,
        state: &str,
        existing: &[String],
    ) -> Result<Verified, PasskeyError> {
        let answer: PublicKeyCredential = parse(credential)?;
        let state: PasskeyAuthentication = stored(state)?;
        let result = self
            .webauthn
            .finish_passkey_authentication(&answer, &state)
            .map_err(|e| PasskeyError::Invalid(e.to_string()))?;
        for text in existing {
            let mut passkey: Passkey = stored(text)?;
            if passkey.update_credential(&result).is_some() {
                return verified(&passkey, result.user_verified());
            }
        }
        Err(PasskeyError::Invalid("an unknown credential".to_owned()))
    }

    /// Verifies a discoverable assertion against a [`Self::start_discoverable`] state
    /// and the stored credential its id names.
    pub fn finish_discoverable(
        &self,
        credential: &Value,
        state: &str,
        existing: &str,
    ) -> Result<Verified, PasskeyError> {
        let answer: PublicKeyCredential = parse(credential)?;
        let state: DiscoverableAuthentication = stored(state)?;
        let mut passkey: Passkey = stored(existing)?;
        let checked = Credential::from(as_checked(&passkey));
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&answer, state, &checked)
            .map_err(|e| PasskeyError::Invalid(e.to_string()))?;
        passkey.update_credential(&result);
        verified(&passkey, result.user_verified())
    }
}

fn verified(passkey: &Passkey, user_verified: bool) -> Result<Verified, PasskeyError> {
    let synced = Credential::from(passkey.clone()).backup_eligible;
    Ok(Verified {
        credential_id: passkey.cred_id().to_vec(),
        credential: to_text(passkey)?,
        synced,
        user_verified,
    })
}
