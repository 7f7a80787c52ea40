//! The policy every credential endpoint shares, as one route layer over
//! [`routes::credential_table`](super::routes::credential_table): a credential in the
//! query string is refused before anything else happens, and so is an address over
//! its bucket. The OpenAPI document says so on each of them (`openapi/common.rs`).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::{NoCredentialsInQuery, WithinRateLimit};

pub async fn credentials(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(refused) = NoCredentialsInQuery::from_request_parts(&mut parts, &state).await {
        return refused.into_response();
    }
    if let Err(refused) = WithinRateLimit::from_request_parts(&mut parts, &state).await {
        return refused.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
