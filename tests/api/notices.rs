//! Notices of security changes (ASVS 5.0 V6.3): the account's address hears of every
//! factor added or removed, a password change, a disable, and a move of its address;
//! and after a reset by email, of the factors that remain, with a link that removes
//! them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::admin::{admin_json, admin_token};
use super::email::{ADA, NEW_PASSWORD, page_form_token};
use super::helpers::{PASSWORD, TestApp};
use super::mail::{Mail, SmtpSink, spawn_app_with_mail};
use super::mfa::{code_now, enrolled, next_step};
use super::passkeys::register;

const NOTICE: &str = "A change to your account";

/// The notices `to` got, as their first lines, once `total` messages have arrived.
async fn notices(sink: &SmtpSink, total: usize, to: &str) -> Vec<String> {
    let mails: Vec<Mail> = sink.wait_for(total).await;
    mails
        .iter()
        .filter(|m| m.to == [to] && m.subject == NOTICE)
        .map(|m| m.text.clone().unwrap().lines().next().unwrap().to_owned())
        .collect()
}

async fn bearer_json(
    app: &TestApp,
    method: Method,
    path: &str,
    access: &str,
    body: Value,
) -> StatusCode {
    app.bearer_json(method, path, access, &body).await.status()
}

#[tokio::test]
async fn every_change_to_a_factor_or_the_password_is_told_to_the_address() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let (secret, access, _) = enrolled(&app, ADA).await;
    next_step(&app);
    let removal = json!({"password": PASSWORD, "code": code_now(&app, &secret)});
    let removed = bearer_json(&app, Method::DELETE, "/me/mfa/totp", &access, removal).await;
    assert_eq!(removed, StatusCode::NO_CONTENT);
    let (_, passkey) = register(&app, &access, "laptop").await;
    let path = format!("/me/passkeys/{}", passkey["id"].as_str().unwrap());
    let deleted = bearer_json(
        &app,
        Method::DELETE,
        &path,
        &access,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let changed = bearer_json(&app, Method::POST, "/me/password", &access, change).await;
    assert_eq!(changed, StatusCode::NO_CONTENT);

    // The sign-up's verification, then five notices, in order.
    let told = notices(&sink, 6, ADA).await;
    assert_eq!(
        told,
        [
            "An authenticator app was just set up for your account.",
            "The authenticator app was just removed from your account, with its recovery codes.",
            "A passkey was just added to your account.",
            "A passkey was just removed from your account.",
            "The password of your account was just changed.",
        ]
    );
}

#[tokio::test]
async fn an_admins_disable_and_move_are_told_to_the_old_address() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let root = admin_token(&app, "root@example.com").await;
    app.registered(ADA).await;
    let page: Value = app
        .bearer(Method::GET, &format!("/admin/users?q={ADA}"), &root)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/admin/users/{}", page["users"][0]["id"].as_str().unwrap());
    let moved = admin_json(
        &app,
        Method::PATCH,
        &path,
        &root,
        &json!({"email": "ada@example.org"}),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let disabled = admin_json(
        &app,
        Method::PATCH,
        &path,
        &root,
        &json!({"disabled": true}),
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::OK);

    // Two verifications, then one notice to each address the account had.
    let to_old = notices(&sink, 4, ADA).await;
    assert_eq!(to_old.len(), 1);
    assert!(to_old[0].contains("moved your account"), "{to_old:?}");
    let to_new = notices(&sink, 4, "ada@example.org").await;
    assert_eq!(
        to_new,
        ["Your account was just disabled by an administrator."]
    );
}

#[tokio::test]
async fn after_a_reset_the_remaining_factors_are_named_with_a_link_that_removes_them() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    // A squatter's setup, say: an authenticator app the owner does not hold.
    enrolled(&app, ADA).await;
    app.post_json("/password/forgot", &json!({"email": ADA}))
        .await;
    let reset = sink.nth(3).await; // 1: verification, 2: the enrollment notice
    assert_eq!(reset.subject, "Reset your password");
    let body = json!({"token": reset.token(), "new_password": NEW_PASSWORD});
    assert_eq!(
        app.post_json("/password/reset", &body).await.status(),
        StatusCode::NO_CONTENT
    );

    let mails = sink.wait_for(5).await;
    let offer = mails
        .iter()
        .find(|m| m.subject == "Your account still has second factors")
        .unwrap_or_else(|| panic!("{mails:#?}"));
    assert_eq!(offer.to, [ADA]);
    assert!(
        offer
            .text
            .as_deref()
            .unwrap()
            .contains("an authenticator app")
    );
    let path = offer.link_path();
    assert!(path.starts_with("/ui/remove-factors?token="), "{path}");
    let login = app.login(ADA, NEW_PASSWORD).await;
    assert_eq!(
        login.status(),
        StatusCode::FORBIDDEN,
        "the factor still stands"
    );

    let csrf = page_form_token(&app, &path).await;
    let pressed = app
        .client
        .post(app.url("/ui/remove-factors"))
        .header("origin", app.address.as_str())
        .header("cookie", format!("sesame_csrf={csrf}"))
        .form(&[("token", offer.token()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::OK);
    assert_eq!(app.login(ADA, NEW_PASSWORD).await.status(), StatusCode::OK);
}
