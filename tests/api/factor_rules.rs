//! Who may add a second factor, and what adding one does: none for an unproven
//! address, another only from a session that logged in with one, the first ends the
//! other sessions; and a throttled answer at `/login/mfa` spends no `mfa_token` try.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};
use super::mfa::{code_now, enrolled, finish, next_step};
use super::passkeys::{answer, origin, register};

const ADA: &str = "ada@example.com";

async fn access_of(tokens: Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn totp_begin(app: &TestApp, access: &str) -> reqwest::Response {
    let body = json!({"password": PASSWORD});
    app.bearer_json(Method::POST, "/me/mfa/totp", access, &body)
        .await
}

async fn passkey_options(app: &TestApp, access: &str) -> reqwest::Response {
    let body = json!({"password": PASSWORD});
    app.bearer_json(Method::POST, "/me/passkeys/options", access, &body)
        .await
}

#[tokio::test]
async fn an_address_nobody_proved_gets_no_factor() {
    let app = spawn_app().await;
    // A squatter who signed up someone else's address, with its password.
    let access = access_of(app.signed_up(ADA).await).await;
    let totp = totp_begin(&app, &access).await;
    assert_problem(totp, StatusCode::FORBIDDEN, "email_not_verified").await;
    let passkey = passkey_options(&app, &access).await;
    assert_problem(passkey, StatusCode::FORBIDDEN, "email_not_verified").await;
}

#[tokio::test]
async fn a_factor_is_added_beside_another_only_from_a_session_that_used_one() {
    let app = spawn_app().await;
    let (secret, enrolling, _) = enrolled(&app, ADA).await;
    // A stolen token and the password: the session logged in with the password only.
    let refused = passkey_options(&app, &enrolling).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "second_factor_required").await;

    // The owner logs in with the password and the app's code, and may add a passkey.
    next_step(&app);
    let started = app.login(ADA, PASSWORD).await;
    let started: Value = started.json().await.unwrap();
    let body = json!({"mfa_token": started["mfa_token"], "code": code_now(&app, &secret)});
    let access = access_of(finish(&app, body).await.json().await.unwrap()).await;
    register(&app, &access, "laptop").await;

    // The other way round: an account with a passkey, TOTP from a password session.
    let other = spawn_app().await;
    let first = access_of(other.verified_up(ADA).await).await;
    register(&other, &first, "laptop").await;
    let password_only = other.login(ADA, PASSWORD).await;
    assert_problem(password_only, StatusCode::FORBIDDEN, "mfa_required").await;
    let refused = totp_begin(&other, &first).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "second_factor_required").await;
}

#[tokio::test]
async fn the_first_passkey_ends_every_other_session() {
    let app = spawn_app().await;
    let mine = access_of(app.verified_up(ADA).await).await;
    let theirs = app.logged_in(ADA).await;
    register(&app, &mine, "laptop").await;
    let me = app.me(theirs["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    app.assert_refresh_refused(theirs["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(app.me(&mine).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_throttled_answer_spends_none_of_the_mfa_tokens_tries() {
    let app = spawn_app().await;
    let (secret, _, _) = enrolled(&app, ADA).await;
    let started: Value = app.login(ADA, PASSWORD).await.json().await.unwrap();
    let token = started["mfa_token"].clone();
    // Three wrong answers are free; the throttle then wants a second between tries.
    for _ in 0..3 {
        let wrong = finish(&app, json!({"mfa_token": token, "code": "000000"})).await;
        assert_problem(wrong, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    for _ in 0..3 {
        let early = finish(&app, json!({"mfa_token": token, "code": "000000"})).await;
        assert_problem(early, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    }
    // Three answers were checked, so the token has two left: the right code works.
    next_step(&app); // a new code is due, and the throttle's second is over
    let body = json!({"mfa_token": token, "code": code_now(&app, &secret)});
    assert_eq!(finish(&app, body).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_passkey_login_waits_for_a_verified_address_when_it_is_required() {
    let app = spawn_app_with(|o| o.require_verified_email = true).await;
    assert_eq!(
        app.register(ADA, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let db = app.db().await;
    let set_verified = async |verified: bool| {
        sqlx::query("UPDATE users SET email_verified = $1 WHERE email = $2")
            .bind(verified)
            .bind(ADA)
            .execute(&db)
            .await
            .unwrap();
    };
    set_verified(true).await;
    let access = access_of(app.logged_in(ADA).await).await;
    let (mut key, _) = register(&app, &access, "laptop").await;
    // An admin marks the address unproven again (it bounced, say).
    set_verified(false).await;
    let (challenge, credential) = answer(
        &app,
        &mut key,
        "/login/passkey/options",
        &json!({"email": ADA}),
        origin(&app),
    )
    .await;
    let body = json!({"challenge_id": challenge, "credential": credential});
    let refused = app.post_json("/login/passkey", &body).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "email_not_verified").await;
}
