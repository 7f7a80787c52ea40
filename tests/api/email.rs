//! Emailed secrets over a real SMTP server: verification, and the properties every
//! emailed secret keeps (single use under concurrency, an attempt cap, links that a
//! GET does not use up, the send limit). Recovery flows are in `recovery.rs`, the
//! outbox's delivery in `outbox.rs`.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::client::field;
use super::helpers::{PASSWORD, TestApp, assert_problem};
use super::mail::spawn_app_with_mail;

pub const ADA: &str = "ada@example.com";
pub const NEW_PASSWORD: &str = "a brand new passphrase";

/// Mail scanners' and link previewers' user agents: each opens links it finds.
const SCANNERS: [&str; 4] = [
    "Mozilla/5.0 (compatible; Microsoft Outlook SafeLinks)",
    "Mimecast-URL-Protect/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; ProofpointURLDefense)",
];

pub async fn email_verified(app: &TestApp, token: &str) -> bool {
    let me: Value = app.me(token).await.json().await.unwrap();
    me["email_verified"].as_bool().unwrap()
}

#[tokio::test]
async fn registering_mails_a_verification_code_that_verifies_the_address() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let tokens = app.signed_up(ADA).await;
    let access = field(&tokens, "access_token");
    assert!(!email_verified(&app, access).await);

    let mail = sink.nth(1).await;
    assert_eq!(mail.to, [ADA]);
    assert_eq!(mail.subject, "Verify your email address");
    assert!(mail.html.as_deref().unwrap().contains(&mail.code()));

    let response = app
        .post_json("/email/verify", &json!({"email": ADA, "code": mail.code()}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email_verified"], true);
    assert!(email_verified(&app, access).await);

    // Used once, it is gone, with the link that was the same credential.
    let again = app
        .post_json("/email/verify", &json!({"email": ADA, "code": mail.code()}))
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "invalid_code").await;
    let link = app
        .post_json("/email/verify", &json!({"token": mail.token()}))
        .await;
    assert_problem(link, StatusCode::BAD_REQUEST, "invalid_code").await;
    let resend = app.bearer(Method::POST, "/email/verify/send", access).await;
    assert_problem(resend, StatusCode::CONFLICT, "already_verified").await;
}

#[tokio::test]
async fn opening_a_link_consumes_nothing_until_its_button_is_pressed() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let tokens = app.signed_up(ADA).await;
    let mail = sink.nth(1).await;
    let path = mail.link_path();
    assert!(path.starts_with("/ui/verify-email?token="), "{path}");

    for round in 0..20 {
        let agent = SCANNERS[round % SCANNERS.len()];
        for method in [Method::GET, Method::HEAD] {
            let response = app
                .client
                .request(method.clone(), app.url(&path))
                .header("user-agent", agent)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{method} by {agent}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"), "{csp}");
        }
    }
    let page = app.get(&path).await.text().await.unwrap();
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(!email_verified(&app, field(&tokens, "access_token")).await);

    // A form posted from another site is refused, and uses nothing up.
    let csrf = page_form_token(&app, &path).await;
    let forged = app
        .client
        .post(app.url("/ui/verify-email"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("cookie", format!("sesame_csrf={csrf}"))
        .form(&[("token", mail.token()), ("csrf", csrf.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // So is one without the page's token, even from a client that names no origin
    // at all; and one whose token is not the cookie's.
    for (cookie, field) in [
        ("", ""),
        ("", csrf.as_str()),
        ("sesame_csrf=other", csrf.as_str()),
    ] {
        let bare = app
            .client
            .post(app.url("/ui/verify-email"))
            .header("cookie", cookie)
            .form(&[("token", mail.token().as_str()), ("csrf", field)])
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), StatusCode::FORBIDDEN, "{cookie:?} {field:?}");
    }
    assert!(!email_verified(&app, field(&tokens, "access_token")).await);

    // The button: a same-origin POST of the form, with its page's token.
    let pressed = app
        .client
        .post(app.url("/ui/verify-email"))
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("sesame_csrf={csrf}"))
        .form(&[("token", mail.token()), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::OK);
    assert!(pressed.text().await.unwrap().contains("is verified"));
    assert!(email_verified(&app, field(&tokens, "access_token")).await);
}

/// Opens a link's page as a browser would, and gives the form token its form carries,
/// which the page also set as its `sesame_csrf` cookie.
pub async fn page_form_token(app: &TestApp, path: &str) -> String {
    let page = app.get(path).await;
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("the form has its token") + marker.len();
    let token: String = html[at..].chars().take_while(|c| *c != '"').collect();
    assert!(
        cookie.starts_with(&format!("sesame_csrf={token};")),
        "{cookie}"
    );
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    token
}

/// Opens `path` 20 times with GET and 20 with HEAD, as scanners and previewers do.
async fn scan(app: &TestApp, path: &str) {
    for round in 0..20 {
        let agent = SCANNERS[round % SCANNERS.len()];
        for method in [Method::GET, Method::HEAD] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .header("user-agent", agent)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{method} {path} by {agent}"
            );
        }
    }
}

