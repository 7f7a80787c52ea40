//! Regression tests for the findings of the outside security review: each one failed on
//! the code before its fix.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::client::field;
use super::helpers::{
    PASSWORD, TestApp, TestDatabase, assert_problem, spawn_app, spawn_app_with, write_with_mode,
};
use super::login::import_users;
use super::server::{Server, sesame};
use sesame::config::{Overrides, Settings};

/// A method name no standard has, 10 KB long, different each time.
fn invented_method(i: usize) -> Method {
    Method::from_bytes(format!("X{}{i}", "M".repeat(10_000)).as_bytes()).unwrap()
}

#[tokio::test]
async fn invented_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    for i in 0..30 {
        let url = app.url(&format!("/nowhere/{i}"));
        app.client
            .request(invented_method(i), url)
            .send()
            .await
            .unwrap();
    }
    let text = app.metrics.get("/metrics").await.text().await.unwrap();
    assert!(text.len() < 32 * 1024, "a scrape of {} bytes", text.len());
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(!text.contains("MMMM") && !text.contains("/nowhere"));
}

#[tokio::test]
async fn the_access_log_never_writes_an_unbounded_method_or_path() {
    let db = TestDatabase::new().await;
    let server = Server::start(&db.url);
    let path = format!("/{}", "p".repeat(10_000));
    let response = server
        .client
        .request(invented_method(1), server.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, logs) = server.stop();
    let access: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("sesame::access"))
        .collect();
    assert!(!access.is_empty(), "no access line in {logs:?}");
    for line in logs {
        assert!(line.len() < 2_048, "a log line of {} bytes", line.len());
        assert!(!line.contains("MMMM"), "{line}");
    }
}

