//! Sessions: rotation, reuse detection, the grace window, logout, the session list,
//! password change and account deletion. Time moves on the app's manual clock.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

fn field<'a>(tokens: &'a Value, name: &str) -> &'a str {
    tokens[name].as_str().unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json("/refresh", &json!({ "refresh_token": refresh_token }))
        .await
}

async fn refreshed(app: &TestApp, refresh_token: &str) -> Value {
    let response = refresh(app, refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn assert_refresh_refused(app: &TestApp, refresh_token: &str) {
    assert_problem(
        refresh(app, refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
}

pub(super) async fn bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub(super) async fn bearer_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn sid(access_token: &str) -> String {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_rotates_the_token_within_the_same_session() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;

    let second = refreshed(&app, field(&first, "refresh_token")).await;

    assert_ne!(
        field(&second, "refresh_token"),
        field(&first, "refresh_token")
    );
    assert_eq!(
        sid(field(&second, "access_token")),
        sid(field(&first, "access_token"))
    );
    assert_eq!(second["refresh_expires_in"], 30 * 24 * 3600);
    assert_eq!(
        app.me(field(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    let third = refreshed(&app, field(&second, "refresh_token")).await;
    assert_eq!(
        app.me(field(&third, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_replay_after_the_grace_window_ends_the_session_newest_token_included() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let second = refreshed(&app, field(&first, "refresh_token")).await;

    app.clock.advance(Duration::seconds(11));
    let body = assert_problem(
        refresh(&app, field(&first, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );

    assert_refresh_refused(&app, field(&second, "refresh_token")).await;
    let me = app.me(field(&second, "access_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_keeps_the_user_signed_in() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let second = refreshed(&app, field(&first, "refresh_token")).await;

    app.clock.advance(Duration::seconds(5));
    let again = refreshed(&app, field(&first, "refresh_token")).await;

    assert_eq!(
        sid(field(&again, "access_token")),
        sid(field(&second, "access_token"))
    );
    assert_eq!(
        app.me(field(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    let next = refreshed(&app, field(&again, "refresh_token")).await;
    assert_eq!(
        app.me(field(&next, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn twenty_parallel_refreshes_of_one_token_keep_one_session_going() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let token = field(&first, "refresh_token");

    let responses = join_all((0..20).map(|_| refresh(&app, token))).await;

    let mut pairs = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK, "no failure, no 5xx");
        pairs.push(response.json::<Value>().await.unwrap());
    }
    let session = sid(field(&first, "access_token"));
    assert!(
        pairs
            .iter()
            .all(|p| sid(field(p, "access_token")) == session)
    );
    // Whichever answer the client kept, it can go on refreshing.
    let kept = pairs.last().unwrap();
    let next = refreshed(&app, field(kept, "refresh_token")).await;
    let sessions: Value = bearer(
        &app,
        reqwest::Method::GET,
        "/me/sessions",
        field(&next, "access_token"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn with_no_grace_window_any_replay_ends_the_session() {
    let app = super::helpers::spawn_app_with(|o| o.refresh_reuse_grace = Some(0)).await;
    let first = app.signed_up("ada@example.com").await;
    let second = refreshed(&app, field(&first, "refresh_token")).await;
    app.clock.advance(Duration::seconds(1));
    assert_refresh_refused(&app, field(&first, "refresh_token")).await;
    assert_refresh_refused(&app, field(&second, "refresh_token")).await;
}

#[tokio::test]
async fn two_logins_are_two_independent_families() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        sid(field(&a, "access_token")),
        sid(field(&b, "access_token"))
    );

    refreshed(&app, field(&a, "refresh_token")).await;
    app.clock.advance(Duration::seconds(60));
    assert_refresh_refused(&app, field(&a, "refresh_token")).await;

    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::OK
    );
    refreshed(&app, field(&b, "refresh_token")).await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let app = spawn_app().await;
    let idle = app.signed_up("ada@example.com").await;
    let active: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    // Used every 20 days, a session lives on; unused for 30 days, it ends.
    let mut token = field(&active, "refresh_token").to_owned();
    for _ in 0..4 {
        app.clock.advance(Duration::days(20));
        token = field(&refreshed(&app, &token).await, "refresh_token").to_owned();
    }
    assert_refresh_refused(&app, field(&idle, "refresh_token")).await;

    // Day 80 now; the absolute lifetime is 90 days, however active.
    app.clock.advance(Duration::days(9));
    let last = refreshed(&app, &token).await;
    assert!(last["refresh_expires_in"].as_i64().unwrap() <= 24 * 3600);
    app.clock.advance(Duration::days(2));
    assert_refresh_refused(&app, field(&last, "refresh_token")).await;
}

#[tokio::test]
async fn access_and_refresh_tokens_are_not_interchangeable() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    assert_refresh_refused(&app, field(&tokens, "access_token")).await;
    let me = app.me(field(&tokens, "refresh_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_refresh_refused(&app, "not-a-token").await;
}

#[tokio::test]
async fn logout_ends_this_session_at_once_and_only_it() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let response = bearer(
        &app,
        reqwest::Method::POST,
        "/logout",
        field(&a, "access_token"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let me = app.me(field(&a, "access_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_refresh_refused(&app, field(&a, "refresh_token")).await;
    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let response = bearer(
        &app,
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
        assert_refresh_refused(&app, field(tokens, "refresh_token")).await;
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

    let list: Value = bearer(
        &app,
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
    let response = bearer(
        &app,
        reqwest::Method::DELETE,
        &path,
        field(&mallory, "access_token"),
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "session_not_found").await;

    let response = bearer(
        &app,
        reqwest::Method::DELETE,
        &path,
        field(&a, "access_token"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_refresh_refused(&app, field(&b, "refresh_token")).await;
    let again = bearer(
        &app,
        reqwest::Method::DELETE,
        &path,
        field(&a, "access_token"),
    )
    .await;
    assert_problem(again, StatusCode::NOT_FOUND, "session_not_found").await;
    let junk = bearer(
        &app,
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
    let other: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = field(&this, "access_token");
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let wrong = bearer_json(
        &app,
        reqwest::Method::POST,
        "/me/password",
        token,
        change("nope nope", "a brand new passphrase"),
    )
    .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    let weak = bearer_json(
        &app,
        reqwest::Method::POST,
        "/me/password",
        token,
        change(PASSWORD, "password1"),
    )
    .await;
    assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    assert_eq!(
        app.me(field(&other, "access_token")).await.status(),
        StatusCode::OK,
        "nothing changed yet"
    );

    let done = bearer_json(
        &app,
        reqwest::Method::POST,
        "/me/password",
        token,
        change(PASSWORD, "a brand new passphrase"),
    )
    .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.me(token).await.status(), StatusCode::OK);
    refreshed(&app, field(&this, "refresh_token")).await;
    assert_eq!(
        app.me(field(&other, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_refresh_refused(&app, field(&other, "refresh_token")).await;
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

    let wrong = bearer_json(
        &app,
        reqwest::Method::DELETE,
        "/me",
        token,
        json!({"password": "nope nope"}),
    )
    .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;

    let done = bearer_json(
        &app,
        reqwest::Method::DELETE,
        "/me",
        token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);

    assert_eq!(app.me(token).await.status(), StatusCode::UNAUTHORIZED);
    assert_refresh_refused(&app, field(&tokens, "refresh_token")).await;
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

#[tokio::test]
async fn the_token_endpoint_takes_the_refresh_token_grant() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        field(&tokens, "refresh_token")
    );

    let response = app.post_form("/token", &body).await;
    assert_eq!(response.status(), StatusCode::OK);

    app.clock.advance(Duration::seconds(30));
    let replay = app.post_form("/token", &body).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let error: Value = replay.json().await.unwrap();
    assert_eq!(error["error"], "invalid_grant");
}
