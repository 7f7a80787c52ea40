//! How a session was opened, and why one ends.

use time::OffsetDateTime;

use super::Amr;

/// How a session was opened, which every access token of it states (`amr`,
/// `auth_time`), after refreshes too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogin {
    pub amr: Amr,
    pub auth_time: OffsetDateTime,
}

/// Why a session ends, kept on the row for audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Logout,
    LogoutAll,
    Revoked,
    PasswordChanged,
    /// The password was reset with an emailed code: every session ends.
    PasswordReset,
    Expired,
    ReuseDetected,
    /// An admin disabled the account.
    Disabled,
    /// An admin logged the user out everywhere.
    AdminLogout,
    /// The user confirmed a second factor: every other session ends.
    SecondFactorAdded,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Revoked => "revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::Expired => "expired",
            Self::ReuseDetected => "reuse_detected",
            Self::Disabled => "disabled",
            Self::AdminLogout => "admin_logout",
            Self::SecondFactorAdded => "second_factor_added",
        }
    }
}
