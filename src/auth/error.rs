//! What the use cases answer when they refuse, in terms the HTTP edge maps to statuses.

use secrecy::SecretString;

use super::EmailError;
use crate::password::{HashError, PolicyError};
use crate::store::StoreError;
use crate::tokens::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    #[error(transparent)]
    WeakPassword(#[from] PolicyError),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    /// Too many consecutive failed logins for this email; refused for `retry_after`,
    /// whatever the password.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: std::time::Duration },
    /// The hashing queue is full; retry after `retry_after`.
    #[error("overloaded")]
    Overloaded { retry_after: std::time::Duration },
    #[error(transparent)]
    InvalidToken(TokenError),
    #[error(transparent)]
    InvalidRefreshToken(RefreshRejection),
    #[error("the password is wrong")]
    WrongPassword,
    #[error("no such session")]
    SessionNotFound,
    #[error("this address is already verified")]
    AlreadyVerified,
    /// A code or link token that is unknown, wrong, expired, used or exhausted: one
    /// error for all, so a guesser learns nothing but "no".
    #[error("the code is not valid")]
    InvalidCode,
    /// The password is right, but the address is not verified yet (with
    /// `--require-verified-email`).
    #[error("the email address is not verified")]
    EmailNotVerified,
    /// The caller is authenticated but not an admin.
    #[error("this needs the role admin")]
    Forbidden,
    #[error("no such user")]
    UserNotFound,
    #[error("no live API key has this name")]
    KeyNotFound,
    #[error("a live API key already has this name")]
    KeyNameTaken,
    /// A field of an admin request that cannot be used as it is.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The first step of a login was right; it must finish at `/login/mfa` with one
    /// of `methods`, presenting `mfa_token`.
    #[error("this account needs a second factor to log in")]
    MfaRequired {
        mfa_token: SecretString,
        methods: Vec<&'static str>,
    },
    /// An `mfa_token` that is unknown, expired, used or out of attempts.
    #[error("the login waiting for a second factor has expired or had too many attempts")]
    InvalidMfaToken,
    #[error("an authenticator app is already set up for this account")]
    AlreadyEnrolled,
    /// The account has a second factor, and this session's login did not use one:
    /// no other factor can be added from it.
    #[error("this session did not log in with a second factor")]
    SecondFactorRequired,
    /// A passkey answer that does not verify, for a challenge that is unknown, used,
    /// expired or someone else's, or a passkey already registered.
    #[error("the passkey answer is not valid")]
    InvalidCredential,
    #[error("no such passkey")]
    PasskeyNotFound,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// Something that should not happen; the source says what, for the log.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRejection {
    #[error("the refresh token is not valid")]
    Unknown,
    #[error("the session of this refresh token has ended; log in again")]
    Ended,
    #[error("the refresh token has expired; log in again")]
    Expired,
    #[error("this refresh token was already used; the session has been ended for safety")]
    ReuseDetected,
}

impl Error {
    pub(super) fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(err))
    }

    pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::KeyNameTaken => Self::KeyNameTaken,
            StoreError::Unavailable(_) => Self::Unavailable(err),
            other => Self::internal(other),
        }
    }
}

impl From<HashError> for Error {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Overloaded(o) => Self::Overloaded {
                retry_after: o.retry_after,
            },
            other => Self::internal(other),
        }
    }
}

impl From<TokenError> for Error {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Signing(_) => Self::internal(err),
            other => Self::InvalidToken(other),
        }
    }
}
