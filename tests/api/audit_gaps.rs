//! What the trail records beyond the changes themselves: wrong one-time codes, an
//! email change asked for, which roles a change added and removed, and a forgotten
//! password asked by nobody in particular (never with the owner as its actor).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::admin::{admin_json, admin_token};
use super::audit::events;
use super::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn wrong_codes_requests_and_role_changes_are_in_the_trail() {
    let app = spawn_app().await;
    let root = admin_token(&app, "root@example.com").await;
    let tokens = app.signed_up("ada@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let me: Value = app.me(access).await.json().await.unwrap();
    let ada = me["id"].as_str().unwrap().to_owned();

    // A wrong verification code, with the address that has a live one.
    let wrong = json!({"email": "ada@example.com", "code": "000000"});
    assert_eq!(
        app.post_json("/email/verify", &wrong).await.status(),
        StatusCode::BAD_REQUEST
    );
    // An email change asked for.
    let change = json!({"new_email": "ada@example.org", "password": PASSWORD});
    let asked = app
        .bearer_json(Method::POST, "/me/email", access, &change)
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    // Roles given, then one taken away and another given.
    let path = format!("/admin/users/{ada}");
    for roles in [json!(["support", "billing"]), json!(["support", "ops"])] {
        let body = json!({ "roles": roles });
        let updated = admin_json(&app, Method::PATCH, &path, &root, &body).await;
        assert_eq!(updated.status(), StatusCode::OK);
    }
    // A reset asked for the account, by whoever.
    app.post_json("/password/forgot", &json!({"email": "ada@example.com"}))
        .await;

    let trail = async |filter: &str| events(&app, &root, &format!("&user_id={ada}{filter}")).await;
    let verify = trail("&type=email.verified").await;
    assert_eq!(verify.len(), 1, "{verify:#?}");
    assert_eq!(verify[0]["outcome"], "failure");
    assert_eq!(verify[0]["details"]["reason"], "invalid_code");
    let requested = trail("&type=email.changed").await;
    assert_eq!(requested[0]["details"]["stage"], "requested");
    assert_eq!(requested[0]["actor"], json!({"kind": "user", "id": ada}));
    let updates = trail("&type=user.updated").await;
    assert_eq!(updates[0]["details"]["roles_added"], json!(["ops"]));
    assert_eq!(updates[0]["details"]["roles_removed"], json!(["billing"]));
    assert_eq!(
        updates[1]["details"]["roles_added"],
        json!(["support", "billing"])
    );
    // The send runs after the answer.
    let start = std::time::Instant::now();
    let reset = loop {
        let found = trail("&type=password.reset_requested").await;
        if let Some(event) = found.first() {
            break event.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reset["actor"]["kind"], "user");
    assert!(
        reset["actor"]["id"].is_null(),
        "the owner is no actor: {reset}"
    );

    // Asked for an address with no account: recorded, with no one as its subject.
    app.post_json("/password/forgot", &json!({"email": "nobody@example.com"}))
        .await;
    let start = std::time::Instant::now();
    loop {
        let all = events(&app, &root, "&type=password.reset_requested").await;
        if let Some(nobody) = all.iter().find(|e| e["user_id"].is_null()) {
            assert_eq!(nobody["outcome"], "failure");
            assert_eq!(nobody["details"]["reason"], "no_account");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
