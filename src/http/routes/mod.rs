//! Handlers, one module per group of endpoints, and the bodies they share.

pub mod accounts;
pub mod admin;
pub mod admin_actions;
pub mod audit;
pub mod email;
pub mod email_change;
pub mod me;
pub mod mfa;
pub mod ops;
pub mod passkeys;
pub mod sessions;
pub mod tokens;
pub mod wellknown;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::auth::TokenPair;
use crate::domain::User;

/// The route table: every endpoint with its handler (and, through the handler's
/// `#[utoipa::path]`, its place in the OpenAPI document), but the credential ones.
pub fn table(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        // `/token` applies the credential policy itself, to answer in RFC 6749's shape.
        .routes(routes!(tokens::token))
        .routes(routes!(me::me))
        .routes(routes!(email::send_verification))
        .routes(routes!(passkeys::list))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::logout_all))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::end))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(
            admin::get_user,
            admin::update_user,
            admin::delete_user
        ))
        .routes(routes!(admin_actions::logout_user))
        .routes(routes!(admin_actions::reset_password))
        .routes(routes!(admin_actions::remove_factors))
        .routes(routes!(audit::audit))
        .routes(routes!(wellknown::jwks))
        .routes(routes!(wellknown::openid_configuration))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
}

/// The credential endpoints: every one that takes a password, a refresh token, a code,
/// a link token, an `mfa_token` or a passkey answer, or sends a code. The policy they
/// share (no credential in the query, the per-address bucket) is one route layer over
/// this table (`http::policy`), and the OpenAPI document states its answers on each
/// from this same table: a handler here takes neither check itself.
pub fn credential_table(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(me::delete_me))
        .routes(routes!(me::change_password))
        .routes(routes!(email::verify))
        .routes(routes!(email::forgot_password))
        .routes(routes!(email::reset_password))
        .routes(routes!(email::send_sign_in_code))
        .routes(routes!(email::sign_in_with_code))
        .routes(routes!(email_change::change_email))
        .routes(routes!(email_change::confirm_email_change))
        .routes(routes!(mfa::begin_totp, mfa::remove_totp))
        .routes(routes!(mfa::confirm_totp))
        .routes(routes!(mfa::recovery_codes))
        .routes(routes!(mfa::login_mfa))
        .routes(routes!(passkeys::registration_options))
        .routes(routes!(passkeys::add))
        .routes(routes!(passkeys::remove))
        .routes(routes!(passkeys::login_options))
        .routes(routes!(passkeys::login))
        .routes(routes!(passkeys::mfa_options))
        .routes(routes!(sessions::refresh))
}

/// `METHOD /path` of every endpoint of [`credential_table`], for the docs' lists.
pub fn credential_endpoints() -> Vec<String> {
    let openapi = credential_table(OpenApiRouter::new()).into_openapi();
    let mut endpoints = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in methods {
            if operation.is_some() {
                endpoints.push(format!("{method} {path}"));
            }
        }
    }
    endpoints
}

/// A user, as every endpoint shows one.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: Uuid,
    pub email: String,
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub mfa_enabled: bool,
    pub roles: Vec<String>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            email_verified: user.email_verified,
            created_at: user.created_at,
            mfa_enabled: user.mfa_enabled,
            roles: user.roles,
        }
    }
}

/// RFC 6749 §5.1 token response.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT (`typ: at+jwt`); verify it with the keys at `/.well-known/jwks.json`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange it for a new pair at `/refresh`.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

/// Both tokens are credentials: a stray `{:?}` must not log them.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish()
    }
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access.token,
            token_type: "Bearer",
            expires_in: pair.access.expires_in,
            refresh_token: pair.refresh_token.expose_secret().to_owned(),
            refresh_expires_in: pair.refresh_expires_in,
        }
    }
}

/// Headers a JSON answer ends up with: its content type, these two, five security
/// headers and the request id.
const RESPONSE_HEADERS: usize = 9;

/// A JSON response that must not be stored by any cache (tokens, user data).
pub fn no_store(body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    // Room for these two and the layers' security headers and request id at once,
    // instead of the map growing twice on every response.
    headers.reserve(RESPONSE_HEADERS);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
