//! `POST /token`: the OAuth2 token endpoint (RFC 6749), so Swagger UI's Authorize
//! button and FastAPI's `OAuth2PasswordBearer` clients work unchanged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{TokenResponse, no_store};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, NoCredentialsInQuery, WithinRateLimit};
use crate::http::oauth::OAuthError;

/// RFC 6749 §4.3 (password) or §6 (refresh_token) token request. Unknown parameters are ignored, as §3.2 asks.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    #[schema(example = "password")]
    pub grant_type: String,
    /// The email address.
    pub username: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    /// For `grant_type=refresh_token`.
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
    /// Accepted and ignored: Sesame has no scopes yet.
    pub scope: Option<String>,
}

/// Exchange credentials or a refresh token for tokens (OAuth2).
#[utoipa::path(
    post, path = "/token", tag = "tokens",
    request_body(content((TokenRequest = "application/x-www-form-urlencoded"), (TokenRequest = "application/json"))),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type", body = OAuthError),
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
