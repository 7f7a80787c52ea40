//! Second factors: `/me/mfa/...` to set up and remove an authenticator app and its
//! recovery codes, and `/login/mfa` to finish a login that answered `mfa_required`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{TokenResponse, no_store};
use crate::auth::{self, MfaAnswer};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body, Client};
use crate::http::routes::me::PasswordConfirmation;
use crate::mfa::RecoveryCode;

/// An authenticator app's secret, to scan or type in; pending until confirmed. The
/// secret's copies here are wiped when the answer has been written.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrollmentBody {
    /// The secret in base32, for typing in by hand.
    #[serde(serialize_with = "wiped_str")]
    #[schema(value_type = String)]
    pub secret: Zeroizing<String>,
    /// `otpauth://totp/...`: SHA-1, 6 digits, 30 seconds.
    #[serde(serialize_with = "wiped_str")]
    #[schema(value_type = String)]
    pub otpauth_uri: Zeroizing<String>,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

fn wiped_str<S: serde::Serializer>(value: &Zeroizing<String>, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(value)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The 6 digits the app shows now.
    #[schema(value_type = String, example = "123456")]
    pub code: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRemoval {
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    #[schema(value_type = String, example = "123456")]
    pub code: SecretString,
}

/// Recovery codes: each signs in once in place of a TOTP code. Shown this once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesBody {
    #[schema(example = json!(["abcd-efgh-ijkl-mnop"]))]
    pub recovery_codes: Vec<String>,
}

impl From<Vec<RecoveryCode>> for RecoveryCodesBody {
    fn from(codes: Vec<RecoveryCode>) -> Self {
        Self {
            recovery_codes: codes.iter().map(|c| c.as_str().to_owned()).collect(),
        }
    }
}

/// Start setting up an authenticator app. The password confirms it; a setup still
/// pending is replaced.
#[utoipa::path(
    post, path = "/me/mfa/totp", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((PasswordConfirmation = "application/json"), (PasswordConfirmation = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The secret, pending until confirmed", body = TotpEnrollmentBody),
        (status = 403, description = "wrong_password; email_not_verified (no factor for an unproven address); second_factor_required (the account has a factor and this session did not log in with one)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_enrolled: remove the app first", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn begin_totp(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(confirmation): Body<PasswordConfirmation>,
) -> Result<Response, ApiError> {
    let enrollment = state
        .auth
        .begin_totp(&who, confirmation.password, client)
        .await?;
    Ok(no_store(TotpEnrollmentBody {
        secret: enrollment.secret,
        otpauth_uri: enrollment.otpauth_uri,
        qr_svg: enrollment.qr_svg,
    }))
}

/// Confirm the app with a code it shows: from now on logins ask for it, every other
/// session ends, and the answer holds the recovery codes, shown this once.
#[utoipa::path(
    post, path = "/me/mfa/totp/confirm", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((TotpCode = "application/json"), (TotpCode = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Confirmed; the recovery codes", body = RecoveryCodesBody),
        (status = 400, description = "invalid_code: wrong, already used, or no setup pending", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(body): Body<TotpCode>,
) -> Result<Response, ApiError> {
    let codes = state.auth.confirm_totp(&who, &body.code, client).await?;
    Ok(no_store(RecoveryCodesBody::from(codes)))
}

/// Remove the authenticator app and the recovery codes: the password and a current
/// code confirm it.
#[utoipa::path(
    delete, path = "/me/mfa/totp", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((TotpRemoval = "application/json"), (TotpRemoval = "application/x-www-form-urlencoded"))),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "invalid_code (or no app set up)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "wrong_password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_totp(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(body): Body<TotpRemoval>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .remove_totp(&who, body.password, &body.code, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new set of recovery codes, for a current code; the old set stops working.
#[utoipa::path(
    post, path = "/me/mfa/recovery-codes", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((TotpCode = "application/json"), (TotpCode = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The new recovery codes", body = RecoveryCodesBody),
        (status = 400, description = "invalid_code (or no app set up)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn recovery_codes(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(body): Body<TotpCode>,
) -> Result<Response, ApiError> {
    let codes = state
        .auth
        .regenerate_recovery_codes(&who, &body.code, client)
        .await?;
    Ok(no_store(RecoveryCodesBody::from(codes)))
}

/// The second step of a login: the `mfa_token` from `mfa_required` with exactly one of
/// a TOTP `code`, a `recovery_code`, or a passkey's `credential` with its
/// `challenge_id` (from `/login/mfa/passkey/options`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLogin {
    #[schema(value_type = String)]
    pub mfa_token: SecretString,
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    #[schema(value_type = Option<String>, example = "abcd-efgh-ijkl-mnop")]
    pub recovery_code: Option<SecretString>,
    pub challenge_id: Option<uuid::Uuid>,
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

/// Finish a login that answered `403 mfa_required`.
///
/// Each call spends one of the login's 5 attempts; wrong codes also count against the
/// account's login throttle. A recovery code is mailed about when used.
#[utoipa::path(
    post, path = "/login/mfa", tag = "mfa",
    request_body(content((MfaLogin = "application/json"), (MfaLogin = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "invalid_code: wrong or already used", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_mfa_token: expired, used, or out of attempts; log in again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_field: not exactly one of code, recovery_code, or challenge_id with credential", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login_mfa(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<MfaLogin>,
) -> Result<Response, ApiError> {
    let answer = match (
        body.code,
        body.recovery_code,
        body.challenge_id,
        body.credential,
    ) {
        (Some(code), None, None, None) => MfaAnswer::Totp(code),
        (None, Some(code), None, None) => MfaAnswer::RecoveryCode(code),
        (None, None, Some(challenge_id), Some(credential)) => MfaAnswer::Passkey {
            challenge_id,
            credential,
        },
        _ => {
            return Err(auth::Error::Invalid {
                field: "code",
                message: "Send exactly one of code (from the authenticator app), \
                          recovery_code, or a passkey's challenge_id with its credential."
                    .to_owned(),
            }
            .into());
        }
    };
    let pair = state
        .auth
        .finish_mfa(&body.mfa_token, answer, client)
        .await?;
    Ok(no_store(TokenResponse::from(pair)))
}
