//! Guessing emailed codes: the count of wrong codes outlives each code, wrong codes
//! count on the login throttle, and concurrent sends keep the send limit.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::email::{ADA, NEW_PASSWORD};
use super::helpers::{PASSWORD, TestApp, assert_problem};
use super::mail::spawn_app_with_mail;

/// Posts `body` to `path`, waiting out (on the test's clock) any `429` of the login
/// throttle, and gives the status it finally got.
async fn unthrottled(app: &TestApp, path: &str, body: &Value) -> StatusCode {
    loop {
        let response = app.post_json(path, body).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            return response.status();
        }
        let wait: i64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        app.clock.advance(time::Duration::seconds(wait + 1));
    }
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn new_codes_do_not_start_a_new_count_of_wrong_guesses() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    sink.wait_for(1).await;
    let forgot = json!({"email": ADA});

    // Four codes, five wrong guesses at each: twenty in all, within the send limit.
    for n in 0..4 {
        app.clock.advance(time::Duration::seconds(61));
        app.post_json("/password/forgot", &forgot).await;
        let code = sink.nth(n + 2).await.code();
        let guess = json!({"email": ADA, "code": wrong(&code), "new_password": NEW_PASSWORD});
        for _ in 0..5 {
            let status = unthrottled(&app, "/password/reset", &guess).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }
    // A fifth, fresh code: its own five tries are untouched, yet the day's count is
    // spent, so even the right code is refused.
    app.clock.advance(time::Duration::seconds(61));
    app.post_json("/password/forgot", &forgot).await;
    let fifth = sink.nth(6).await;
    let right = json!({"email": ADA, "code": fifth.code(), "new_password": NEW_PASSWORD});
    let status = unthrottled(&app, "/password/reset", &right).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The owner's link is no guess: it still works.
    let link = json!({"token": fifth.token(), "new_password": NEW_PASSWORD});
    let status = unthrottled(&app, "/password/reset", &link).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A day on, a typed code works again.
    app.clock.advance(time::Duration::hours(25));
    app.post_json("/password/forgot", &forgot).await;
    let next = sink.nth(8).await; // 7: the notice of the reset
    assert_eq!(next.subject, "Reset your password");
    let right = json!({"email": ADA, "code": next.code(), "new_password": PASSWORD});
    let status = unthrottled(&app, "/password/reset", &right).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn wrong_codes_of_every_kind_count_on_the_login_throttle() {
    let new_address = "ada@example.org";
    for (path, address) in [
        ("/password/reset", ADA),
        ("/email/verify", ADA),
        ("/me/email/confirm", new_address),
        ("/login/code", ADA),
    ] {
        let (app, _sink) = spawn_app_with_mail(|o| o.login_max_failures = Some(2)).await;
        app.registered(ADA).await;
        let mut guess = json!({"email": address, "code": "000000"});
        if path == "/password/reset" {
            guess["new_password"] = json!(NEW_PASSWORD);
        }
        for _ in 0..2 {
            let response = app.post_json(path, &guess).await;
            assert_problem(response, StatusCode::BAD_REQUEST, "invalid_code").await;
        }
        // Two wrong codes locked the address's logins, the right password's too.
        let login = app.login(address, PASSWORD).await;
        assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        let code = app.post_json(path, &guess).await;
        assert_problem(code, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    }
}

#[tokio::test]
async fn concurrent_sends_to_one_address_keep_the_send_limit() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    sink.wait_for(1).await;
    app.clock.advance(time::Duration::seconds(61));

    let forgot = json!({"email": ADA});
    let requests = (0..30).map(|_| app.post_json("/password/forgot", &forgot));
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let mails = sink.wait_for(2).await;
    // The sends run after the answers: give every one of them time to finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        sink.received().len(),
        2,
        "one reset mail, not one per request"
    );
    let reset = json!({"email": ADA, "code": mails[1].code(), "new_password": NEW_PASSWORD});
    let status = app.post_json("/password/reset", &reset).await.status();
    assert_eq!(status, StatusCode::NO_CONTENT);
}
