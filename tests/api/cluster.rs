//! Several `sesame serve` processes on one database: users, keys, sessions and reuse
//! detection are shared through the store, whichever backend it is.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::client::field;
use super::helpers::TestDatabase;
use super::server::any_pool;
use super::server::{BIN, Server, sesame};

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

/// A user disabled through one instance is refused by another that had just confirmed
/// the session: on PostgreSQL at once, through a notice sent at commit, however long
/// the session-check window (here a minute); on SQLite, whose processes cannot notify
/// each other, within the window (the default second).
#[tokio::test]
async fn a_user_disabled_on_one_instance_is_refused_by_the_other_at_once() {
    let db = TestDatabase::new().await;
    let postgres = db.url.starts_with("postgres");
    let window: &'static [&'static str] = if postgres {
        &["--session-check-ms", "60000"]
    } else {
        &[]
    };
    let (a, b) = start_pair(&db.url, window);
    a.registered("root@example.com").await;
    let args = ["user", "role", "add", "root@example.com", "admin"];
    let database = ["--database", &db.url, "--allow-insecure-permissions"];
    let made = sesame(&[&args[..], &database[..]].concat(), None);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let root = a.logged_in("root@example.com").await;
    let ada = a.signed_up("ada@example.com").await;
    let access = field(&ada, "access_token");
    let me: Value = b.me(access).await.json().await.unwrap();
    let path = format!("/admin/users/{}", me["id"].as_str().unwrap());

    let body = serde_json::json!({"disabled": true});
    let disabled = a
        .bearer_json(Method::PATCH, &path, field(&root, "access_token"), &body)
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let bound = Duration::from_millis(if postgres { 500 } else { 1_500 });
    let started = std::time::Instant::now();
    while b.me(access).await.status() != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < bound,
            "still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop();
    b.stop();
}

/// A change to a user shows on every instance's `/me` for the sessions it had just
/// confirmed: on the instance that made it at once, on another through the notice at
/// commit (PostgreSQL), or within the session-check window (SQLite).
#[tokio::test]
async fn a_role_given_on_one_instance_shows_on_both_at_once() {
    let db = TestDatabase::new().await;
    let postgres = db.url.starts_with("postgres");
    let window: &'static [&'static str] = if postgres {
        &["--session-check-ms", "60000"]
    } else {
        &[]
    };
    let (a, b) = start_pair(&db.url, window);
    a.registered("root@example.com").await;
    let args = ["user", "role", "add", "root@example.com", "admin"];
    let database = ["--database", &db.url, "--allow-insecure-permissions"];
    assert!(
        sesame(&[&args[..], &database[..]].concat(), None)
            .status
            .success()
    );
    let root = a.logged_in("root@example.com").await;
    let ada = a.signed_up("ada@example.com").await;
    let access = field(&ada, "access_token");
    // Both instances confirm the session, and cache it.
    let me: Value = a.me(access).await.json().await.unwrap();
    assert_eq!(me["roles"], serde_json::json!([]));
    assert_eq!(b.me(access).await.status(), StatusCode::OK);

    let path = format!("/admin/users/{}", me["id"].as_str().unwrap());
    let body = serde_json::json!({"roles": ["support"]});
    let given = a
        .bearer_json(Method::PATCH, &path, field(&root, "access_token"), &body)
        .await;
    assert_eq!(given.status(), StatusCode::OK);
    let roles = async |server: &Server| -> Value {
        let me: Value = server.me(access).await.json().await.unwrap();
        me["roles"].clone()
    };
    assert_eq!(roles(&a).await, serde_json::json!(["support"]));
    let bound = Duration::from_millis(if postgres { 500 } else { 1_500 });
    let started = std::time::Instant::now();
    while roles(&b).await != serde_json::json!(["support"]) {
        assert!(
            started.elapsed() < bound,
            "still the old roles after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop();
    b.stop();
}

/// A refresh token replayed through one instance ends its session there, and the
/// other instance, which had just confirmed the session, refuses it too: at once on
/// PostgreSQL (the end is announced), within the session-check window on SQLite.
#[tokio::test]
async fn reuse_detected_on_one_instance_is_refused_by_the_other_at_once() {
    let db = TestDatabase::new().await;
    let postgres = db.url.starts_with("postgres");
    let extra: &'static [&'static str] = if postgres {
        &["--refresh-reuse-grace", "0", "--session-check-ms", "60000"]
    } else {
        &["--refresh-reuse-grace", "0"]
    };
    let (a, b) = start_pair(&db.url, extra);
    let first = a.signed_up("ada@example.com").await;
    let rotated = a.refreshed(field(&first, "refresh_token")).await;
    let access = field(&rotated, "access_token");
    assert_eq!(a.me(access).await.status(), StatusCode::OK);

    let replay = b.refresh(field(&first, "refresh_token")).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let bound = Duration::from_millis(if postgres { 500 } else { 1_500 });
    let started = std::time::Instant::now();
    while a.me(access).await.status() != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < bound,
            "still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop();
    b.stop();
}
