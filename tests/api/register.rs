use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn register_creates_a_user_and_points_at_me() {
    let app = spawn_app().await;

    let response = app.register("Ada@Example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/me");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], "Ada@Example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["mfa_enabled"], false);
    assert_eq!(user["roles"], json!([]));
    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    time::OffsetDateTime::parse(
        user["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
}

#[tokio::test]
async fn stored_password_is_an_argon2id_phc_string() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;

    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&app.db().await)
        .await
        .unwrap();

    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn the_same_email_in_another_case_is_taken() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;

    let response = app
        .register("ADA@example.COM", "another good passphrase")
        .await;

    assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn racing_registrations_of_one_email_give_one_account_and_409s() {
    let app = spawn_app().await;

    let attempts = (0..12).map(|i| {
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        app.register(email, PASSWORD)
    });
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();

    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 11), "{statuses:?}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn invalid_emails_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    for email in ["", "ada", "ada@", "Ada <ada@example.com>", "ada@localhost"] {
        let body = assert_problem(
            app.register(email, PASSWORD).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "email", "{email:?}");
    }
}

#[tokio::test]
async fn weak_passwords_are_refused_with_the_reason() {
    let app = spawn_app().await;
    for (password, reason) in [
        ("short", "at least 8 characters"),
        ("password123", "most commonly used"),
        ("QWERTYUIOP", "most commonly used"),
        ("ada@example.com", "email"),
    ] {
        let body = assert_problem(
            app.register("ada@example.com", password).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains(reason), "{body}");
        assert_eq!(body["errors"][0]["field"], "password");
    }
}

#[tokio::test]
async fn password_length_is_capped_at_1024_bytes_and_never_truncated() {
    let app = spawn_app().await;
    let longest = "a1".repeat(512);
    assert_eq!(longest.len(), 1024);

    assert_problem(
        app.register("long@example.com", &format!("{longest}x"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_too_long",
    )
    .await;
    assert_eq!(
        app.register("long@example.com", &longest).await.status(),
        StatusCode::CREATED
    );

    // bcrypt would have compared only the first 72 bytes; Sesame compares them all.
    let prefix_only = &longest[..1023];
    assert_eq!(
        app.login("long@example.com", prefix_only).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let last_byte_changed = format!("{}b", &longest[..1023]);
    assert_eq!(
        app.login("long@example.com", &last_byte_changed)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("long@example.com", &longest).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn passwords_are_compared_after_nfkc_normalization() {
    let app = spawn_app().await;
    // "é" precomposed at registration, then as "e" + combining accent at login.
    app.register("cafe@example.com", "caf\u{e9} au lait please")
        .await;

    let response = app
        .login("cafe@example.com", "cafe\u{301} au lait please")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Full-width letters are the same password under NFKC.
    let response = app
        .login("cafe@example.com", "ｃａｆ\u{e9} au lait please")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.login("cafe@example.com", "cafe au lait please")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_domain_typed_in_unicode_or_punycode_is_one_account() {
    let app = spawn_app().await;
    let created = app.register("ada@ру.com", PASSWORD).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_problem(
        app.register("ada@xn--p1ag.com", PASSWORD).await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
    assert_eq!(
        app.login("Ada@XN--P1AG.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.register("ada@exa_mple.com", PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
    )
    .await;
}
