//! Passkeys: `/me/passkeys...` to register, list and remove them, `/login/passkey...`
//! to log in with one (with or without an address), and the options of a passkey as a
//! second factor (`/login/mfa/passkey/options`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{TokenResponse, no_store};
use crate::auth::{self, PasskeyOptions};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body, Client};
use crate::http::routes::me::PasswordConfirmation;
use crate::store::StoredPasskey;

/// A ceremony's options for `navigator.credentials.create/get` (binary fields in
/// base64url), and the id its answer comes back with (5 minutes, single use).
#[derive(Serialize, ToSchema)]
pub struct PasskeyOptionsBody {
    pub challenge_id: Uuid,
    /// `{"publicKey": {...}}` as webauthn-rs writes it.
    #[schema(value_type = Object)]
    pub options: Value,
}

impl From<PasskeyOptions> for PasskeyOptionsBody {
    fn from(options: PasskeyOptions) -> Self {
        Self {
            challenge_id: options.challenge_id,
            options: options.options,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyBody {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<StoredPasskey> for PasskeyBody {
    fn from(passkey: StoredPasskey) -> Self {
        Self {
            id: passkey.id,
            name: passkey.name,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// A browser's answer to a ceremony.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAnswer {
    pub challenge_id: Uuid,
    /// The `PublicKeyCredential` as the browser's `toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasskeyBody {
    pub challenge_id: Uuid,
    #[schema(value_type = Object)]
    pub credential: Value,
    /// What the user calls it (at most 64 characters) [default: "Passkey"].
    #[schema(max_length = 64)]
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginStart {
    /// Names the account's passkeys; without it, any discoverable passkey answers.
    #[schema(format = Email)]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaTokenBody {
    #[schema(value_type = String)]
    pub mfa_token: SecretString,
}

/// Options to register a passkey; the password confirms it.
#[utoipa::path(
    post, path = "/me/passkeys/options", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((PasswordConfirmation = "application/json"), (PasswordConfirmation = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Creation options: a resident key, user verification required", body = PasskeyOptionsBody),
        (status = 403, description = "wrong_password; email_not_verified (no factor for an unproven address); second_factor_required (the account has a factor and this session did not log in with one)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn registration_options(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(body): Body<PasswordConfirmation>,
) -> Result<Response, ApiError> {
    let options = state
        .auth
        .passkey_registration_options(&who, body.password, client)
        .await?;
    Ok(no_store(PasskeyOptionsBody::from(options)))
}

/// Register the passkey the browser made for those options.
#[utoipa::path(
    post, path = "/me/passkeys", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((NewPasskeyBody = "application/json"))),
    responses(
        (status = 201, description = "Registered; it counts as a second factor at once", body = PasskeyBody),
        (status = 400, description = "invalid_credential: the answer does not verify, or its challenge is unknown, used, expired or another user's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_field: a name over 64 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Body(body): Body<NewPasskeyBody>,
) -> Result<Response, ApiError> {
    let passkey = state
        .auth
        .add_passkey(&who, body.challenge_id, &body.credential, body.name)
        .await?;
    let mut response = no_store(PasskeyBody::from(passkey));
    *response.status_mut() = StatusCode::CREATED;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/me/passkeys"));
    Ok(response)
}

/// The user's passkeys.
#[utoipa::path(
    get, path = "/me/passkeys", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "Oldest first", body = [PasskeyBody]))
)]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Response, ApiError> {
    let passkeys = state.auth.list_passkeys(&who).await?;
    let body: Vec<PasskeyBody> = passkeys.into_iter().map(PasskeyBody::from).collect();
    Ok(no_store(body))
}

/// Remove a passkey; the password confirms it.
#[utoipa::path(
    delete, path = "/me/passkeys/{id}", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = Uuid, Path, description = "The passkey id")),
    request_body(content((PasswordConfirmation = "application/json"), (PasswordConfirmation = "application/x-www-form-urlencoded"))),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "wrong_password", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "passkey_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
    Body(body): Body<PasswordConfirmation>,
) -> Result<StatusCode, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::from(auth::Error::PasskeyNotFound));
    };
    state
        .auth
        .delete_passkey(&who, id, body.password, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Options to log in with a passkey: with an address, for that account's passkeys;
/// without, for any discoverable one (ready for conditional UI).
#[utoipa::path(
    post, path = "/login/passkey/options", tag = "mfa",
    request_body(content((PasskeyLoginStart = "application/json"))),
    responses(
        (status = 200, description = "Request options", body = PasskeyOptionsBody),
        (status = 422, description = "invalid_email: `email` is not an address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login_options(
    State(state): State<AppState>,
    Body(body): Body<PasskeyLoginStart>,
) -> Result<Response, ApiError> {
    let options = state
        .auth
        .passkey_login_options(body.email.as_deref())
        .await?;
    Ok(no_store(PasskeyOptionsBody::from(options)))
}

/// Log in with a passkey's answer to those options.
#[utoipa::path(
    post, path = "/login/passkey", tag = "mfa",
    request_body(content((PasskeyAnswer = "application/json"))),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "invalid_credentials: the answer does not verify, or its challenge is unknown, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "email_not_verified: with --require-verified-email, the account's address is not verified yet", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<PasskeyAnswer>,
) -> Result<Response, ApiError> {
    let pair = state
        .auth
        .login_with_passkey(body.challenge_id, &body.credential, client)
        .await?;
    Ok(no_store(TokenResponse::from(pair)))
}

/// Options to finish a login that answered `mfa_required` with one of the account's
/// passkeys; answer at `/login/mfa` with `mfa_token`, `challenge_id` and `credential`.
#[utoipa::path(
    post, path = "/login/mfa/passkey/options", tag = "mfa",
    request_body(content((MfaTokenBody = "application/json"))),
    responses(
        (status = 200, description = "Request options", body = PasskeyOptionsBody),
        (status = 400, description = "invalid_credential: the account has no passkey", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_mfa_token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mfa_options(
    State(state): State<AppState>,
    Body(body): Body<MfaTokenBody>,
) -> Result<Response, ApiError> {
    let options = state.auth.mfa_passkey_options(&body.mfa_token).await?;
    Ok(no_store(PasskeyOptionsBody::from(options)))
}