/// An Argon2id hash of `password` that takes a good while to check (imported hashes
/// are checked with their own parameters).
fn slow_hash(password: &str) -> String {
    use argon2::password_hash::PasswordHasher;
    let params = argon2::Params::new(32 * 1024, 16, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_login_that_verified_a_password_changed_meanwhile_opens_no_session() {
    let app = spawn_app().await;
    let email = "ada@example.com";
    let output = import_users(&app, &[(email, &slow_hash(PASSWORD))]);
    assert!(output.status.success());
    let db = app.db().await;
    let changed = slow_hash("a brand new passphrase");

    let started = std::time::Instant::now();
    let login = async {
        let response = app.login(email, PASSWORD).await;
        (response, std::time::Instant::now())
    };
    let change = async {
        // The login claims its throttle attempt (a row) right before it reads the
        // hash: once the row is there, the read is done or a moment away, and the
        // check of the old hash (a second or so) is under way. Then the change commits.
        loop {
            let claimed: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
                .fetch_one(&db)
                .await
                .unwrap();
            if claimed > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE email_normalized = $2")
            .bind(&changed)
            .bind(email)
            .execute(&db)
            .await
            .unwrap();
        std::time::Instant::now()
    };
    let ((response, answered), changed_at) = tokio::join!(login, change);
    let took = started.elapsed();
    // The change landed while the login was still checking, or this proves nothing.
    assert!(
        changed_at < answered,
        "the change came after the login ({took:?})"
    );
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "the login took {took:?}");
    // Positive control: the new password works.
    let response = app.login(email, "a brand new passphrase").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_confirmations_draw_from_the_address_bucket() {
    let app = spawn_app_with(|o| o.ip_rate_limit = Some(4)).await;
    let tokens = app.signed_up("ada@example.com").await;
    let access = field(&tokens, "access_token");
    // register and login took two of the four.
    let change = json!({"current_password": "wrong guess", "new_password": "a new passphrase"});
    let wrong = app
        .bearer_json(Method::POST, "/me/password", access, &change)
        .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    let wrong = app
        .bearer_json(
            Method::DELETE,
            "/me",
            access,
            &json!({"password": "wrong guess"}),
        )
        .await;
    assert_problem(wrong, StatusCode::FORBIDDEN, "wrong_password").await;
    // The bucket is empty: both doors now answer 429 before any hash.
    let limited = app
        .bearer_json(Method::POST, "/me/password", access, &change)
        .await;
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let limited = app
        .bearer_json(
            Method::DELETE,
            "/me",
            access,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn login_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": "ada@example.com", "password": "not the password"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_ipv6_client_is_counted_by_its_64() {
    let app = spawn_app_with(|o| {
        o.ip_rate_limit = Some(2);
        o.trusted_proxies = Some(vec!["127.0.0.1".to_owned()]);
    })
    .await;
    assert_eq!(
        login_from(&app, "2001:db8:0:7::1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, "2001:db8:0:7::2").await,
        StatusCode::UNAUTHORIZED
    );
    // A third address of the same /64 is the same client, with an empty bucket.
    assert_eq!(
        login_from(&app, "2001:db8:0:7:ffff::3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The next /64 is another client.
    assert_eq!(
        login_from(&app, "2001:db8:0:8::1").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_gets_the_same_token_and_never_forks_the_session() {
    let app = spawn_app().await;
    let first = app.signed_up("ada@example.com").await;
    let token = field(&first, "refresh_token");

    let responses = join_all((0..20).map(|_| app.refresh(token))).await;
    let mut children = std::collections::BTreeSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        let pair: serde_json::Value = response.json().await.unwrap();
        children.insert(field(&pair, "refresh_token").to_owned());
    }
    assert_eq!(children.len(), 1, "every replay got the first use's token");
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL AND parent_hash IS NOT NULL",
    )
    .fetch_one(&app.db().await)
    .await
    .unwrap();
    assert_eq!(live, 1, "one live refresh token in the session");

    // The replayer holds the same token as the user: after the user rotates it, the
    // replayer's use of it is reuse, and ends the session instead of branching it.
    let child = children.into_iter().next().unwrap();
    let users_next = app.refreshed(&child).await;
    app.clock.advance(time::Duration::seconds(11));
    app.assert_refresh_refused(&child).await;
    app.assert_refresh_refused(field(&users_next, "refresh_token"))
        .await;
}

#[test]
fn every_duration_and_count_is_bounded_at_start() {
    let huge = 1_000_000_000_000u64;
    let cases = [
        (
            "access_token_ttl",
            Overrides {
                access_token_ttl: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "session_lifetime",
            Overrides {
                session_lifetime: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "refresh_token_ttl",
            Overrides {
                refresh_token_ttl: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "session_idle_timeout",
            Overrides {
                session_idle_timeout: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "refresh_reuse_grace",
            Overrides {
                refresh_reuse_grace: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "session_check_ms",
            Overrides {
                session_check_ms: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "request_timeout",
            Overrides {
                request_timeout: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "hash_max_wait_ms",
            Overrides {
                hash_max_wait_ms: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "login_lockout",
            Overrides {
                login_lockout: Some(huge),
                ..Overrides::default()
            },
        ),
        (
            "db_max_connections",
            Overrides {
                db_max_connections: Some(u32::MAX),
                ..Overrides::default()
            },
        ),
        (
            "hash_workers",
            Overrides {
                hash_workers: Some(usize::MAX),
                ..Overrides::default()
            },
        ),
        (
            "hash_memory_kib",
            Overrides {
                hash_memory_kib: Some(u32::MAX),
                ..Overrides::default()
            },
        ),
        (
            "hash_iterations",
            Overrides {
                hash_iterations: Some(u32::MAX),
                ..Overrides::default()
            },
        ),
        (
            "body_limit",
            Overrides {
                body_limit: Some(usize::MAX),
                ..Overrides::default()
            },
        ),
        (
            "ip_rate_limit",
            Overrides {
                ip_rate_limit: Some(u32::MAX),
                ..Overrides::default()
            },
        ),
        (
            "access_token_ttl",
            Overrides {
                access_token_ttl: Some(0),
                ..Overrides::default()
            },
        ),
    ];
    for (name, overrides) in cases {
        let error = Settings::resolve(overrides).unwrap_err().to_string();
        assert!(error.contains(name) && error.contains("between"), "{error}");
    }
}

#[tokio::test]
async fn an_absurd_lifetime_stops_the_start_with_a_clear_error() {
    let db = TestDatabase::new().await;
    // `migrate` reads the same settings as `serve` and exits either way.
    let lifetime = ["--session-lifetime", "1000000000000"];
    let mut args = vec!["migrate", "--database", &db.url];
    args.extend(lifetime);
    let output = sesame(&args, None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("session_lifetime must be between"),
        "{stderr}"
    );
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_and_its_companions_are_private() {
    // The test runs under the usual umask (022), which alone would give 0644.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sesame.db");
    let server = Server::start(&format!("sqlite://{}", path.display()));
    server.signed_up("ada@example.com").await;
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("sesame.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    server.stop();
}

#[test]
fn a_database_others_can_read_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    write_with_mode(&path, b"", 0o644);
    let url = format!("sqlite://{}", path.display());
    let refused = sesame(&["migrate", "--database", &url], None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("readable by group or others") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    let allowed = sesame(
        &[
            "migrate",
            "--database",
            &url,
            "--allow-insecure-permissions",
        ],
        None,
    );
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

/// `sesame user export` in HS256 mode with the secret in `secret`: it loads the key.
fn export_with_secret(dir: &std::path::Path, secret: &std::path::Path) -> std::process::Output {
    let url = format!("sqlite://{}", dir.join("hs.db").display());
    let secret = secret.to_str().unwrap();
    let args = [
        "user",
        "export",
        "--database",
        &url,
        "--jwt-algorithm",
        "HS256",
    ];
    let mut args = args.to_vec();
    args.extend(["--jwt-secret-file", secret]);
    sesame(&args, None)
}

#[test]
fn an_hs256_secret_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    write_with_mode(
        &secret,
        b"q0vX3m9Lr8T2pWc5yZ1aB7nK4dF6hJ0sGeUiOoPlMkN=",
        0o640,
    );
    let refused = export_with_secret(dir.path(), &secret);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("readable by group or others"), "{stderr}");
    write_with_mode(
        &secret,
        b"q0vX3m9Lr8T2pWc5yZ1aB7nK4dF6hJ0sGeUiOoPlMkN=",
        0o600,
    );
    let accepted = export_with_secret(dir.path(), &secret);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(!String::from_utf8_lossy(&accepted.stderr).contains("guessable"));
}

#[test]
fn a_guessable_hs256_secret_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    write_with_mode(&secret, "password".repeat(4).as_bytes(), 0o600);
    let output = export_with_secret(dir.path(), &secret);
    assert!(output.status.success());
    // One-shot commands log to standard error, where the export's lines are not.
    assert!(String::from_utf8_lossy(&output.stderr).contains("looks guessable"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("guessable"));
}

#[tokio::test]
async fn a_malformed_forwarded_entry_does_not_merge_clients_into_the_proxy() {
    let app = spawn_app_with(|o| {
        o.ip_rate_limit = Some(1);
        o.trusted_proxies = Some(vec!["127.0.0.1".to_owned()]);
    })
    .await;
    // Two clients each prepend bytes that are not text; the proxy appends their
    // addresses. Each keeps its own bucket (one request a minute): no 429.
    for client in ["198.51.100.7", "198.51.100.8"] {
        let mut value = b"\xff\xfe bogus".to_vec();
        value.extend_from_slice(format!(", {client}").as_bytes());
        let status = app
            .client
            .post(app.url("/login"))
            .header(
                "x-forwarded-for",
                reqwest::header::HeaderValue::from_bytes(&value).unwrap(),
            )
            .json(&json!({"email": "ada@example.com", "password": "not the password"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{client}");
    }
}

/// A raw connection to `app` that has sent `bytes`.
async fn connection_with(app: &TestApp, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the server closes the connection; `None` if it is still open after `wait`.
async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    wait: std::time::Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    tokio::time::timeout(wait, stream.read_to_end(&mut received))
        .await
        .ok()
        .map(|_| received)
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let app = spawn_app_with(|o| o.header_read_timeout = Some(1)).await;
    let mut slow =
        connection_with(&app, b"GET /healthz HTTP/1.1\r\nHost: sesame\r\nX-Slow: ").await;
    let started = std::time::Instant::now();
    let closed = closed_within(&mut slow, std::time::Duration::from_secs(5)).await;
    assert!(closed.is_some(), "still open after 5 s");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|o| o.header_read_timeout = Some(1)).await;
    let mut idle = connection_with(&app, b"GET /healthz HTTP/1.1\r\nHost: sesame\r\n\r\n").await;
    let received = closed_within(&mut idle, std::time::Duration::from_secs(5)).await;
    let received = String::from_utf8(received.expect("still open after 5 s")).unwrap();
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(|o| o.max_connections = Some(2)).await;
    let partial = b"GET /healthz HTTP/1.1\r\nHost: sesame\r\n";
    let first = connection_with(&app, partial).await;
    let _second = connection_with(&app, partial).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: sesame\r\nConnection: close\r\n\r\n";
    let mut third = connection_with(&app, request).await;
    let short = std::time::Duration::from_millis(500);
    assert!(
        closed_within(&mut third, short).await.is_none(),
        "served beyond the cap"
    );
    drop(first);
    let received = closed_within(&mut third, std::time::Duration::from_secs(5)).await;
    let received = String::from_utf8(received.expect("never served")).unwrap();
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}
