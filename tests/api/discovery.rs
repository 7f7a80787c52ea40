//! What verifiers and people see: the JWKS, the metadata, the OpenAPI document and docs.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{TestApp, spawn_app, spawn_app_with};

/// Verifies a login token the way a third party would: with nothing but the JWKS.
async fn verify_with_jwks(app: &TestApp, expected: Algorithm) -> Value {
    let tokens = app.signed_up("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let jwks: JwkSet = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();

    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, expected);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = Validation::new(expected);
    validation.set_issuer(&[&app.address]);
    validation.set_audience(&[&app.address]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims: Value = decode(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    for claim in ["jti", "sid", "email", "iat"] {
        assert!(!claims[claim].is_null(), "missing {claim}");
    }
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    claims
}

#[tokio::test]
async fn es256_tokens_verify_with_the_published_jwks() {
    let app = spawn_app().await;
    verify_with_jwks(&app, Algorithm::ES256).await;
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_published_jwks() {
    let app = spawn_app_with(|o| o.jwt_algorithm = Some("EdDSA".to_owned())).await;
    verify_with_jwks(&app, Algorithm::EdDSA).await;
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_published_jwks() {
    let app = spawn_app_with(|o| o.jwt_algorithm = Some("RS256".to_owned())).await;
    verify_with_jwks(&app, Algorithm::RS256).await;
}

#[tokio::test]
async fn metadata_points_at_the_keys_and_the_token_endpoint() {
    let app = spawn_app().await;
    let response = app.get("/.well-known/openid-configuration").await;
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.unwrap();
    assert_eq!(metadata["issuer"], app.address);
    assert_eq!(
        metadata["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.address)
    );
    assert_eq!(metadata["token_endpoint"], format!("{}/token", app.address));
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["password", "refresh_token"])
    );
    // No flow that does not exist is advertised.
    for absent in [
        "response_types_supported",
        "id_token_signing_alg_values_supported",
        "subject_types_supported",
        "authorization_endpoint",
    ] {
        assert!(metadata.get(absent).is_none(), "{absent}");
    }
}

#[tokio::test]
async fn hs256_mode_signs_with_the_shared_secret_and_publishes_no_keys() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    super::helpers::write_private(
        &secret_file,
        b"a shared secret of at least thirty-two bytes\n",
    );
    let app = spawn_app_with(|o| {
        o.jwt_algorithm = Some("HS256".to_owned());
        o.jwt_secret_file = Some(secret_file.clone());
    })
    .await;

    let tokens = app.signed_up("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();

    // What the seed's verifier does: the secret, HS256, and no audience.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(b"a shared secret of at least thirty-two bytes");
    let claims: Value = decode(token, &key, &validation).unwrap().claims;
    assert!(
        claims.get("aud").is_none(),
        "python-jose refuses an unexpected aud"
    );
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/.well-known/jwks.json").await.status(),
        StatusCode::NOT_FOUND
    );
    if let Some(python) = std::env::var_os("SESAME_TEST_PYTHON_JOSE") {
        let script = "import sys; from jose import jwt; \
            print(jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])['email'])";
        let output = std::process::Command::new(python)
            .args([
                "-c",
                script,
                token,
                "a shared secret of at least thirty-two bytes",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "ada@example.com"
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set SESAME_TEST_PYTHON_JOSE to check tokens with the seed's verifier"
        );
    }
}

#[tokio::test]
async fn hs256_needs_a_long_enough_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    super::helpers::write_private(&secret_file, b"your-secret-key");
    let database = super::helpers::TestDatabase::new().await;
    let mut overrides = super::helpers::test_overrides(&database);
    overrides.jwt_algorithm = Some("HS256".to_owned());
    overrides.jwt_secret_file = Some(secret_file);
    let settings = sesame::config::Settings::resolve(overrides).unwrap();
    let error = sesame::app::Application::build(settings)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{error:#}").contains("at least 32 bytes"),
        "{error:#}"
    );
}

/// Every operation of the contract (../shared/API.md, the sections built so far).
const OPERATIONS: [(&str, &str); 44] = [
    ("post", "/register"),
    ("post", "/login"),
    ("post", "/token"),
    ("post", "/refresh"),
    ("post", "/logout"),
    ("post", "/logout/all"),
    ("get", "/me"),
    ("delete", "/me"),
    ("post", "/me/password"),
    ("get", "/me/sessions"),
    ("delete", "/me/sessions/{id}"),
    ("post", "/email/verify/send"),
    ("post", "/email/verify"),
    ("post", "/password/forgot"),
    ("post", "/password/reset"),
    ("post", "/login/code/send"),
    ("post", "/login/code"),
    ("post", "/me/email"),
    ("post", "/me/email/confirm"),
    ("post", "/me/mfa/totp"),
    ("post", "/me/mfa/totp/confirm"),
    ("delete", "/me/mfa/totp"),
    ("post", "/me/mfa/recovery-codes"),
    ("post", "/login/mfa"),
    ("post", "/me/passkeys/options"),
    ("post", "/me/passkeys"),
    ("get", "/me/passkeys"),
    ("delete", "/me/passkeys/{id}"),
    ("post", "/login/passkey/options"),
    ("post", "/login/passkey"),
    ("post", "/login/mfa/passkey/options"),
    ("get", "/admin/users"),
    ("post", "/admin/users"),
    ("get", "/admin/users/{id}"),
    ("patch", "/admin/users/{id}"),
    ("delete", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/logout"),
    ("post", "/admin/users/{id}/password-reset"),
    ("delete", "/admin/users/{id}/mfa"),
    ("get", "/admin/audit"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_operations_the_server_answers() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|&(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);

    // The router agrees, path by path: a documented method is routed (whatever it
    // answers, it is not 404 or 405), and every other method is 405.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = app.url(&path.replace("{id}", "0193a1b2-0000-7000-8000-000000000000"));
        for method in METHODS {
            let status = app
                .client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap()
                .status();
            if item.get(method).is_some() {
                assert!(
                    status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            }
        }
    }
    let flows = &doc["components"]["securitySchemes"]["oauth2"]["flows"];
    assert_eq!(flows["password"]["tokenUrl"], "/token");
}

#[tokio::test]
async fn docs_are_served_from_the_binary_without_outside_requests() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection());

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let config = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(config.contains("/openapi.json"), "{config}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let response = app.get(asset).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    // Nothing on the page or in its configuration is fetched from another host.
    for text in [&html, &config] {
        for line in text
            .lines()
            .filter(|l| l.contains("src=") || l.contains("href=") || l.contains("url"))
        {
            assert!(
                !line.contains("http://") && !line.contains("https://"),
                "{line}"
            );
        }
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}
