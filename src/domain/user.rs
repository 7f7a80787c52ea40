//! A user as the rest of the application sees it.

use time::OffsetDateTime;
use uuid::Uuid;

/// A user, without the password hash (which only a login reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    /// Names like `admin`, carried by access tokens as the `roles` claim.
    pub roles: Vec<String>,
    /// A confirmed second factor exists: a login must finish with it.
    pub mfa_enabled: bool,
}
