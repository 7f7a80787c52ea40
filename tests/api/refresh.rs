//! Refresh: rotation, reuse detection, the grace window, expiry, and the OAuth2
//! refresh grant. Time moves on the app's manual clock.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;

use super::client::field;
use super::helpers::{assert_problem, sid, spawn_app};

#[tokio::test]
async fn refresh_rotates_the_token_within_the_same_session() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;

    let second = app.refreshed(field(&first, "refresh_token")).await;

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
    let third = app.refreshed(field(&second, "refresh_token")).await;
    assert_eq!(
        app.me(field(&third, "access_token")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_replay_after_the_grace_window_ends_the_session_newest_token_included() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let second = app.refreshed(field(&first, "refresh_token")).await;

    app.clock.advance(Duration::seconds(11));
    let body = assert_problem(
        app.refresh(field(&first, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );

    app.assert_refresh_refused(field(&second, "refresh_token"))
        .await;
    let me = app.me(field(&second, "access_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_keeps_the_user_signed_in() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let second = app.refreshed(field(&first, "refresh_token")).await;

    app.clock.advance(Duration::seconds(5));
    let again = app.refreshed(field(&first, "refresh_token")).await;

    assert_eq!(
        sid(field(&again, "access_token")),
        sid(field(&second, "access_token"))
    );
    assert_eq!(
        app.me(field(&second, "access_token")).await.status(),
        StatusCode::OK
    );
    let next = app.refreshed(field(&again, "refresh_token")).await;
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

    let responses = join_all((0..20).map(|_| app.refresh(token))).await;

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
    // One successor for all twenty: the rotation ran once, and the others were given
    // what it made (a second rotation would have made another token, or ended the
    // session as a reuse).
    let successor = field(&pairs[0], "refresh_token");
    assert_ne!(successor, token);
    assert!(
        pairs.iter().all(|p| field(p, "refresh_token") == successor),
        "the answers hold different refresh tokens"
    );
    // It goes on refreshing, into a token of its own.
    let next = app.refreshed(successor).await;
    assert_ne!(field(&next, "refresh_token"), successor);
    assert_eq!(sid(field(&next, "access_token")), session);
}

#[tokio::test]
async fn with_no_grace_window_any_replay_ends_the_session() {
    let app = super::helpers::spawn_app_with(|o| o.refresh_reuse_grace = Some(0)).await;
    let first = app.signed_up("ada@example.com").await;
    let second = app.refreshed(field(&first, "refresh_token")).await;
    app.clock.advance(Duration::seconds(1));
    app.assert_refresh_refused(field(&first, "refresh_token"))
        .await;
    app.assert_refresh_refused(field(&second, "refresh_token"))
        .await;
}

#[tokio::test]
async fn two_logins_are_two_independent_families() {
    let app = spawn_app().await;
    let a = app.signed_up("ada@example.com").await;
    let b = app.logged_in("ada@example.com").await;
    assert_ne!(
        sid(field(&a, "access_token")),
        sid(field(&b, "access_token"))
    );

    app.refreshed(field(&a, "refresh_token")).await;
    app.clock.advance(Duration::seconds(60));
    app.assert_refresh_refused(field(&a, "refresh_token")).await;

    assert_eq!(
        app.me(field(&b, "access_token")).await.status(),
        StatusCode::OK
    );
    app.refreshed(field(&b, "refresh_token")).await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let app = spawn_app().await;
    let idle = app.signed_up("ada@example.com").await;
    let active = app.logged_in("ada@example.com").await;

    // Used every 20 days, a session lives on; unused for 30 days, it ends.
    let mut token = field(&active, "refresh_token").to_owned();
    for _ in 0..4 {
        app.clock.advance(Duration::days(20));
        token = field(&app.refreshed(&token).await, "refresh_token").to_owned();
    }
    app.assert_refresh_refused(field(&idle, "refresh_token"))
        .await;

    // Day 80 now; the absolute lifetime is 90 days, however active.
    app.clock.advance(Duration::days(9));
    let last = app.refreshed(&token).await;
    assert!(last["refresh_expires_in"].as_i64().unwrap() <= 24 * 3600);
    app.clock.advance(Duration::days(2));
    app.assert_refresh_refused(field(&last, "refresh_token"))
        .await;
}

#[tokio::test]
async fn access_and_refresh_tokens_are_not_interchangeable() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    app.assert_refresh_refused(field(&tokens, "access_token"))
        .await;
    let me = app.me(field(&tokens, "refresh_token")).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "invalid_token").await;
    app.assert_refresh_refused("not-a-token").await;
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
