//! What admins see of users and may change.

use async_trait::async_trait;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{NewUser, StoreError};
use crate::audit::Event;
use crate::domain::{NormalizedEmail, User};

/// A user with what only admins see.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub user: User,
    pub last_login_at: Option<OffsetDateTime>,
    /// Sessions neither ended nor past their absolute lifetime.
    pub sessions: i64,
    pub metadata: Map<String, Value>,
}

/// A page of users in id order (UUIDv7: creation order), after `after`.
#[derive(Debug, Clone)]
pub struct UserQuery {
    /// A lowercase substring of the normalized email.
    pub email_contains: Option<String>,
    pub after: Option<Uuid>,
    pub limit: u32,
    pub now: OffsetDateTime,
}

/// What an admin creates: a user, with its verified flag and roles set at once.
#[derive(Debug)]
pub struct AdminNewUser {
    pub user: NewUser,
    pub email_verified: bool,
    pub roles: Vec<String>,
}

/// The fields an admin changes; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// The email as typed and normalized.
    pub email: Option<(String, NormalizedEmail)>,
    pub email_verified: Option<bool>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    async fn list_users(&self, query: &UserQuery) -> Result<Vec<AdminUser>, StoreError>;
    async fn admin_user(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<AdminUser>, StoreError>;
    async fn admin_user_by_email(
        &self,
        email_normalized: &NormalizedEmail,
        now: OffsetDateTime,
    ) -> Result<Option<AdminUser>, StoreError>;
    /// Inserts a user; [`StoreError::EmailTaken`] when the address has an account.
    async fn admin_create_user(&self, user: &AdminNewUser, event: &Event)
    -> Result<(), StoreError>;
    /// Applies `patch` with its events, in one transaction: a new email also ends the
    /// codes sent to the old one; disabling also ends every session. `false` when the
    /// user does not exist.
    async fn update_user(
        &self,
        user_id: Uuid,
        patch: &UserPatch,
        now: OffsetDateTime,
        events: &[Event],
    ) -> Result<bool, StoreError>;
}
