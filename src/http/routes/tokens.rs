//! `POST /token`: the OAuth2 token endpoint (RFC 6749), so Swagger UI's Authorize
//! button and FastAPI's `OAuth2PasswordBearer` clients work unchanged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::{TokenResponse, no_store};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, NoCredentialsInQuery, WithinRateLimit};
use crate::http::oauth::OAuthError;

/// RFC 6749 §4.3 (password) or §6 (refresh_token) token request. Unknown parameters are
/// ignored, as §3.2 asks. Parsed leniently, so that an unknown grant type gets RFC 6749's
/// `unsupported_grant_type`; its schema (below) is the stricter truth of what succeeds.
#[derive(Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Accepted and ignored: Sesame has no scopes yet.
    pub scope: Option<String>,
}

/// One object per grant type, each naming what it requires: a derived schema would
/// make every field optional and `grant_type` any string.
impl PartialSchema for TokenRequest {
    fn schema() -> RefOr<Schema> {
        let string = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let grant = |name: &str, fields: &[(&str, &str)]| {
            let mut object = ObjectBuilder::new()
                .property(
                    "grant_type",
                    string("The grant type").enum_values(Some([name])),
                )
                .required("grant_type");
            for (field, description) in fields {
                object = object
                    .property(*field, string(description))
                    .required(*field);
            }
            object.property(
                "scope",
                string("Accepted and ignored: Sesame has no scopes yet"),
            )
        };
        OneOfBuilder::new()
            .item(grant(
                "password",
                &[
                    ("username", "The email address"),
                    ("password", "The password"),
                ],
            ))
            .item(grant(
                "refresh_token",
                &[("refresh_token", "A refresh token from an earlier answer")],
            ))
            .into()
    }
}

impl ToSchema for TokenRequest {}

/// Exchange credentials or a refresh token for tokens (OAuth2).
#[utoipa::path(
    post, path = "/token", tag = "tokens",
    request_body(content((TokenRequest = "application/x-www-form-urlencoded"), (TokenRequest = "application/json"))),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type", body = OAuthError),
        (status = 403, description = "mfa_required, with mfa_token and methods: the grant was right; finish at /login/mfa", body = OAuthError),
        (status = 429, description = "invalid_request with code too_many_attempts or rate_limited, and Retry-After", body = OAuthError),
        (status = 503, description = "temporarily_unavailable (code unavailable or overloaded), with Retry-After", body = OAuthError),
    )
)]
pub async fn token(
    query: Result<NoCredentialsInQuery, ApiError>,
    limit: Result<WithinRateLimit, ApiError>,
    State(state): State<AppState>,
    Client(client): Client,
    body: Result<Body<TokenRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    query?;
    limit?;
    let Body(request) = body?;
    match request.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (request.username, request.password) else {
                return Err(OAuthError::invalid_request(
                    "The password grant needs `username` and `password`.",
                ));
            };
            let pair = state
                .auth
                .login(&username, password, client)
                .await
                .map_err(OAuthError::from)?;
            Ok(no_store(TokenResponse::from(pair)))
        }
        "refresh_token" => {
            let Some(refresh_token) = request.refresh_token else {
                return Err(OAuthError::invalid_request(
                    "The refresh_token grant needs `refresh_token`.",
                ));
            };
            let pair = state
                .auth
                .refresh(&refresh_token)
                .await
                .map_err(OAuthError::from)?;
            Ok(no_store(TokenResponse::from(pair)))
        }
        other => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "The grant type {other:?} is not supported; use \"password\" or \"refresh_token\"."
            ),
        )),
    }
}
