//! Emailed secrets: verify an address, reset a forgotten password, sign in with a
//! code, confirm a new address. Each secret is presented as `{token}` (from the link)
//! or `{email, code}` (typed by hand); both are one credential.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::{TokenResponse, UserBody, no_store};
use crate::auth::CodeInput;
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body, Client, invalid_body};

/// A link's token, or an address with the code sent to it. Parsed as one object so
/// that a body with both or neither gets a sentence saying so; its schema (below) is
/// the stricter truth: one form or the other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub token: Option<SecretString>,
    pub email: Option<String>,
    pub code: Option<SecretString>,
}

impl PartialSchema for CodeBody {
    fn schema() -> RefOr<Schema> {
        code_forms(&[]).into()
    }
}

impl ToSchema for CodeBody {}

/// The two forms of a secret, each an object of exactly its fields (and `extra`).
fn code_forms(extra: &[(&str, Object)]) -> OneOfBuilder {
    let string = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    };
    let token = string("The `token` of the link in the message")
        .pattern(Some("^[A-Za-z0-9_-]{43}$"))
        .examples([json!("Jm1rQ4m0n2yW3lQ6m6b3d7oT0y0s5Zr2v9hT8cPqk1E")]);
    let email = string("The address the code was sent to")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .examples([json!("ada@example.com")]);
    let code = string("The 6-digit code in the message")
        .pattern(Some("^[0-9]{6}$"))
        .examples([json!("042917")]);
    let form = |fields: Vec<(&str, Object)>| {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (name, schema) in fields.into_iter().chain(extra.iter().cloned()) {
            object = object.property(name, schema).required(name);
        }
        object
    };
    OneOfBuilder::new()
        .item(form(vec![("token", token.build())]))
        .item(form(vec![("email", email.build()), ("code", code.build())]))
}

/// Either form of [`CodeBody`], or what to fix.
pub(super) fn code_input(
    token: Option<SecretString>,
    email: Option<String>,
    code: Option<SecretString>,
) -> Result<CodeInput, ApiError> {
    match (token, email, code) {
        (Some(token), None, None) => Ok(CodeInput::Token(token)),
        (None, Some(email), Some(code)) => Ok(CodeInput::Code { email, code }),
        _ => Err(invalid_body(
            "send either `token`, or `email` with `code`".to_owned(),
        )),
    }
}

/// An address to send a message to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    #[schema(example = "ada@example.com", format = Email, max_length = 254)]
    pub email: String,
}

/// The answer to a request whose outcome is mailed.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub detail: &'static str,
}

pub(super) fn accepted(detail: &'static str) -> Response {
    (StatusCode::ACCEPTED, no_store(Accepted { detail })).into_response()
}

/// Mail a verification code to the current user's address.
///
/// Limited to one message a minute and five an hour per address; over the limit the
/// answer is the same and nothing is sent.
#[utoipa::path(
    post, path = "/email/verify/send", tag = "email",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 202, description = "A message is on its way (unless the limit was reached)", body = Accepted),
        (status = 409, description = "already_verified", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_verification(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Response, ApiError> {
    state.auth.send_verification(&who).await?;
    Ok(accepted(
        "If the address can receive mail, a verification message is on its way.",
    ))
}

/// Verify an address with the link's token or the code.
#[utoipa::path(
    post, path = "/email/verify", tag = "email",
    request_body(content((CodeBody = "application/json"), (CodeBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Verified", body = UserBody),
        (status = 400, description = "invalid_code: unknown, wrong, expired, used, or too many wrong codes", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (a code typed with an address counts on its logins' throttle, shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<CodeBody>,
) -> Result<Response, ApiError> {
    let input = code_input(body.token, body.email, body.code)?;
    let user = state.auth.verify_email(input, client.ip).await?;
    Ok(no_store(UserBody::from(user)))
}

/// Mail a password-reset code, if the address has an account.
///
/// The answer is the same, in the same time, whether or not the account exists.
#[utoipa::path(
    post, path = "/password/forgot", tag = "email",
    request_body(content((EmailBody = "application/json"), (EmailBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 202, description = "If the address has an account, a message is on its way", body = Accepted),
        (status = 422, description = "invalid_email", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forgot_password(
    State(state): State<AppState>,
    Body(body): Body<EmailBody>,
) -> Result<Response, ApiError> {
    state.auth.forgot_password(&body.email)?;
    Ok(accepted(
        "If an account uses this address, a message to reset its password is on its way.",
    ))
}

/// A reset code, in either form, with the new password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub token: Option<SecretString>,
    pub email: Option<String>,
    pub code: Option<SecretString>,
    pub new_password: SecretString,
}

impl PartialSchema for ResetBody {
    fn schema() -> RefOr<Schema> {
        let password = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .min_length(Some(8))
            .description(Some(
                "The same rules as at registration: 8 characters or more, at most 1,024 \
                 bytes, not a common password",
            ));
        code_forms(&[("new_password", password.build())]).into()
    }
}

impl ToSchema for ResetBody {}

/// Set a new password with a reset code.
///
/// Every session of the account ends, a notice is mailed, and the address counts as
/// verified.
#[utoipa::path(
    post, path = "/password/reset", tag = "email",
    request_body(content((ResetBody = "application/json"), (ResetBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 204, description = "The password was reset"),
        (status = 400, description = "invalid_code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "weak_password, password_too_long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (a code typed with an address counts on its logins' throttle, shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<ResetBody>,
) -> Result<StatusCode, ApiError> {
    let input = code_input(body.token, body.email, body.code)?;
    state
        .auth
        .reset_password(input, &body.new_password, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a sign-in code, if the address has an account.
///
/// The answer is the same whether or not the account exists.
#[utoipa::path(
    post, path = "/login/code/send", tag = "email",
    request_body(content((EmailBody = "application/json"), (EmailBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 202, description = "If the address has an account, a message is on its way", body = Accepted),
        (status = 422, description = "invalid_email", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_sign_in_code(
    State(state): State<AppState>,
    Body(body): Body<EmailBody>,
) -> Result<Response, ApiError> {
    state.auth.send_sign_in_code(&body.email)?;
    Ok(accepted(
        "If an account uses this address, a sign-in message is on its way.",
    ))
}

/// Log in with a sign-in code; the address counts as verified.
#[utoipa::path(
    post, path = "/login/code", tag = "email",
    request_body(content((CodeBody = "application/json"), (CodeBody = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "invalid_code", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "account_disabled; or mfa_required, with members mfa_token and methods: finish at /login/mfa", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_attempts (this address's logins are locked, shared with /login), with Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in_with_code(
    State(state): State<AppState>,
    Client(client): Client,
    Body(body): Body<CodeBody>,
) -> Result<Response, ApiError> {
    let input = code_input(body.token, body.email, body.code)?;
    let pair = state.auth.sign_in_with_code(input, client).await?;
    Ok(no_store(TokenResponse::from(pair)))
}
