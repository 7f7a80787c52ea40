//! Discovery: the public keys and the OpenID-style metadata document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::error::{ApiError, Problem};

/// The metadata changes only with the configuration; verifiers may cache it briefly.
const METADATA_CACHE: &str = "public, max-age=300";

/// The public signing keys (RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    responses(
        (status = 200, description = "The key set", body = Object),
        (status = 404, description = "not_found: HS256 mode publishes no keys", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some((keys, max_age)) = state.auth.key_set() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Tokens are signed with a shared secret (HS256), so there are no public keys.",
        ));
    };
    let mut response = Json(keys).into_response();
    // A new key is published this long before it signs (less the instances' reload
    // interval), so a verifier caching no longer knows every key that signs.
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    Ok(response)
}

/// Authorization-server metadata (RFC 8414, served at the OpenID path too): only what
/// Sesame implements. There is no authorization endpoint and no ID token yet, so the
/// members about them (`response_types_supported`, `id_token_signing_alg_values_supported`,
/// `subject_types_supported`) are left out rather than promised.
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    token_endpoint: String,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
}

/// Where the keys and the token endpoint are.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, description = "Provider metadata", body = Discovery)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    let tokens = state.auth.tokens();
    let issuer = tokens.issuer().trim_end_matches('/').to_owned();
    let discovery = Discovery {
        jwks_uri: tokens
            .publishes_keys()
            .then(|| format!("{issuer}/.well-known/jwks.json")),
        token_endpoint: format!("{issuer}/token"),
        grant_types_supported: vec!["password", "refresh_token"],
        token_endpoint_auth_methods_supported: vec!["none"],
        issuer,
    };
    let mut response = Json(discovery).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(METADATA_CACHE),
    );
    response
}
