//! `GET /me`: the bearer-protected route.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{UserBody, no_store};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body, Client};

/// The user the access token belongs to.
#[utoipa::path(
    get, path = "/me", tag = "accounts",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The current user", body = UserBody),
    )
)]
pub async fn me(AuthUser(who): AuthUser) -> Response {
    no_store(UserBody::from(who.into_user()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// The same rules as at registration: 8 characters or more, at most 1,024 bytes.
    #[schema(value_type = String, format = Password, min_length = 8)]
    pub new_password: SecretString,
}

/// Change the password. Every other session ends; this one continues.
#[utoipa::path(
    post, path = "/me/password", tag = "accounts",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((PasswordChange = "application/json"), (PasswordChange = "application/x-www-form-urlencoded"))),
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "wrong_password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many wrong passwords for this account (shared with /login),, with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "weak_password (shorter than 8 characters, common, or the email), password_too_long (over 1,024 bytes)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(change): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let (current, new) = (change.current_password, change.new_password);
    state
        .auth
        .change_password(&who, current, new, client.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirmation {
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Delete the account, its sessions and tokens. The password confirms it.
#[utoipa::path(
    delete, path = "/me", tag = "accounts",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((PasswordConfirmation = "application/json"), (PasswordConfirmation = "application/x-www-form-urlencoded"))),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "wrong_password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts: too many wrong passwords for this account (shared with /login),, with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_me(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(confirmation): Body<PasswordConfirmation>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .delete_account(&who, confirmation.password, client.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
