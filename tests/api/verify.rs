//! `sesame-verify` against a real Sesame: its extractor and its layer accept what the
//! server issues and refuse the rest with RFC 6750 challenges; a storm of made-up key
//! ids costs one fetch of the key set; keys fetched before keep working while the
//! server is down.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use sesame_verify::{SesameUser, Verifier, VerifyError, VerifyLayer};

use super::client::{Client, field};
use super::helpers::{TestApp, spawn_app, spawn_app_with};

async fn me(SesameUser(user): SesameUser) -> String {
    format!("{} {} {}", user.email, user.amr.join(","), user.roles.len())
}

/// A resource server on port 0 with `/me` (the extractor) and `/layered/me` (the
/// layer in front of a router), checking tokens of `app`.
async fn resource_server(verifier: Arc<Verifier>) -> Client {
    let layered = Router::new()
        .route("/me", get(me))
        .layer(VerifyLayer::new(Arc::clone(&verifier)))
        .with_state(Arc::clone(&verifier));
    let router = Router::new()
        .route("/me", get(me))
        .nest("/layered", layered)
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Client::new(format!("http://{address}"))
}

async fn signed_up(app: &TestApp) -> String {
    field(&app.signed_up("ada@example.com").await, "access_token").to_owned()
}

/// A token shaped like Sesame's, naming the key `kid`, with a signature of nothing.
fn with_kid(kid: &str) -> String {
    let header = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
    let part = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = serde_json::json!({"sub": "x", "iss": "x", "aud": "x", "exp": 1});
    format!(
        "{}.{}.{}",
        part(&header),
        part(&claims),
        URL_SAFE_NO_PAD.encode([7; 64])
    )
}

#[tokio::test]
async fn the_extractor_and_the_layer_take_sesames_tokens_and_refuse_the_rest() {
    let app = spawn_app().await;
    let service = resource_server(Arc::new(Verifier::new(&app.address))).await;
    let token = signed_up(&app).await;
    for path in ["/me", "/layered/me"] {
        let response = service.bearer(reqwest::Method::GET, path, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ada@example.com pwd 0");

        let missing = service.get(path).await;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        let tampered = format!("{}x", &token[..token.len() - 1]);
        let refused = service.bearer(reqwest::Method::GET, path, &tampered).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
    }

    // Another Sesame's token: another key, another issuer.
    let other = spawn_app().await;
    let foreign = signed_up(&other).await;
    let verifier = Verifier::new(&app.address);
    assert_eq!(
        verifier.verify(&foreign).await,
        Err(VerifyError::UnknownKey)
    );
    let trusting_the_keys =
        Verifier::new(&app.address).jwks_url(&other.url("/.well-known/jwks.json"));
    assert_eq!(
        trusting_the_keys.verify(&foreign).await,
        Err(VerifyError::Invalid)
    );

    // Issued an hour ago: expired, whatever the signature.
    app.clock.advance(time::Duration::hours(-1));
    let old = field(&app.logged_in("ada@example.com").await, "access_token").to_owned();
    assert_eq!(verifier.verify(&old).await, Err(VerifyError::Expired));
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(
        (claims.email.as_str(), claims.amr.as_slice()),
        ("ada@example.com", &["pwd".to_owned()][..])
    );
}

#[tokio::test]
async fn a_storm_of_unknown_key_ids_fetches_the_key_set_once() {
    let app = spawn_app().await;
    let verifier = Arc::new(Verifier::new(&app.address));
    let storm: Vec<_> = (0..1_000)
        .map(|n| {
            let verifier = Arc::clone(&verifier);
            tokio::spawn(async move { verifier.verify(&with_kid(&format!("made-up-{n}"))).await })
        })
        .collect();
    for refused in storm {
        assert_eq!(refused.await.unwrap(), Err(VerifyError::UnknownKey));
    }
    assert_eq!(verifier.fetches(), 1);
    // The one fetch brought the real keys: a real token needs no other, and once
    // verified it is remembered (its signature is not checked again).
    let token = signed_up(&app).await;
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(verifier.fetches(), 1);
}

#[tokio::test]
async fn keys_fetched_before_keep_working_while_sesame_is_down() {
    // Sesame says to cache its keys for a second; the verifier may refetch at will.
    let app = spawn_app_with(|o| o.key_publish_ahead = Some(2)).await;
    let verifier = Verifier::new(&app.address).refetch_interval(std::time::Duration::ZERO);
    let token = signed_up(&app).await;
    let unseen = field(&app.logged_in("ada@example.com").await, "access_token").to_owned();
    assert!(verifier.verify(&token).await.is_ok());
    app.stop().await;

    // The key set is stale now, and refetching it fails: the keys it had still verify
    // a token never seen before.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(verifier.verify(&unseen).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(
        verifier.verify(&with_kid("unknown")).await,
        Err(VerifyError::UnknownKey)
    );
    assert!(verifier.fetches() >= 3);
    // And one that never reached the server gets an answer too, not a panic.
    let unreachable = Verifier::new("http://127.0.0.1:9");
    assert_eq!(
        unreachable.verify(&token).await,
        Err(VerifyError::UnknownKey)
    );
}
