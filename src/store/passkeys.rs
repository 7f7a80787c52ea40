//! Passkeys and the state of WebAuthn ceremonies between their two requests.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{CodeSession, StoreError};
use crate::audit::Event;
use crate::domain::Amr;
use crate::domain::User;

/// How long a ceremony may take between its options and its answer.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);

/// What a ceremony is for: a state is only ever finished by the request it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    Register,
    /// A login naming the user's credentials (an address, or a second factor).
    Login,
    /// A login with any discoverable credential.
    Discoverable,
}

impl ChallengeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::Discoverable => "discoverable",
        }
    }
}

#[derive(Debug)]
pub struct NewChallenge {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub kind: ChallengeKind,
    pub state: String,
    pub created_at: OffsetDateTime,
}

/// A ceremony's state, taken from the store (so never finished twice).
#[derive(Debug)]
pub struct Challenge {
    pub user_id: Option<Uuid>,
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    /// webauthn-rs's credential, JSON.
    pub credential: String,
}

#[derive(Debug)]
pub struct NewPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub credential: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A passwordless login with a passkey, written in one transaction.
#[derive(Debug)]
pub struct PasskeyLogin {
    pub passkey_id: Uuid,
    pub user_id: Uuid,
    /// The credential with its counter brought up to date.
    pub credential: String,
    pub session: CodeSession,
    pub amr: Amr,
    pub now: OffsetDateTime,
    pub event: Event,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn put_challenge(&self, challenge: &NewChallenge) -> Result<(), StoreError>;
    /// Deletes and returns the live challenge `id` of `kind`: of concurrent takers, one
    /// gets it.
    async fn take_challenge(
        &self,
        id: Uuid,
        kind: ChallengeKind,
        now: OffsetDateTime,
    ) -> Result<Option<Challenge>, StoreError>;
    async fn passkeys(&self, user_id: Uuid) -> Result<Vec<StoredPasskey>, StoreError>;
    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>, StoreError>;
    /// Adds a passkey, recording `event`; [`StoreError::PasskeyTaken`] when its
    /// credential id is already registered (to anyone).
    async fn add_passkey(&self, passkey: &NewPasskey, event: &Event) -> Result<(), StoreError>;
    /// Deletes one of the user's passkeys, recording `event`; `false` if none such.
    async fn delete_passkey(
        &self,
        user_id: Uuid,
        id: Uuid,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Opens the session of a passkey login: `None` (nothing written) when the user is
    /// gone or disabled, or the passkey was deleted meanwhile.
    async fn passkey_login(&self, login: &PasskeyLogin) -> Result<Option<User>, StoreError>;
}
