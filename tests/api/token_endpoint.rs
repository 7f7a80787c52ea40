//! `POST /token`, as Swagger UI's Authorize button and FastAPI's `OAuth2PasswordBearer`
//! clients call it.

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{PASSWORD, spawn_app};

async fn oauth_error(response: reqwest::Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(body["detail"], body["error_description"]);
    body
}

#[tokio::test]
async fn the_password_grant_returns_tokens_that_open_me() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;

    // What Swagger UI sends: the grant, the credentials, and an empty scope.
    let response = app
        .post_form(
            "/token",
            "grant_type=password&username=ada%40example.com&password=correct+horse+battery&scope=&client_id=",
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let me = app.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_credentials_are_invalid_grant() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;
    let wrong = app
        .post_form(
            "/token",
            "grant_type=password&username=ada%40example.com&password=nope+nope",
        )
        .await;
    let unknown = app
        .post_form(
            "/token",
            "grant_type=password&username=bob%40example.com&password=nope+nope",
        )
        .await;
    let a = oauth_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let b = oauth_error(unknown, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn malformed_token_requests_are_rfc6749_errors() {
    let app = spawn_app().await;
    oauth_error(
        app.post_form("/token", "grant_type=client_credentials")
            .await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
    oauth_error(
        app.post_form("/token", "grant_type=password&username=ada%40example.com")
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    oauth_error(
        app.post_form("/token", "username=ada").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let in_query = app
        .post_form("/token?password=hunter2", "grant_type=password")
        .await;
    let body = oauth_error(in_query, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(body["code"], "credentials_in_query");
}
