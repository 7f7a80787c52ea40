//! The OpenAPI 3.1 document, generated from the handlers, and the Swagger UI at `/docs`
//! (served from the binary: no request leaves the machine).

use axum::Router;
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::http::AppState;

mod common;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sesame",
        description = "Register, log in, and verify tokens anywhere. Errors are RFC 9457 \
            problem documents with a stable `code`; `/token` answers with RFC 6749 errors.",
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "accounts", description = "Sign up, log in, the current user"),
        (name = "admin", description = "Users, for admins and API keys; the audit trail"),
        (name = "email", description = "Verify an address, reset a password, sign in with a code, change the address"),
        (name = "mfa", description = "Second factors: an authenticator app (TOTP), recovery codes, and finishing a login that needs one"),
        (name = "sessions", description = "Refresh, log out, see and end sessions"),
        (name = "tokens", description = "OAuth2 token endpoint"),
        (name = "discovery", description = "Keys and metadata for token verifiers"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // Lets Swagger UI's Authorize button log in through /token.
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/token",
                Scopes::new(),
            ))])),
        );
    }
}

/// Every route of the table, with `/openapi.json` and the Swagger UI at `/docs`.
pub fn routes(state: AppState) -> Router {
    let policy = axum::middleware::from_fn_with_state(state.clone(), super::policy::credentials);
    let (credential_router, mut credential_api) =
        super::routes::credential_table(OpenApiRouter::new())
            .route_layer(policy)
            .with_state(state.clone())
            .split_for_parts();
    common::credential_responses(&mut credential_api);
    let (router, mut openapi) =
        super::routes::table(OpenApiRouter::with_openapi(ApiDoc::openapi()))
            .with_state(state)
            .split_for_parts();
    openapi.merge(credential_api);
    // After the table: the derive's modifiers run before the routes add their paths.
    common::CommonResponses.modify(&mut openapi);
    router.merge(credential_router).merge(
        SwaggerUi::new("/docs")
            .url("/openapi.json", openapi)
            .config(
                Config::default()
                    .validator_url("none")
                    .persist_authorization(true),
            ),
    )
}
