//! Recovering and moving accounts by email: password reset, sign-in codes and links,
//! email change, and registration that waits for a verified address.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::client::field;
use super::email::{ADA, NEW_PASSWORD, email_verified, page_form_token};
use super::helpers::{PASSWORD, assert_problem};
use super::mail::spawn_app_with_mail;

#[tokio::test]
async fn a_reset_ends_every_session_and_mails_a_notice() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    let tokens = app.logged_in(ADA).await;
    sink.wait_for(1).await; // the verification

    let response = app
        .post_json("/password/forgot", &json!({"email": "ADA@example.com"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mail = sink.nth(2).await;
    assert_eq!(mail.subject, "Reset your password");
    assert!(mail.link_path().starts_with("/ui/reset-password?token="));

    // The rules of a new password hold, and a refusal uses nothing up.
    let weak = app
        .post_json(
            "/password/reset",
            &json!({"token": mail.token(), "new_password": "short"}),
        )
        .await;
    assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    let reset = app
        .post_json(
            "/password/reset",
            &json!({"email": ADA, "code": mail.code(), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);

    let me = app.me(field(&tokens, "access_token")).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    app.assert_refresh_refused(field(&tokens, "refresh_token"))
        .await;
    let old = app.login(ADA, PASSWORD).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let new = app.login(ADA, NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::OK);
    let new: Value = new.json().await.unwrap();
    assert!(email_verified(&app, field(&new, "access_token")).await);

    let notice = sink.nth(3).await;
    assert_eq!(notice.to, [ADA]);
    assert_eq!(notice.subject, "Your password was reset");
    // Recovery killed every other code: the verification sent at sign-up too.
    let verification = sink.nth(1).await;
    let stale = app
        .post_json(
            "/email/verify",
            &json!({"email": ADA, "code": verification.code()}),
        )
        .await;
    assert_problem(stale, StatusCode::BAD_REQUEST, "invalid_code").await;
    // The link of the used code is dead too.
    let link = app
        .post_json(
            "/password/reset",
            &json!({"token": mail.token(), "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_problem(link, StatusCode::BAD_REQUEST, "invalid_code").await;
}

#[tokio::test]
async fn forgot_password_answers_alike_and_mails_only_existing_accounts() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    sink.wait_for(1).await;

    let unknown = app
        .post_json("/password/forgot", &json!({"email": "nobody@example.com"}))
        .await;
    let known = app
        .post_json("/password/forgot", &json!({"email": ADA}))
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    let unknown: Value = unknown.json().await.unwrap();
    let known: Value = known.json().await.unwrap();
    assert_eq!(unknown, known);

    // The known address's message arrives; the unknown one's was asked for first,
    // and never comes.
    sink.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = sink.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received.iter().all(|mail| mail.to == [ADA]));

    let invalid = app
        .post_json("/password/forgot", &json!({"email": "not an address"}))
        .await;
    assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email").await;
}

#[tokio::test]
async fn a_sign_in_code_logs_in_existing_accounts_only() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    sink.wait_for(1).await;

    for email in ["nobody@example.com", ADA] {
        let response = app
            .post_json("/login/code/send", &json!({"email": email}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let mail = sink.nth(2).await;
    assert_eq!(mail.to, [ADA]);
    assert_eq!(mail.subject, "Your sign-in code");

    let response = app
        .post_json("/login/code", &json!({"email": ADA, "code": mail.code()}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert!(email_verified(&app, field(&tokens, "access_token")).await);
    app.refreshed(field(&tokens, "refresh_token")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 2);

    // The link of the same message is the same credential: used up.
    let link = app
        .post_json("/login/code", &json!({"token": mail.token()}))
        .await;
    assert_problem(link, StatusCode::BAD_REQUEST, "invalid_code").await;
    let neither = app.post_json("/login/code", &json!({"email": ADA})).await;
    assert_problem(neither, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
}

#[tokio::test]
async fn a_sign_in_link_hands_the_session_over_in_the_fragment() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    app.post_json("/login/code/send", &json!({"email": ADA}))
        .await;
    let mail = sink.nth(2).await;

    let csrf = page_form_token(&app, &mail.link_path()).await;
    let pressed = app
        .client
        .post(app.url("/ui/sign-in"))
        .header("origin", app.address.as_str())
        .header("cookie", format!("sesame_csrf={csrf}"))
        .form(&[("token", mail.token()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    let location = pressed.headers()["location"].to_str().unwrap();
    let (page, fragment) = location.split_once('#').unwrap();
    assert_eq!(page, app.url("/ui/signed-in"));
    let pairs: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(fragment).unwrap();
    let me = app.me(&pairs["access_token"]).await;
    assert_eq!(me.status(), StatusCode::OK);
    app.refreshed(&pairs["refresh_token"]).await;
}

#[tokio::test]
async fn an_email_change_takes_effect_when_the_new_address_confirms() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    app.registered("bob@example.com").await;
    let tokens = app.logged_in(ADA).await;
    let access = field(&tokens, "access_token");
    sink.wait_for(2).await;

    let change = async |new_email: &str, password: &str| {
        let body = json!({"new_email": new_email, "password": password});
        app.bearer_json(Method::POST, "/me/email", access, &body)
            .await
    };
    let wrong = change("ada@example.org", "not the password").await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    // A taken address answers as a free one does: a code goes to it, a notice to the
    // current address, and the confirmation is refused.
    let taken = change("Bob@example.com", PASSWORD).await;
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    let taken: Value = taken.json().await.unwrap();
    let find = |mails: &[super::mail::Mail], to: &str, subject: &str| {
        mails[2..]
            .iter()
            .find(|m| m.to == [to] && m.subject == subject)
            .unwrap_or_else(|| panic!("no {subject:?} to {to}: {mails:#?}"))
            .clone()
    };
    let mails = sink.wait_for(4).await;
    let to_bob = find(&mails, "Bob@example.com", "Confirm your new email address");
    let notice = find(&mails, ADA, "A change to your account");
    assert!(notice.text.unwrap().contains("asked to move"));
    let refused = app
        .post_json(
            "/me/email/confirm",
            &json!({"email": "bob@example.com", "code": to_bob.code()}),
        )
        .await;
    assert_problem(refused, StatusCode::CONFLICT, "email_taken").await;

    let accepted = change("ada@example.org", PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(accepted.json::<Value>().await.unwrap(), taken);
    let mails = sink.wait_for(6).await;
    let mail = find(&mails, "ada@example.org", "Confirm your new email address");
    // Nothing changed yet.
    assert_eq!(app.login(ADA, PASSWORD).await.status(), StatusCode::OK);

    let confirmed = app
        .post_json(
            "/me/email/confirm",
            &json!({"email": "ada@example.org", "code": mail.code()}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let user: Value = confirmed.json().await.unwrap();
    assert_eq!(user["email"], "ada@example.org");
    assert_eq!(user["email_verified"], true);

    let notice = sink.nth(7).await;
    assert_eq!(notice.to, [ADA]);
    assert_eq!(notice.subject, "Your email address was changed");
    let old = app.login(ADA, PASSWORD).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        app.login("ada@example.org", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_required_verification_registration_answers_alike_and_login_waits() {
    let (app, sink) = spawn_app_with_mail(|o| o.require_verified_email = true).await;

    let new = app.register(ADA, PASSWORD).await;
    assert_eq!(new.status(), StatusCode::ACCEPTED);
    let again = app.register("Ada@example.com", PASSWORD).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let (new, again): (Value, Value) = (new.json().await.unwrap(), again.json().await.unwrap());
    assert_eq!(new, again);
    assert!(new["detail"].as_str().is_some_and(|d| !d.is_empty()));

    let mails = sink.wait_for(2).await;
    assert_eq!(mails[0].subject, "Verify your email address");
    assert_eq!(mails[1].subject, "You already have an account");

    // A probe that signs up with a password and logs in with it learns nothing: an
    // address it created and one that already had an account answer alike.
    let unverified = app.login(ADA, PASSWORD).await;
    let taken = app.login(ADA, "the squatter's password").await;
    assert_eq!(unverified.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(taken.status(), StatusCode::UNAUTHORIZED);
    let (unverified, taken): (Value, Value) = (
        unverified.json().await.unwrap(),
        taken.json().await.unwrap(),
    );
    assert_eq!(unverified, taken);
    assert_eq!(unverified["code"], "invalid_credentials");

    let verified = app
        .post_json(
            "/email/verify",
            &json!({"email": ADA, "code": mails[0].code()}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(app.login(ADA, PASSWORD).await.status(), StatusCode::OK);
}