#[tokio::test]
async fn no_link_of_any_kind_is_used_up_by_opening_it() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let tokens = app.signed_up(ADA).await;
    let access = field(&tokens, "access_token");
    app.post_json("/password/forgot", &json!({"email": ADA}))
        .await;
    app.post_json("/login/code/send", &json!({"email": ADA}))
        .await;
    let body = json!({"new_email": "ada@example.org", "password": PASSWORD});
    let change = app
        .bearer_json(Method::POST, "/me/email", access, &body)
        .await;
    assert_eq!(change.status(), StatusCode::ACCEPTED);
    // Four links, and the notice of the change asked for.
    let mails = sink.wait_for(5).await;
    let link = |subject: &str| {
        mails
            .iter()
            .find(|mail| mail.subject == subject)
            .unwrap_or_else(|| panic!("no {subject:?} in {mails:?}"))
            .clone()
    };
    let verify = link("Verify your email address");
    let reset = link("Reset your password");
    let sign_in = link("Your sign-in code");
    let confirm = link("Confirm your new email address");
    for mail in [&verify, &reset, &sign_in, &confirm] {
        scan(&app, &mail.link_path()).await;
    }

    let db = app.db().await;
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM one_time_codes")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(live, 4, "opening a link used it up");

    // Each still works by its token, exactly once.
    let redeem = [
        ("/email/verify", json!({"token": verify.token()})),
        ("/login/code", json!({"token": sign_in.token()})),
        ("/me/email/confirm", json!({"token": confirm.token()})),
    ];
    for (path, body) in &redeem {
        let response = app.post_json(path, body).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    for (path, body) in &redeem {
        let again = app.post_json(path, body).await;
        assert_problem(again, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    // Moving the account killed the reset sent to the old address.
    let body = json!({"token": reset.token(), "new_password": NEW_PASSWORD});
    let stale = app.post_json("/password/reset", &body).await;
    assert_problem(stale, StatusCode::BAD_REQUEST, "invalid_code").await;
}

#[tokio::test]
async fn of_twenty_concurrent_uses_of_one_code_exactly_one_succeeds() {
    for by_link in [true, false] {
        let (app, sink) = spawn_app_with_mail(|_| {}).await;
        app.registered(ADA).await;
        let mail = sink.nth(1).await;
        // The link's token is no guess, so all twenty race to the row; a typed code
        // claims a login attempt first, and the throttle may turn some away (429).
        let body = if by_link {
            json!({"token": mail.token()})
        } else {
            json!({"email": ADA, "code": mail.code()})
        };
        let uses = (0..20).map(|_| app.post_json("/email/verify", &body));
        let statuses: Vec<StatusCode> = join_all(uses)
            .await
            .into_iter()
            .map(|response| response.status())
            .collect();
        let count = |status| statuses.iter().filter(|s| **s == status).count();
        assert_eq!(count(StatusCode::OK), 1, "{statuses:?}");
        let lost = count(StatusCode::BAD_REQUEST);
        let turned_away = count(StatusCode::TOO_MANY_REQUESTS);
        assert!(lost >= 2, "too few raced for the row: {statuses:?}");
        assert_eq!(1 + lost + turned_away, 20, "{statuses:?}");
        if by_link {
            assert_eq!(turned_away, 0, "{statuses:?}");
        }
    }
}

#[tokio::test]
async fn after_five_wrong_codes_even_the_right_one_fails() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    let mail = sink.nth(1).await;
    let code = mail.code();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

    for _ in 0..5 {
        let response = app
            .post_json("/email/verify", &json!({"email": ADA, "code": wrong}))
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_code").await;
        // Past the login throttle's delay, which wrong codes count on too.
        app.clock.advance(time::Duration::seconds(30));
    }
    let right = app
        .post_json("/email/verify", &json!({"email": ADA, "code": code}))
        .await;
    assert_problem(right, StatusCode::BAD_REQUEST, "invalid_code").await;
    // Whoever typed them, the owner's link is no guess and still works.
    let link = app
        .post_json("/email/verify", &json!({"token": mail.token()}))
        .await;
    assert_eq!(link.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_recipient_gets_one_message_a_minute_and_the_limit_says_nothing() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let tokens = app.signed_up(ADA).await;
    let access = field(&tokens, "access_token");
    sink.wait_for(1).await;

    // Within the minute of the registration's message: the same answer, no message.
    let second = app.bearer(Method::POST, "/email/verify/send", access).await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    app.clock.advance(time::Duration::seconds(61));
    let third = app.bearer(Method::POST, "/email/verify/send", access).await;
    assert_eq!(third.status(), StatusCode::ACCEPTED);
    let received = sink.wait_for(2).await;
    // The one over the limit was never queued: two messages in the outbox, no more.
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(queued, 2);
    assert_eq!(sink.received().len(), 2);

    // Newest kills older: only the latest code verifies.
    let (first, latest) = (received[0].code(), received[1].code());
    if first != latest {
        let stale = app
            .post_json("/email/verify", &json!({"email": ADA, "code": first}))
            .await;
        assert_problem(stale, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    let fresh = app
        .post_json("/email/verify", &json!({"email": ADA, "code": latest}))
        .await;
    assert_eq!(fresh.status(), StatusCode::OK);
}
