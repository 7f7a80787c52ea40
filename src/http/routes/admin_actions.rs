//! The admin API's actions on a user beyond reading and editing it: end its sessions,
//! mail it a reset, remove its second factors.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

use super::admin::user_id;
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::Admin;

/// End every session of a user.
#[utoipa::path(post, path = "/admin/users/{id}/logout", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 204, description = "Every session has ended"),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    state.auth.admin_logout(by, user_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail the user a password-reset code and link (within the per-recipient limit of
/// one message a minute).
#[utoipa::path(post, path = "/admin/users/{id}/password-reset", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 202, description = "The mail is queued"),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(by): Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    state.auth.admin_password_reset(by, user_id(id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Remove every second factor and passkey of a user.
#[utoipa::path(delete, path = "/admin/users/{id}/mfa", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_factors(
    State(state): State<AppState>,
    Admin(by): Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    state.auth.remove_factors(by, user_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
