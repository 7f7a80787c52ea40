//! Malformed, oversized and hostile input: the documented 4xx, never a 500.

use reqwest::StatusCode;
use serde_json::json;

use super::helpers::{PASSWORD, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn form_bodies_work_like_json() {
    let app = spawn_app().await;
    let response = app
        .post_form(
            "/register",
            "email=ada%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .post_form(
            "/login",
            "email=ada%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in ["{", "{\"email\": }", "not json", ""] {
        let response = app
            .client
            .post(app.url("/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "malformed_body").await;
    }
}

#[tokio::test]
async fn bodies_of_the_wrong_shape_are_422() {
    let app = spawn_app().await;
    for body in [
        json!({"email": "ada@example.com", "password": PASSWORD, "admin": true}),
        json!({"email": "ada@example.com"}),
        json!({"email": 42, "password": PASSWORD}),
        json!(["ada@example.com", PASSWORD]),
    ] {
        let response = app.post_json("/register", &body).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing is written for a rejected body");
}

#[tokio::test]
async fn other_content_types_are_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "text/plain")
        .body("email=ada@example.com")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let response = app.client.post(app.url("/login")).send().await.unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app_with(|o| o.body_limit = Some(2048)).await;
    let padding = "x".repeat(4096);
    let response = app
        .post_json(
            "/register",
            &json!({"email": "ada@example.com", "password": padding}),
        )
        .await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn credentials_in_the_query_string_are_refused_before_anything_else() {
    let app = spawn_app().await;
    for path in [
        "/register?email=ada@example.com&password=hunter2hunter2",
        "/login?password=x",
        "/login?email=a&pass%77ord=x",
        "/login?PassWord=x",
        "/login?password[]=x",
        "/login?PASSWORD%5B%5D=x",
        "/refresh?Refresh_Token=x",
        "/password/reset?new_password=x",
        "/me/email?password=x",
        // Every one-time secret too, on every endpoint that takes one.
        "/email/verify?code=123456",
        "/email/verify?token=x",
        "/password/reset?token=x",
        "/login/code?Code=123456",
        "/me/email/confirm?token=x",
        "/login/mfa?mfa_token=x",
        "/login/mfa?recovery_code=x",
        "/login/mfa/passkey/options?mfa_token=x",
        "/me/mfa/totp/confirm?code=123456",
        "/me/mfa/recovery-codes?code=123456",
    ] {
        // Even with a valid body, the URL alone decides.
        let response = app
            .post_json(
                path,
                &json!({"email": "ada@example.com", "password": PASSWORD}),
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "credentials_in_query").await;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_problem_documents() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope").await, StatusCode::NOT_FOUND, "not_found").await;
    let response = app.get("/login").await;
    assert!(response.headers().contains_key("allow"));
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;

    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123_x.y")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123_x.y");

    let hostile = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "evil\"id with spaces")
        .send()
        .await
        .unwrap();
    let generated = hostile.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    assert_eq!(hostile.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        hostile.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
}
