use std::io::Write;

use argon2::password_hash::PasswordHasher;
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};
use super::server::{CHEAP_HASH, sesame};

/// Made by the seed's own stack (passlib 1.7.4 with bcrypt 4.0.1) for "seed user password".
const PASSLIB_2B_COST12: &str = "$2b$12$4onKSiHYbS0ET6GrdCHi6elVj8YAKNdsPRdSKXuGQ.dbWtN6eRo02";
const PASSLIB_2Y_COST4: &str = "$2y$04$jZclMlqk1uVCZx8CdGOK4OiSWJq9Q54odi.iMEBb2wtRvrhbR9OM2";
const PASSLIB_2A_COST4: &str = "$2a$04$g1oEwtp6363mqCEBK.D/.O58wFdgBMNoK8KlVitR1Wo80qf/UDsr2";
/// passlib's hash of an 80-byte password: bcrypt kept only its first 72 bytes.
const PASSLIB_TRUNCATED_80: &str = "$2b$04$6K95WHECax06ZsQ4W9PvT.T6VB3wjwowkU0nQJqCNCCMZZjjwFvle";
const SEED_PASSWORD: &str = "seed user password";

/// Imports `(email, hash)` pairs with the real `sesame user import` command.
pub fn import_users(app: &TestApp, users: &[(&str, &str)]) -> std::process::Output {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for (email, hash) in users {
        let line = serde_json::json!({"email": email, "password_hash": hash});
        writeln!(file, "{line}").unwrap();
    }
    let path = file.path().to_str().unwrap();
    let mut args = vec!["user", "import", path, "--database", &app.database_url];
    args.extend(CHEAP_HASH);
    sesame(&args, None)
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE email_normalized = $1")
        .bind(email)
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn login_returns_an_rfc6749_token_pair() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;

    let response = app.login("ADA@example.com", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 30 * 24 * 3600);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.len(), 43, "256 bits in unpadded base64url");
    assert!(
        refresh
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_sha256() {
    let app = spawn_app().await;
    let tokens = app.signed_up("ada@example.com").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_one(&app.db().await)
        .await
        .unwrap();

    let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, refresh.as_bytes());
    assert_eq!(stored, expected.as_ref());
}

#[tokio::test]
async fn unknown_email_and_wrong_password_are_indistinguishable() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;

    let wrong_password = app.login("ada@example.com", "not the password").await;
    let unknown_email = app.login("bob@example.com", "not the password").await;
    let not_an_email = app.login("bob", "not the password").await;

    let a = assert_problem(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let b = assert_problem(
        unknown_email,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let c = assert_problem(
        not_an_email,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(a, b);
    assert_eq!(b, c);
}

#[tokio::test]
async fn a_disabled_account_is_told_only_to_whoever_knows_the_password() {
    let app = spawn_app().await;
    app.register("ada@example.com", PASSWORD).await;
    sqlx::query("UPDATE users SET disabled = TRUE")
        .execute(&app.db().await)
        .await
        .unwrap();

    assert_problem(
        app.login("ada@example.com", "not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_problem(
        app.login("ada@example.com", PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    )
    .await;
}

#[tokio::test]
async fn passlib_bcrypt_users_log_in_and_are_upgraded_to_argon2id() {
    let app = spawn_app().await;
    let output = import_users(
        &app,
        &[
            ("seed@example.com", PASSLIB_2B_COST12),
            ("y@example.com", PASSLIB_2Y_COST4),
            ("a@example.com", PASSLIB_2A_COST4),
        ],
    );
    assert!(output.status.success(), "{output:?}");

    for email in ["seed@example.com", "y@example.com", "a@example.com"] {
        assert_eq!(
            app.login(email, "seed user passwor").await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert!(stored_hash(&app, email).await.starts_with("$2"));

        assert_eq!(
            app.login(email, SEED_PASSWORD).await.status(),
            StatusCode::OK
        );

        let upgraded = stored_hash(&app, email).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{upgraded}"
        );
        assert_eq!(
            app.login(email, SEED_PASSWORD).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            stored_hash(&app, email).await,
            upgraded,
            "rehashed only once"
        );
    }
}

#[tokio::test]
async fn bcrypt_hashes_are_never_matched_on_a_72_byte_prefix() {
    let app = spawn_app().await;
    assert!(
        import_users(&app, &[("long@example.com", PASSLIB_TRUNCATED_80)])
            .status
            .success()
    );
    let prefix = "x".repeat(72);

    // passlib would accept both; Sesame compares the whole password or nothing.
    for password in [format!("{prefix}12345678"), format!("{prefix}anything")] {
        assert_eq!(
            app.login("long@example.com", &password).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn argon2_hashes_with_other_parameters_are_upgraded_on_login() {
    let app = spawn_app().await;
    let params = argon2::Params::new(128, 2, 1, None).unwrap();
    let old = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    assert!(
        import_users(&app, &[("old@example.com", &old)])
            .status
            .success()
    );

    assert_eq!(
        app.login("old@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    let upgraded = stored_hash(&app, "old@example.com").await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{upgraded}"
    );
}
