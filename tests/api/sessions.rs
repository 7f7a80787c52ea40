//! Sessions: logout, the session list, password change and account deletion.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::client::field;
use super::helpers::{PASSWORD, assert_problem, sid, spawn_app};

#[tokio::test]
async fn logout_ends_this_session_at_once_and_only_it() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b = app.logged_in("ada@example.com").await;

    let response = app
        .bearer(reqwest::Method::POST, "/logout", field(&a, "access_token"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let me = app.me(field(&a, "access_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
    app.assert_refresh_refused(field(&a, "refresh_token")).await;
    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b = app.logged_in("ada@example.com").await;

    let response = app
        .bearer(
            reqwest::Method::POST,
            "/logout/all",
            field(&b, "access_token"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    for tokens in [&a, &b] {
        assert_eq!(
            app.me(field(tokens, "access_token")).await.status(),
            StatusCode::UNAUTHORIZED
        );
        app.assert_refresh_refused(field(tokens, "refresh_token"))
            .await;
    }
}

#[tokio::test]
async fn the_session_list_marks_the_current_one_and_ends_others() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b: Value = app
        .client
        .post(app.url("/login"))
        .header("user-agent", "second-device/1.0")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mallory = app.signed_up("mallory@example.com").await;

    let list: Value = app
        .bearer(
            reqwest::Method::GET,
            "/me/sessions",
            field(&a, "access_token"),
        )
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], sid(field(&a, "access_token")));
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "second-device/1.0");
    assert_eq!(other["ip"], "127.0.0.1");

    // Someone else's session is not yours to end.
    let path = format!("/me/sessions/{}", sid(field(&b, "access_token")));
    let response = app
        .bearer(
            reqwest::Method::DELETE,
            &path,
            field(&mallory, "access_token"),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "session_not_found").await;

    let response = app
        .bearer(reqwest::Method::DELETE, &path, field(&a, "access_token"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.assert_refresh_refused(field(&b, "refresh_token")).await;
    let again = app
        .bearer(reqwest::Method::DELETE, &path, field(&a, "access_token"))
        .await;
    assert_problem(again, StatusCode::NOT_FOUND, "session_not_found").await;
    let junk = app
        .bearer(
            reqwest::Method::DELETE,
            "/me/sessions/not-a-uuid",
            field(&a, "access_token"),
        )
        .await;
    assert_problem(junk, StatusCode::NOT_FOUND, "session_not_found").await;
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let this = app.signed_up("ada@example.com").await;
    let other = app.logged_in("ada@example.com").await;
    let token = field(&this, "access_token");
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let wrong = app
        .bearer_json(
            reqwest::Method::POST,
            "/me/password",
            token,
            &change("nope nope", "a brand new passphrase"),
        )
        .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    let weak = app
        .bearer_json(
            reqwest::Method::POST,
            "/me/password",
            token,
            &change(PASSWORD, "password1"),
        )
        .await;
    assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    assert_eq!(
        app.me(field(&other, "access_token")).await.status(),
        StatusCode::OK,
        "nothing changed yet"
    );

    let done = app
        .bearer_json(
            reqwest::Method::POST,
            "/me/password",
            token,
            &change(PASSWORD, "a brand new passphrase"),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    app.refreshed(field(&this, "refresh_token")).await;
    assert_eq!(
        app.me(field(&other, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.assert_refresh_refused(field(&other, "refresh_token"))
        .await;
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ada@example.com", "a brand new passphrase")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_the_account_takes_its_sessions_and_tokens() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let token = field(&tokens, "access_token");

    let wrong = app
        .bearer_json(
            reqwest::Method::DELETE,
            "/me",
            token,
            &json!({"password": "nope nope"}),
        )
        .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;

    let done = app
        .bearer_json(
            reqwest::Method::DELETE,
            "/me",
            token,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.me(token).await.status(), StatusCode::UNAUTHORIZED);
    app.assert_refresh_refused(field(&tokens, "refresh_token"))
        .await;
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let db = app.db().await;
    for (table, query) in [
        ("users", "SELECT count(*) FROM users"),
        ("sessions", "SELECT count(*) FROM sessions"),
        ("refresh_tokens", "SELECT count(*) FROM refresh_tokens"),
    ] {
        let rows: i64 = sqlx::query_scalar(query).fetch_one(&db).await.unwrap();
        assert_eq!(rows, 0, "{table}");
    }
    // The address is free again.
    assert_eq!(
        app.register("ada@example.com", PASSWORD).await.status(),
        StatusCode::CREATED
    );
}
