//! Emailed secrets over a real SMTP server: verification, password reset, sign-in
//! codes and email change, and the properties every emailed secret keeps (single
//! use under concurrency, an attempt cap, GETs that consume nothing, no secret left
//! in the store).

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::client::field;
use super::helpers::{PASSWORD, assert_problem, spawn_app_with};
use super::mail::{SmtpSink, spawn_app_with_mail};

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Mail scanners' and link previewers' user agents: each opens links it finds.
const SCANNERS: [&str; 4] = [
    "Mozilla/5.0 (compatible; Microsoft Outlook SafeLinks)",
    "Mimecast-URL-Protect/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; ProofpointURLDefense)",
];

async fn email_verified(app: &super::helpers::TestApp, token: &str) -> bool {
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
    app.clock.advance(time::Duration::seconds(2)); // past the session check's cache
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
    let forged = app
        .client
        .post(app.url("/ui/verify-email"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", mail.token())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The button: a same-origin POST of the form.
    let pressed = app
        .client
        .post(app.url("/ui/verify-email"))
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", mail.token())])
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::OK);
    assert!(pressed.text().await.unwrap().contains("is verified"));
    app.clock.advance(time::Duration::seconds(2));
    assert!(email_verified(&app, field(&tokens, "access_token")).await);
}

/// Opens `path` 20 times with GET and 20 with HEAD, as scanners and previewers do.
async fn scan(app: &super::helpers::TestApp, path: &str) {
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
    let mails = sink.wait_for(4).await;
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
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    let code = sink.nth(1).await.code();

    let body = json!({"email": ADA, "code": code});
    let uses = (0..20).map(|_| app.post_json("/email/verify", &body));
    let statuses: Vec<StatusCode> = join_all(uses)
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();

    let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(succeeded, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn after_five_wrong_codes_even_the_right_one_fails() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    let code = sink.nth(1).await.code();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

    for _ in 0..5 {
        let response = app
            .post_json("/email/verify", &json!({"email": ADA, "code": wrong}))
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    let right = app
        .post_json("/email/verify", &json!({"email": ADA, "code": code}))
        .await;
    assert_problem(right, StatusCode::BAD_REQUEST, "invalid_code").await;
}

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
    tokio::time::sleep(Duration::from_millis(300)).await;
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

    let pressed = app
        .client
        .post(app.url("/ui/sign-in"))
        .header("origin", app.address.as_str())
        .form(&[("token", mail.token())])
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
    let taken = change("Bob@example.com", PASSWORD).await;
    assert_problem(taken, StatusCode::CONFLICT, "email_taken").await;
    let accepted = change("ada@example.org", PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);

    let mail = sink.nth(3).await;
    assert_eq!(mail.to, ["ada@example.org"]);
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

    let notice = sink.nth(4).await;
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

    let unverified = app.login(ADA, PASSWORD).await;
    assert_problem(unverified, StatusCode::FORBIDDEN, "email_not_verified").await;
    let wrong = app.login(ADA, "not the password").await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let verified = app
        .post_json(
            "/email/verify",
            &json!({"email": ADA, "code": mails[0].code()}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(app.login(ADA, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_relay_that_refuses_for_a_while_gets_the_message_later() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    sink.refuse(true);
    app.registered(ADA).await;

    // The first attempt is refused with a 451 and recorded for a retry.
    let db = app.db().await;
    let start = std::time::Instant::now();
    loop {
        let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox")
            .fetch_one(&db)
            .await
            .unwrap();
        if attempts > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no delivery attempt"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.received().is_empty());

    assert!(metric(&app, "sesame_mail_retries_total").await >= 1.0);
    assert_eq!(metric(&app, "sesame_mail_sent_total").await, 0.0);

    sink.refuse(false);
    app.clock.advance(time::Duration::seconds(31));
    let mail = sink.nth(1).await;
    assert_eq!(mail.subject, "Verify your email address");
    let start = std::time::Instant::now();
    while metric(&app, "sesame_mail_sent_total").await < 1.0 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the delivery was not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&app, "sesame_mail_failed_total").await, 0.0);
    let verified = app
        .post_json("/email/verify", &json!({"email": ADA, "code": mail.code()}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
}

#[tokio::test]
async fn mail_queued_before_a_restart_is_delivered_after_it() {
    // The first instance queues the message but cannot reach its relay (nothing
    // listens there), then stops.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let first =
        spawn_app_with(|o| o.smtp_url = Some(format!("smtp://127.0.0.1:{closed_port}"))).await;
    first.registered(ADA).await;
    let db = first.db().await;
    let start = std::time::Instant::now();
    while sqlx::query_scalar::<_, i32>("SELECT attempts FROM outbox")
        .fetch_one(&db)
        .await
        .unwrap()
        == 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no delivery attempt"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let database_url = first.database_url.clone();
    let stopped = first.stop().await;

    // A new instance on the same store, with a relay that answers.
    let sink = SmtpSink::start();
    let second = super::helpers::spawn_app_on(stopped, |o| o.smtp_url = Some(sink.url())).await;
    assert_eq!(second.database_url, database_url);
    second.clock.advance(time::Duration::seconds(31));
    let mail = sink.nth(1).await;
    assert_eq!(mail.to, [ADA]);
    let verified = second
        .post_json("/email/verify", &json!({"email": ADA, "code": mail.code()}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
}

#[tokio::test]
async fn once_delivered_no_code_link_or_body_remains_in_the_store() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered(ADA).await;
    let mail = sink.nth(1).await;
    let db = app.db().await;
    // The delivery is recorded just after the relay accepts the message.
    let start = std::time::Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE body_text IS NOT NULL OR recipient IS NOT NULL",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the body was not erased"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secrets = [
        mail.token(),
        format!("Code: {}", mail.code()),
        "Confirm that this address is yours".to_owned(),
    ];

    // Every column of every row, as text: the code row holds only keyed hashes.
    let rows: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT token_hash, code_hash FROM one_time_codes")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    for (token_hash, code_hash) in &rows {
        for secret in &secrets {
            assert!(!contains(token_hash, secret.as_bytes()));
            assert!(!contains(code_hash, secret.as_bytes()));
        }
        assert!(!contains(code_hash, mail.code().as_bytes()));
    }
    db.close().await;

    // On SQLite, the files themselves after a checkpoint (the server runs one after
    // each delivery, which this test's own reads may have held back): secure_delete
    // zeroed the erased body in the pages, and a checkpoint empties the write-ahead
    // log that still held it.
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        for secret in &secrets {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret:?} is in the file"
            );
        }
    }
}

/// The value of an unlabelled series in `/metrics` (0 when it is not there yet).
async fn metric(app: &super::helpers::TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
