//! Moving an account to a new address: `POST /me/email` asks (the password confirms
//! it), `POST /me/email/confirm` moves it with the code sent to the new address.

use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::email::{Accepted, CodeBody, accepted, code_input};
use super::{UserBody, no_store};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body, Client};

/// A new address, confirmed by the current password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    pub new_email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Move the account to a new address: a code goes to it and a notice to the current
/// one; nothing changes until it is confirmed. A taken address answers alike (its
/// confirmation is refused).
#[utoipa::path(
    post, path = "/me/email", tag = "email",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content((EmailChange = "application/json"), (EmailChange = "application/x-www-form-urlencoded"))),
    responses(
        (status = 202, description = "A confirmation is on its way to the new address (alike for a taken one)", body = Accepted),
        (status = 403, description = "wrong_password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_email", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_email(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    Client(client): Client,
    Body(body): Body<EmailChange>,
) -> Result<Response, ApiError> {
    state
        .auth
        .change_email(&who, &body.new_email, body.password, client)
        .await?;
    Ok(accepted(
        "A message to confirm the new address is on its way to it.",
    ))
}

/// Confirm a new address with the link's token or the code sent to it.
#[utoipa::path(
    post, path = "/me/email/confirm", tag = "email",
    request_body(content((CodeBody = "application/json"), (CodeBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The account uses the new address", body = UserBody),
        (status = 400, description = "invalid_code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken: another account took the address meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (a code typed with an address counts on its logins' throttle, shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<CodeBody>,
) -> Result<Response, ApiError> {
    let input = code_input(body.token, body.email, body.code)?;
    let user = state.auth.confirm_email_change(input, client.ip).await?;
    Ok(no_store(UserBody::from(user)))
}
