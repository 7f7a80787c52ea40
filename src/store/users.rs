//! Accounts: who can log in, with which password hash.

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::audit::Event;
use crate::domain::{NormalizedEmail, User};

/// What a login needs to decide: the user and the stored hash.
#[derive(Debug)]
pub struct Credentials {
    pub user: User,
    pub password_hash: SecretString,
}

#[derive(Debug)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub email_normalized: NormalizedEmail,
    pub password_hash: SecretString,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user, recording `event`; [`StoreError::EmailTaken`] when the
    /// normalized email exists.
    async fn create_user(&self, user: &NewUser, event: &Event) -> Result<User, StoreError>;
    /// Inserts many users in one transaction (a bulk import); for each, `false` when
    /// its normalized email already had an account, which is then left as it was.
    async fn import_users(&self, users: &[NewUser]) -> Result<Vec<bool>, StoreError>;
    async fn credentials_by_email(
        &self,
        email_normalized: &NormalizedEmail,
    ) -> Result<Option<Credentials>, StoreError>;
    async fn user(&self, user_id: Uuid) -> Result<Option<User>, StoreError>;
    async fn password_hash(&self, user_id: Uuid) -> Result<Option<SecretString>, StoreError>;
    /// Replaces the password hash and ends every other session, in one transaction.
    async fn change_password(
        &self,
        user_id: Uuid,
        new_hash: &SecretString,
        keep_session: Uuid,
        now: OffsetDateTime,
        event: &Event,
    ) -> Result<(), StoreError>;
    /// Every user's email and password hash, oldest account first: what
    /// `sesame user export` writes and `sesame user import` reads.
    async fn export_users(&self) -> Result<Vec<(String, SecretString)>, StoreError>;
    /// Deletes the user with its sessions and refresh tokens, recording `event`;
    /// `false` (and nothing recorded) if already gone.
    async fn delete_user(&self, user_id: Uuid, event: &Event) -> Result<bool, StoreError>;
}
