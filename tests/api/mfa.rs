//! Second factors over HTTP: TOTP enrollment and login, replay, recovery codes, the
//! `mfa_token`'s limits, `amr`/`auth_time`, step-up removal and the admin's removal.
//! TOTP codes come from an independent RFC 6238 implementation (RustCrypto's HMAC-SHA1
//! here), never from Sesame's own code path.

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;

use super::helpers::{PASSWORD, TestApp, assert_problem, claims, spawn_app};
use super::mail::spawn_app_with_mail;

const ADA: &str = "ada@example.com";

/// RFC 6238 with SHA-1, 6 digits, 30-second steps, for the base32 `secret` at `unix`.
fn totp(secret: &str, unix: i64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let counter = u64::try_from(unix / 30).unwrap();
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).unwrap();
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// The app's code now.
pub(super) fn code_now(app: &TestApp, secret: &str) -> String {
    totp(secret, app.clock.now_unix())
}

/// Moves the clock to the next 30-second step, so a new code is due.
pub(super) fn next_step(app: &TestApp) {
    app.clock.advance(time::Duration::seconds(30));
}

/// Registers `email`, sets up TOTP and confirms it: the secret, the access token of the
/// session that did it, and the recovery codes.
pub(super) async fn enrolled(app: &TestApp, email: &str) -> (String, String, Vec<String>) {
    let access = app.verified_up(email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let begun = app
        .bearer_json(
            Method::POST,
            "/me/mfa/totp",
            &access,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(begun.status(), StatusCode::OK);
    let begun: Value = begun.json().await.unwrap();
    let secret = begun["secret"].as_str().unwrap().to_owned();
    let code = code_now(app, &secret);
    let confirmed = app
        .bearer_json(
            Method::POST,
            "/me/mfa/totp/confirm",
            &access,
            &json!({"code": code}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    let codes = confirmed["recovery_codes"].as_array().unwrap();
    let codes = codes
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, access, codes)
}

/// A password login of a user with a factor: its `mfa_token`.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let refused = app.login(email, PASSWORD).await;
    // The answer carries a secret: no cache may keep it.
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let body = assert_problem(refused, StatusCode::FORBIDDEN, "mfa_required").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    body["mfa_token"].as_str().unwrap().to_owned()
}

/// Asserts that no stored audit event holds any of `secrets`.
async fn assert_no_event_holds(app: &TestApp, secrets: &[String]) {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT details FROM audit_events")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert!(rows.len() > 3);
    for (details,) in rows {
        for secret in secrets {
            assert!(
                !details.contains(secret.as_str()),
                "{details} holds a secret"
            );
        }
    }
}

pub(super) async fn finish(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/login/mfa", &body).await
}

#[tokio::test]
async fn totp_is_set_up_with_a_code_and_then_asked_for_at_every_password_login() {
    let app = spawn_app().await;
    let first = app.verified_up(ADA).await;
    let first = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&first)["amr"], json!(["pwd"]));
    assert_eq!(claims(&first)["auth_time"], app.clock.now_unix());
    let access = app.logged_in(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let wrong = json!({"password": "not the password"});
    let refused = app
        .bearer_json(Method::POST, "/me/mfa/totp", &access, &wrong)
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN, "wrong_password").await;
    let begun = app
        .bearer_json(
            Method::POST,
            "/me/mfa/totp",
            &access,
            &json!({"password": PASSWORD}),
        )
        .await;
    let begun: Value = begun.json().await.unwrap();
    let secret = begun["secret"].as_str().unwrap();
    let uri = begun["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(secret),
        "{uri}"
    );
    assert!(begun["qr_svg"].as_str().unwrap().contains("<svg"));
    // Pending: nothing changes until a code confirms it.
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
    assert!(app.login(ADA, PASSWORD).await.status().is_success());

    let confirm = |code: String| json!({"code": code});
    let wrong_code = confirm(totp(secret, app.clock.now_unix() + 300));
    let refused = app
        .bearer_json(Method::POST, "/me/mfa/totp/confirm", &access, &wrong_code)
        .await;
    assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_code").await;
    let code = code_now(&app, secret);
    let confirmed = app
        .bearer_json(
            Method::POST,
            "/me/mfa/totp/confirm",
            &access,
            &confirm(code.clone()),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["recovery_codes"].as_array().unwrap().len(), 10);
    // This session goes on; the other ended; the user now has a second factor.
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
    assert_eq!(app.me(&first).await.status(), StatusCode::UNAUTHORIZED);
    let again = app
        .bearer_json(
            Method::POST,
            "/me/mfa/totp",
            &access,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "already_enrolled").await;

    // The code that confirmed the factor is spent: no replay within its step.
    let token = mfa_token(&app, ADA).await;
    let replay = finish(&app, json!({"mfa_token": token, "code": code})).await;
    assert_problem(replay, StatusCode::BAD_REQUEST, "invalid_code").await;
    next_step(&app);
    let code = code_now(&app, secret);
    let done = finish(&app, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(done.status(), StatusCode::OK);
    let tokens: Value = done.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let login_time = app.clock.now_unix();
    assert_eq!(claims(access)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims(access)["auth_time"], login_time);
    // The ticket is used up, and the code cannot serve another login either.
    let reused = finish(&app, json!({"mfa_token": token, "code": code})).await;
    assert_problem(reused, StatusCode::UNAUTHORIZED, "invalid_mfa_token").await;
    let other = mfa_token(&app, ADA).await;
    let replay = finish(&app, json!({"mfa_token": other, "code": code})).await;
    assert_problem(replay, StatusCode::BAD_REQUEST, "invalid_code").await;

    // A refresh says how the session was opened, and when.
    app.clock.advance(time::Duration::minutes(20));
    let refreshed = app
        .refreshed(tokens["refresh_token"].as_str().unwrap())
        .await;
    let refreshed = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(refreshed["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(refreshed["auth_time"], login_time);

    // /token answers in RFC 6749's shape.
    let form = format!("grant_type=password&username={ADA}&password={PASSWORD}");
    let refused = app.post_form("/token", &form).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required");
    assert!(body["mfa_token"].as_str().unwrap().len() >= 43);
}

#[tokio::test]
async fn an_mfa_token_dies_after_five_wrong_answers_or_five_minutes() {
    let app = spawn_app().await;
    let (secret, _, _) = enrolled(&app, ADA).await;
    next_step(&app);
    let token = mfa_token(&app, ADA).await;
    for _ in 0..5 {
        let wrong = finish(&app, json!({"mfa_token": token, "code": "000000"})).await;
        assert_problem(wrong, StatusCode::BAD_REQUEST, "invalid_code").await;
        // Past the throttle's delay after each wrong answer (at most 4 s here).
        app.clock.advance(time::Duration::seconds(10));
    }
    let right = json!({"mfa_token": token, "code": code_now(&app, &secret)});
    let dead = finish(&app, right).await;
    assert_problem(dead, StatusCode::UNAUTHORIZED, "invalid_mfa_token").await;

    let token = mfa_token(&app, ADA).await;
    app.clock.advance(time::Duration::seconds(301));
    let right = json!({"mfa_token": token, "code": code_now(&app, &secret)});
    let expired = finish(&app, right).await;
    assert_problem(expired, StatusCode::UNAUTHORIZED, "invalid_mfa_token").await;
    let both = json!({"mfa_token": token, "code": "123456", "recovery_code": "x"});
    assert_problem(
        finish(&app, both).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    let unknown = json!({"mfa_token": "nope", "code": "123456"});
    assert_problem(
        finish(&app, unknown).await,
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
    )
    .await;
}

#[tokio::test]
async fn wrong_second_factor_answers_count_against_the_login_throttle() {
    let app = spawn_app().await;
    enrolled(&app, ADA).await;
    // The throttle locks after 10 failures (a right password waiting for its second
    // factor counts as one until the factor is in).
    let mut locked = false;
    for _ in 0..4 {
        let token = mfa_token(&app, ADA).await;
        for _ in 0..5 {
            let answer = finish(&app, json!({"mfa_token": token, "code": "000000"})).await;
            if answer.status() == StatusCode::TOO_MANY_REQUESTS {
                locked = true;
            }
        }
        if locked {
            break;
        }
    }
    assert!(locked, "wrong codes never locked the account");
    let login = app.login(ADA, PASSWORD).await;
    assert_problem(login, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn a_recovery_code_works_once_even_when_ten_race_for_it() {
    let app = spawn_app().await;
    let (secret, access, codes) = enrolled(&app, ADA).await;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(mfa_token(&app, ADA).await);
    }
    let code = codes[0].to_uppercase().replace('-', " ");
    let answers = futures::future::join_all(
        tokens
            .iter()
            .map(|token| finish(&app, json!({"mfa_token": token, "recovery_code": code}))),
    )
    .await;
    // Every answer claims a place on the account's throttle first: the first three
    // claims are free, so at least three race to the code itself, and exactly one wins.
    let statuses: Vec<_> = answers.iter().map(reqwest::Response::status).collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(count(StatusCode::OK), 1, "{statuses:?}");
    assert!(count(StatusCode::BAD_REQUEST) >= 2, "{statuses:?}");
    assert_eq!(
        count(StatusCode::OK)
            + count(StatusCode::BAD_REQUEST)
            + count(StatusCode::TOO_MANY_REQUESTS),
        10,
        "{statuses:?}"
    );
    let winner = answers
        .into_iter()
        .find(|a| a.status() == StatusCode::OK)
        .unwrap();
    let won: Value = winner.json().await.unwrap();
    assert_eq!(
        claims(won["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // The use is recorded and mailed.
    let db = app.db().await;
    let (mails,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM outbox WHERE kind = 'recovery_code_used'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(mails, 1);
    let (events,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM audit_events WHERE type = 'mfa.recovery_code_used'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(events, 1);

    // A new set for a current code: the old set dies, the new works.
    next_step(&app);
    let body = json!({"code": code_now(&app, &secret)});
    let renewed = app
        .bearer_json(Method::POST, "/me/mfa/recovery-codes", &access, &body)
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed: Value = renewed.json().await.unwrap();
    let fresh = renewed["recovery_codes"][0].as_str().unwrap();
    let token = mfa_token(&app, ADA).await;
    let old = finish(&app, json!({"mfa_token": token, "recovery_code": codes[1]})).await;
    assert_problem(old, StatusCode::BAD_REQUEST, "invalid_code").await;
    let new = finish(&app, json!({"mfa_token": token, "recovery_code": fresh})).await;
    assert_eq!(new.status(), StatusCode::OK);

    let mut secrets = codes.clone();
    secrets.push(secret.clone());
    secrets.push(fresh.to_owned());
    secrets.extend(tokens.iter().cloned());
    secrets.push(token);
    assert_no_event_holds(&app, &secrets).await;
}

#[tokio::test]
async fn removing_totp_takes_the_password_and_a_current_code() {
    let app = spawn_app().await;
    let (secret, access, _) = enrolled(&app, ADA).await;
    next_step(&app);
    let code = code_now(&app, &secret);
    let wrong = json!({"password": "not the password", "code": code});
    let refused = app
        .bearer_json(Method::DELETE, "/me/mfa/totp", &access, &wrong)
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN, "wrong_password").await;
    let bad_code = json!({"password": PASSWORD, "code": "000000"});
    let refused = app
        .bearer_json(Method::DELETE, "/me/mfa/totp", &access, &bad_code)
        .await;
    assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_code").await;
    let right = json!({"password": PASSWORD, "code": code});
    let removed = app
        .bearer_json(Method::DELETE, "/me/mfa/totp", &access, &right)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let tokens = app.logged_in(ADA).await;
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
}

#[tokio::test]
async fn the_database_holds_the_totp_secret_only_sealed() {
    let app = spawn_app().await;
    let (secret, _, codes) = enrolled(&app, ADA).await;
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let db = app.db().await;
    let (sealed,): (Vec<u8>,) = sqlx::query_as("SELECT secret_sealed FROM totp_factors")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT code_hash FROM recovery_codes")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for (hash,) in stored {
        assert!(
            codes
                .iter()
                .all(|code| !hash.windows(4).any(|w| w == &code.as_bytes()[..4]))
        );
    }
}

#[tokio::test]
async fn an_admin_removes_every_factor_and_the_user_is_told() {
    let app = spawn_app().await;
    enrolled(&app, ADA).await;
    let key = super::admin::api_key(&app, "support");
    let user: Value = app
        .bearer(Method::GET, "/admin/users?q=ada@", &key)
        .await
        .json()
        .await
        .unwrap();
    let id = user["users"][0]["id"].as_str().unwrap();
    assert_eq!(user["users"][0]["mfa_enabled"], true);
    let removed = app
        .bearer(Method::DELETE, &format!("/admin/users/{id}/mfa"), &key)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let tokens = app.logged_in(ADA).await;
    assert!(tokens["access_token"].is_string());
    let db = app.db().await;
    let (mails,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM outbox WHERE kind = 'factors_removed'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(mails, 1);
}

#[tokio::test]
async fn an_emailed_sign_in_code_still_asks_for_the_second_factor() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let (secret, _, _) = enrolled(&app, ADA).await;
    app.post_json("/login/code/send", &json!({"email": ADA}))
        .await;
    // The verification, the notice of the app set up, the code.
    let mails = sink.wait_for(3).await;
    let mail = mails
        .iter()
        .find(|mail| mail.subject == "Your sign-in code")
        .unwrap_or_else(|| panic!("no sign-in code in {mails:?}"));
    let body = json!({"email": ADA, "code": mail.code()});
    let refused = app.post_json("/login/code", &body).await;
    let refused = assert_problem(refused, StatusCode::FORBIDDEN, "mfa_required").await;
    let token = refused["mfa_token"].as_str().unwrap();
    next_step(&app);
    let code = code_now(&app, &secret);
    let done = finish(&app, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(done.status(), StatusCode::OK);
    let tokens: Value = done.json().await.unwrap();
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["otp", "mfa"])
    );
}
