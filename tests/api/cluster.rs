//! Several `sesame serve` processes on one database: users, keys, sessions and reuse
//! detection are shared through the store, whichever backend it is.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::client::field;
use super::helpers::TestDatabase;
use super::server::any_pool;
use super::server::{BIN, Server};

fn start_pair(database: &str, extra: &'static [&'static str]) -> (Server, Server) {
    let a = {
        let database = database.to_owned();
        std::thread::spawn(move || Server::start_with(&database, extra))
    };
    let b = {
        let database = database.to_owned();
        std::thread::spawn(move || Server::start_with(&database, extra))
    };
    (a.join().unwrap(), b.join().unwrap())
}

#[tokio::test]
async fn two_instances_starting_together_share_one_signing_key() {
    let db = TestDatabase::new().await;

    // Both migrate and look for a key at the same moment on an empty store.
    let (a, b) = start_pair(&db.url, &[]);

    assert_eq!(a.jwks().await, b.jwks().await);
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM signing_keys")
        .fetch_one(&any_pool(&db.url).await)
        .await
        .unwrap();
    assert_eq!(keys, 1);
    a.stop();
    b.stop();
}

#[tokio::test]
async fn instances_share_users_tokens_and_reuse_detection() {
    let db = TestDatabase::new().await;
    let (a, b) = start_pair(&db.url, &["--refresh-reuse-grace", "0"]);

    a.registered("ada@example.com").await;
    let on_b = b.logged_in("ada@example.com").await;
    let on_a = a.logged_in("ada@example.com").await;
    assert_eq!(
        b.me(on_a["access_token"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        a.me(on_b["access_token"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );

    let rotated = a.refresh(field(&on_a, "refresh_token")).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    // The replay reaches the other instance: still detected, the session still ends.
    assert_eq!(
        b.refresh(field(&on_a, "refresh_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.refresh(field(&rotated, "refresh_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.me(rotated["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The other login is another session, untouched.
    assert_eq!(
        a.me(on_b["access_token"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );

    // Logout through B: at once on B; on A, which confirmed the session a moment ago,
    // within the session-check bound (--session-check-ms, 1 s by default).
    let token = on_b["access_token"].as_str().unwrap();
    let logout = b.bearer(Method::POST, "/logout", token).await;
    let ended = std::time::Instant::now();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(b.me(token).await.status(), StatusCode::UNAUTHORIZED);
    while a.me(token).await.status() == StatusCode::OK {
        assert!(
            ended.elapsed() < Duration::from_millis(1500),
            "A still accepts the token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        a.me(token).await.status(),
        StatusCode::UNAUTHORIZED,
        "and for good"
    );
    a.stop();
    b.stop();
}

#[test]
fn an_unreachable_database_at_start_is_a_clear_error() {
    for url in [
        "postgres://postgres@127.0.0.1:1/sesame",
        "sqlite:///nonexistent-directory/sesame.db",
        "mysql://localhost/sesame",
    ] {
        let started = std::time::Instant::now();
        let output = std::process::Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--database", url])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot open the store"), "{url}: {stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{url}"
        );
    }
}
