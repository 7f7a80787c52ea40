//! The per-email login throttle: growing delays, a bounded lock, the same treatment for
//! accounts and unknown emails, atomic under concurrency, shared through the store.

use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;

use super::helpers::{PASSWORD, TestApp, TestDatabase, assert_problem, spawn_app_with};
use super::server::Server;

/// Five failures lock the email for a minute (delays of 1 and 2 s after the 3rd and 4th).
async fn app() -> TestApp {
    spawn_app_with(|o| {
        o.login_max_failures = Some(5);
        o.login_lockout = Some(60);
    })
    .await
}

async fn refused(response: reqwest::Response, retry_after: u64) -> Value {
    assert_eq!(
        response.headers()["retry-after"].to_str().unwrap(),
        retry_after.to_string()
    );
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await
}

async fn failed(app: &TestApp, email: &str) {
    assert_problem(
        app.login(email, "not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

/// Fails logins for `email` until it is locked, waiting out each delay on the clock.
async fn lock(app: &TestApp, email: &str) -> Vec<Value> {
    let mut refusals = Vec::new();
    for _ in 0..3 {
        failed(app, email).await;
    }
    refusals.push(refused(app.login(email, "guess").await, 1).await);
    app.clock.advance(Duration::seconds(1));
    failed(app, email).await;
    refusals.push(refused(app.login(email, "guess").await, 2).await);
    app.clock.advance(Duration::seconds(2));
    failed(app, email).await;
    refusals.push(refused(app.login(email, "guess").await, 60).await);
    refusals
}

#[tokio::test]
async fn failures_slow_down_then_lock_the_account_even_for_the_right_password() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;

    lock(&app, "ada@example.com").await;
    app.clock.advance(Duration::seconds(59));
    refused(app.login("ada@example.com", PASSWORD).await, 1).await;

    // The lock ends by itself, and a success clears the count: the next failures are
    // free again.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    for _ in 0..3 {
        failed(&app, "ada@example.com").await;
    }
}

#[tokio::test]
async fn an_unknown_email_is_throttled_exactly_like_an_account() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;

    let account = lock(&app, "ada@example.com").await;
    let nobody = lock(&app, "nobody@example.com").await;
    assert_eq!(
        account, nobody,
        "a lock must not tell whether the account exists"
    );
}

#[tokio::test]
async fn each_email_has_its_own_count_and_case_does_not_escape_it() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;
    app.register("bob@example.com", PASSWORD).await;

    lock(&app, "ada@example.com").await;
    refused(app.login("ADA@Example.com", PASSWORD).await, 60).await;
    assert_eq!(
        app.login("bob@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_in_before_the_first_failure_counts() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;

    let guesses: Vec<String> = (0..20).map(|n| format!("guess {n}")).collect();
    let attempts = guesses.iter().map(|g| app.login("ada@example.com", g));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    // The clock stands still: three free failures, then the 1 s delay refuses the rest.
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (3, 17), "{statuses:?}");
}

#[tokio::test]
async fn a_day_without_failures_forgets_them() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;
    for _ in 0..3 {
        failed(&app, "ada@example.com").await;
    }
    app.clock.advance(Duration::hours(24));
    for _ in 0..3 {
        failed(&app, "ada@example.com").await;
    }
}

#[tokio::test]
async fn the_token_endpoint_shares_the_count_and_says_so_in_oauth_terms() {
    let app = app().await;
    app.register("ada@example.com", PASSWORD).await;
    lock(&app, "ada@example.com").await;

    let response = app
        .post_form(
            "/token",
            "grant_type=password&username=ada%40example.com&password=correct+horse+battery",
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "60");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["code"], "too_many_attempts");
}

#[tokio::test]
async fn a_restart_does_not_reset_the_count() {
    let db = TestDatabase::new().await;
    let limits = ["--login-max-failures", "3", "--login-lockout", "600"];
    let first = Server::start_with(&db.url, &limits);
    first.registered("ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            first
                .login("ada@example.com", "not the password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    first.stop();

    let second = Server::start_with(&db.url, &limits);
    let response = second.login("ada@example.com", PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    second.stop();
}

#[tokio::test]
async fn no_throttle_row_names_an_email() {
    let app = app().await;
    failed(&app, "nobody@example.com").await;
    let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key FROM login_failures")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].len(), 32, "a SHA-256 digest");
    assert!(!String::from_utf8_lossy(&keys[0]).contains("nobody"));
}

#[test]
fn more_than_100_failures_or_an_endless_lock_are_refused_as_settings() {
    use sesame::config::{Overrides, Settings};
    let too_many = Settings::resolve(Overrides {
        login_max_failures: Some(101),
        ..Overrides::default()
    });
    assert!(
        too_many
            .unwrap_err()
            .to_string()
            .contains("login_max_failures")
    );
    let endless = Settings::resolve(Overrides {
        login_lockout: Some(86_401),
        ..Overrides::default()
    });
    assert!(endless.unwrap_err().to_string().contains("login_lockout"));
}

#[tokio::test]
async fn a_stolen_access_token_is_no_way_around_the_throttle() {
    let app = app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let app = &app;
    let change = |current: &str| {
        let body = serde_json::json!({"current_password": current, "new_password": "a brand new passphrase"});
        async move {
            app.bearer_json(reqwest::Method::POST, "/me/password", access, &body)
                .await
        }
    };
    for _ in 0..3 {
        assert_problem(
            change("guess").await,
            StatusCode::FORBIDDEN,
            "wrong_password",
        )
        .await;
    }
    refused(change("guess").await, 1).await;
    // The same count as logins: the account is throttled there too.
    refused(app.login("ada@example.com", PASSWORD).await, 1).await;

    // The right password, once the delay is over, clears the count.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(change(PASSWORD).await.status(), StatusCode::NO_CONTENT);
    for _ in 0..3 {
        failed(app, "ada@example.com").await;
    }
}

#[tokio::test]
async fn a_lock_that_ran_out_is_not_renewed_by_one_more_guess() {
    let app = app().await;
    app.registered("ada@example.com").await;
    lock(&app, "ada@example.com").await;
    app.clock.advance(Duration::seconds(60));
    // One guess per lockout used to lock the account again for the whole minute, for
    // ever; now it leaves a short delay, after which the owner logs in.
    failed(&app, "ada@example.com").await;
    refused(app.login("ada@example.com", PASSWORD).await, 2).await;
    app.clock.advance(Duration::seconds(2));
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn login_from(app: &TestApp, address: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", address)
        .json(&serde_json::json!({"email": "ada@example.com", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failures_from_elsewhere_do_not_lock_the_owner_out_of_a_known_address() {
    let app = spawn_app_with(|o| {
        o.login_max_failures = Some(5);
        o.login_lockout = Some(60);
        o.trusted_proxies = Some(vec!["127.0.0.1".to_owned()]);
    })
    .await;
    app.registered("ada@example.com").await;
    let home = "198.51.100.7";
    assert_eq!(
        login_from(&app, home, PASSWORD).await.status(),
        StatusCode::OK
    );

    // Someone else locks the email from their own address.
    let attacker = "203.0.113.9";
    for wait in [0, 0, 0, 1, 2] {
        app.clock.advance(Duration::seconds(wait));
        let response = login_from(&app, attacker, "a guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, "203.0.113.10", PASSWORD).await;
    refused(locked, 60).await;

    // The owner, at home, is not locked out.
    assert_eq!(
        login_from(&app, home, PASSWORD).await.status(),
        StatusCode::OK
    );
}
