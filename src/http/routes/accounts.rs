//! `POST /register` and `POST /login`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::email::Accepted;
use super::{TokenResponse, UserBody, no_store};
use crate::auth::Registration;
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{Body, Client};

/// A new account's email and password, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Compared without regard to case; a domain in any script is stored as IDNA.
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: String,
    /// 8 characters or more after NFKC normalization, at most 1,024 bytes in UTF-8,
    /// not one of the most common passwords, and not the email address.
    #[schema(value_type = String, format = Password, example = "correct horse battery", min_length = 8)]
    pub password: SecretString,
}

/// An email and a password, as JSON or as a form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(value_type = String, format = Password, example = "correct horse battery")]
    pub password: SecretString,
}

/// Create an account.
#[utoipa::path(
    post, path = "/register", tag = "accounts",
    request_body(content(
        (NewAccount = "application/json"),
        (NewAccount = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The account was created, and a verification message is on its way", body = UserBody,
            headers(("Location" = String, description = "/me"))),
        (status = 202, description = "With --require-verified-email, for a new and an existing address alike: check your email", body = Accepted),
        (status = 409, description = "email_taken (not with --require-verified-email)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_email, weak_password (shorter than 8 characters, common, or the email), password_too_long (over 1,024 bytes)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    Body(account): Body<NewAccount>,
) -> Result<Response, ApiError> {
    let registration = state
        .auth
        .sign_up(&account.email, account.password, client.ip)
        .await?;
    let user = match registration {
        Registration::Created(user) => user,
        Registration::CheckYourEmail => {
            let detail = "Check your email: we sent a message to this address.";
            return Ok((StatusCode::ACCEPTED, no_store(Accepted { detail })).into_response());
        }
    };
    let mut response = no_store(UserBody::from(user));
    *response.status_mut() = StatusCode::CREATED;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/me"));
    Ok(response)
}

/// Log in with an email and a password.
///
/// An unknown email and a wrong password get the same answer in about the same time.
#[utoipa::path(
    post, path = "/login", tag = "accounts",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "invalid_credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "account_disabled; email_not_verified (with --require-verified-email); or mfa_required, with members mfa_token and methods: finish at /login/mfa", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (this email is locked for a while), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    Body(credentials): Body<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let pair = state
        .auth
        .login(&credentials.email, credentials.password, client)
        .await?;
    Ok(no_store(TokenResponse::from(pair)))
}
