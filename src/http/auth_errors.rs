//! How each refusal of the use cases reads at the HTTP edge: its status, stable `code`
//! and a sentence a person can act on.

use axum::http::StatusCode;

use super::error::{ApiError, retry_after_seconds};
use super::wording::{causes, sentence};
use crate::auth;
use crate::password::PolicyError;

impl From<auth::Error> for ApiError {
    fn from(err: auth::Error) -> Self {
        use auth::Error as E;
        match err {
            E::InvalidEmail(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_email",
                e.to_string(),
            )
            .field("email", e.to_string()),
            E::WeakPassword(PolicyError::TooLong) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "password_too_long",
                PolicyError::TooLong.to_string(),
            )
            .field("password", PolicyError::TooLong.to_string()),
            E::WeakPassword(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak_password",
                e.to_string(),
            )
            .field("password", e.to_string()),
            E::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "An account with this email already exists; log in instead.",
            ),
            E::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid email or password.",
            ),
            E::AccountDisabled => Self::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "This account is disabled; contact the administrator.",
            ),
            E::TooManyAttempts { retry_after } => {
                let seconds = retry_after_seconds(retry_after);
                Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!(
                        "Too many failed logins for this email; try again in {seconds} seconds."
                    ),
                )
                .retry_after(seconds)
            }
            E::Overloaded { retry_after } => {
                let seconds = retry_after_seconds(retry_after);
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    format!(
                        "The server is busy checking passwords; try again in {seconds} seconds."
                    ),
                )
                .retry_after(seconds)
            }
            E::InvalidToken(e) => super::error::invalid_token(&e),
            E::InvalidRefreshToken(rejection) => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                sentence(&rejection.to_string()),
            ),
            E::WrongPassword => Self::new(
                StatusCode::FORBIDDEN,
                "wrong_password",
                "The password is wrong.",
            ),
            E::SessionNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "session_not_found",
                "You have no active session with this id.",
            ),
            E::AlreadyVerified => Self::new(
                StatusCode::CONFLICT,
                "already_verified",
                "This email address is already verified.",
            ),
            E::InvalidCode => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_code",
                "The code or link is not valid: it may be mistyped, expired or already used. \
                 Ask for a new one.",
            ),
            E::EmailNotVerified => Self::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "Verify your email address first: follow the link in the message we sent, \
                 or ask for a new one.",
            ),
            E::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "This endpoint is for admins: it needs an access token of a user with the \
                 role admin, or an API key.",
            ),
            E::UserNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "user_not_found",
                "There is no user with this id.",
            ),
            E::KeyNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "key_not_found",
                "There is no live API key with this name.",
            ),
            E::KeyNameTaken => Self::new(
                StatusCode::CONFLICT,
                "key_name_taken",
                "A live API key already has this name; revoke it or choose another.",
            ),
            E::Invalid { field, message } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", &message)
                    .field(field, message)
            }
            E::MfaRequired { mfa_token, methods } => Self::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "This account has a second factor: finish the login at /login/mfa with \
                 mfa_token and a code from your authenticator app or a recovery code.",
            )
            .second_factor(mfa_token, methods),
            E::InvalidMfaToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_mfa_token",
                "This login has expired or had too many wrong answers; log in again.",
            ),
            E::AlreadyEnrolled => Self::new(
                StatusCode::CONFLICT,
                "already_enrolled",
                "An authenticator app is already set up; remove it first to set up another.",
            ),
            E::SecondFactorRequired => Self::new(
                StatusCode::FORBIDDEN,
                "second_factor_required",
                "This account already has a second factor: log in again with it to add \
                 another.",
            ),
            E::InvalidCredential => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_credential",
                "The passkey's answer is not valid, or its challenge expired or was used; \
                 ask for new options and try again.",
            ),
            E::PasskeyNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "passkey_not_found",
                "You have no passkey with this id.",
            ),
            E::Unavailable(cause) => {
                tracing::error!(error = %causes(&cause), "store unavailable");
                Self::unavailable()
            }
            E::Internal(cause) => {
                tracing::error!(error = %causes(cause.as_ref()), "internal error");
                Self::internal()
            }
        }
    }
}
