use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn me_returns_the_user_of_the_token() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;

    let response = app.me(tokens["access_token"].as_str().unwrap()).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], "ada@example.com");
}

#[tokio::test]
async fn no_token_gets_a_bare_bearer_challenge() {
    let app = spawn_app().await;
    let response = app.get("/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_400_invalid_request() {
    let app = spawn_app().await;
    for header in [
        "Basic YWRhOmh1bnRlcjI=",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "token",
    ] {
        let response = app
            .client
            .get(app.url("/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_request\"",
            "{header:?}"
        );
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test]
async fn a_garbage_token_is_401_invalid_token() {
    let app = spawn_app().await;
    for token in ["abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = app.me(token).await;
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

#[tokio::test]
async fn tokens_expire_after_15_minutes_with_a_small_leeway() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();

    app.clock.advance(time::Duration::minutes(15));
    assert_eq!(
        app.me(token).await.status(),
        StatusCode::OK,
        "inside the leeway"
    );

    app.clock.advance(time::Duration::seconds(31));
    let body = assert_problem(
        app.me(token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn the_token_of_a_deleted_user_no_longer_works() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    sqlx::query("DELETE FROM users")
        .execute(&app.db().await)
        .await
        .unwrap();

    let response = app.me(tokens["access_token"].as_str().unwrap()).await;

    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_session_ended_elsewhere_is_refused_within_the_session_check_bound() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    // Ended behind this instance's back, as another instance would.
    sqlx::query("UPDATE sessions SET ended_at = created_at")
        .execute(&app.db().await)
        .await
        .unwrap();

    assert_eq!(
        app.me(token).await.status(),
        StatusCode::OK,
        "inside the 1 s bound"
    );
    app.clock.advance(time::Duration::seconds(1));
    assert_problem(
        app.me(token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn with_no_session_check_cache_every_request_asks_the_store() {
    let app = super::helpers::spawn_app_with(|o| o.session_check_ms = Some(0)).await;
    let tokens = app.signed_up("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    sqlx::query("UPDATE sessions SET ended_at = created_at")
        .execute(&app.db().await)
        .await
        .unwrap();
    assert_problem(
        app.me(token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}
