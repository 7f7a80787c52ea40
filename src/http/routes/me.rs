//! `GET /me`: the bearer-protected route.

use axum::extract::State;
use axum::response::Response;

use super::{UserBody, no_store};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::AuthUser;

/// The user the access token belongs to.
#[utoipa::path(
    get, path = "/me", tag = "accounts",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The current user", body = UserBody),
        (status = 400, description = "invalid_request: the Authorization header is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthenticated (no token) or invalid_token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Response, ApiError> {
    let user = state.auth.current_user(&claims).await?;
    Ok(no_store(UserBody::from(user)))
}
