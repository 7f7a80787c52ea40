//! The real binary: restarts, signals, logs and the command line.

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::client::field;
use super::helpers::{PASSWORD, TestDatabase};
use super::server::{CHEAP_HASH, Server, any_pool, sesame};

#[tokio::test]
async fn a_token_issued_before_a_restart_verifies_after_it() {
    let db = TestDatabase::new().await;
    let first = Server::start(&db.url);
    first.registered("ada@example.com").await;
    let tokens = first.logged_in("ada@example.com").await;
    let keys_before = first.jwks().await;
    let (status, _) = first.stop();
    assert!(status.success(), "SIGTERM exits cleanly: {status}");

    let second = Server::start(&db.url);
    assert_eq!(
        second.jwks().await,
        keys_before,
        "the key is kept in the store"
    );
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(second.me(token).await.status(), StatusCode::OK);
    second.stop();
}

#[tokio::test]
async fn refresh_token_reuse_is_detected_across_a_restart() {
    let db = TestDatabase::new().await;
    let no_grace = ["--refresh-reuse-grace", "0"];
    let first = Server::start_with(&db.url, &no_grace);
    first.registered("ada@example.com").await;
    let original = first.logged_in("ada@example.com").await;
    let rotated: Value = first
        .refresh(field(&original, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    assert!(first.stop().0.success());

    let second = Server::start_with(&db.url, &no_grace);
    let replay = second.refresh(field(&original, "refresh_token")).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // The replay ended the session: the token it had rotated into is dead too.
    assert_eq!(
        second
            .refresh(field(&rotated, "refresh_token"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let token = rotated["access_token"].as_str().unwrap();
    assert_eq!(second.me(token).await.status(), StatusCode::UNAUTHORIZED);
    second.stop();
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = TestDatabase::new().await;
    let server = Server::start(&db.url);
    server.registered("ada@example.com").await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    let (head, tail) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(server.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!(
        "POST /login HTTP/1.1\r\nhost: sesame\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The signal lands while the request is half sent; the rest follows after it.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (status, logs) = server.stop();
    assert!(status.success(), "{status}");
    assert!(logs.iter().any(|l| l.contains("shutting down")), "{logs:?}");
}

#[tokio::test]
async fn logs_never_contain_passwords_tokens_or_hashes() {
    let db = TestDatabase::new().await;
    let mail = tempfile::tempdir().unwrap();
    let mail_dir = mail.path().to_str().unwrap();
    let server = Server::start_with(&db.url, &["--access-log", "all", "--mail-dir", mail_dir]);
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);
    server.registered("ada@example.com").await;
    let tokens = server.logged_in("ada@example.com").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.status(), StatusCode::OK);
    client
        .post(url("/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    server.login("ada@example.com", "wrong password 1").await;
    server.register("b@example.com", "password123").await;
    client
        .post(url("/login?password=query-secret-123"))
        .send()
        .await
        .unwrap();
    client
        .get(url("/me"))
        .bearer_auth(format!("{access}tampered"))
        .send()
        .await
        .unwrap();
    // The verification message's link and code, used as a user would: the link's
    // page opened (its token in the query string), the code posted.
    let (link_token, code) = verification_secrets(mail.path()).await;
    let page = client
        .get(url(&format!("/ui/verify-email?token={link_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let verified = server
        .post_json(
            "/email/verify",
            &serde_json::json!({"email": "ada@example.com", "code": code}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&any_pool(&db.url).await)
        .await
        .unwrap();

    let (_, logs) = server.stop();

    let all = logs.join("\n");
    for secret in [
        PASSWORD,
        "correct+horse",
        "wrong password 1",
        "password123",
        "query-secret-123",
        &access,
        access.split('.').nth(2).unwrap(),
        &refresh,
        &hash,
        "$argon2",
        &link_token,
        &format!("\"{code}\""),
        &format!("Code: {code}"),
    ] {
        assert!(!all.contains(secret), "the logs contain {secret:?}");
    }
    // One JSON line per request, with its method, path (no query), status and id.
    let requests: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 10, "{logs:#?}");
    for entry in &requests {
        assert!(
            entry["method"].is_string() && entry["status"].is_u64(),
            "{entry}"
        );
        assert!(entry["latency_ms"].is_number(), "{entry}");
        assert!(!entry["path"].as_str().unwrap().contains('?'), "{entry}");
        assert!(entry["span"]["request_id"].is_string(), "{entry}");
    }
}

/// The access lines written, as `(method, route, status)`.
fn access_lines(logs: &[String]) -> Vec<(String, String, u64)> {
    logs.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "request")
        .map(|l| {
            let text = |key: &str| l[key].as_str().unwrap().to_owned();
            (text("method"), text("route"), l["status"].as_u64().unwrap())
        })
        .collect()
}

/// The link token and the code of the first verification message written into
/// `mail_dir`, read from its quoted-printable text part.
pub(super) async fn verification_secrets(mail_dir: &std::path::Path) -> (String, String) {
    let start = std::time::Instant::now();
    let file = loop {
        let first = std::fs::read_dir(mail_dir).unwrap().next();
        if let Some(entry) = first {
            break entry.unwrap().path();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no message written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let raw = std::fs::read_to_string(file).unwrap();
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    let token_at = text.find("token=").unwrap() + "token=".len();
    let token: String = text[token_at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let code_at = text.find("Code: ").unwrap() + "Code: ".len();
    assert_eq!(token.len(), 43, "{text}");
    (token, text[code_at..code_at + 6].to_owned())
}

#[tokio::test]
async fn by_default_the_access_log_skips_only_successful_reads() {
    let db = TestDatabase::new().await;
    let server = Server::start(&db.url);
    server.registered("ada@example.com").await;
    let tokens = server.logged_in("ada@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(server.me(access).await.status(), StatusCode::OK);
    }
    assert_eq!(
        server.me("not-a-token").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, logs) = server.stop();

    let lines = access_lines(&logs);
    let line =
        |method: &str, route: &str, status: u64| (method.to_owned(), route.to_owned(), status);
    assert_eq!(
        lines,
        [
            line("POST", "/register", 201),
            line("POST", "/login", 200),
            line("GET", "/me", 401),
        ],
        "{logs:#?}"
    );
}

#[tokio::test]
async fn access_log_all_writes_every_request_and_off_none() {
    for (setting, expected) in [("all", 4), ("off", 0)] {
        let db = TestDatabase::new().await;
        let server = Server::start_with(&db.url, &["--access-log", setting]);
        server.registered("ada@example.com").await;
        let tokens = server.logged_in("ada@example.com").await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(server.me(access).await.status(), StatusCode::OK);
        assert_eq!(
            server.me("not-a-token").await.status(),
            StatusCode::UNAUTHORIZED
        );
        let (_, logs) = server.stop();
        assert_eq!(access_lines(&logs).len(), expected, "{setting}: {logs:#?}");
    }
}

#[tokio::test]
async fn user_create_reads_the_password_from_stdin() {
    let db = TestDatabase::new().await;
    let mut args = vec![
        "user",
        "create",
        "--email",
        "ada@example.com",
        "--password-stdin",
    ];
    args.extend(["--database", &db.url]);
    args.extend(CHEAP_HASH);

    let created = sesame(&args, Some(&format!("{PASSWORD}\n")));
    assert!(created.status.success(), "{created:?}");
    args[3] = "bob@example.com";
    let weak = sesame(&args, Some("password123\n"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("most commonly used"));

    let server = Server::start(&db.url);
    server.logged_in("ada@example.com").await;
    server.stop();
}

#[tokio::test]
async fn user_import_reports_bad_lines_by_number_and_keeps_the_rest() {
    let db = TestDatabase::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    std::fs::write(
        &file,
        [
            r#"{"email": "a@example.com", "password_hash": "$2b$04$g1oEwtp6363mqCEBK.D/.O58wFdgBMNoK8KlVitR1Wo80qf/UDsr2"}"#,
            r#"{"email": "b@example.com", "password_hash": "plaintext-password"}"#,
            "not json",
            r#"{"email": "A@example.com", "password_hash": "$2b$04$g1oEwtp6363mqCEBK.D/.O58wFdgBMNoK8KlVitR1Wo80qf/UDsr2"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let path = file.display().to_string();

    let output = sesame(&["user", "import", &path, "--database", &db.url], None);

    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("imported 1, skipped 1 existing, 2 invalid"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 2: unsupported hash format"),
        "{stderr}"
    );
    assert!(stderr.contains("line 3:"), "{stderr}");
    assert!(!stderr.contains("plaintext-password"), "{stderr}");
}

#[tokio::test]
async fn migrate_creates_the_schema_and_exits() {
    let db = TestDatabase::new().await;
    let output = sesame(&["migrate", "--database", &db.url], None);
    assert!(output.status.success(), "{output:?}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&any_pool(&db.url).await)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn users_move_between_stores_with_export_and_import() {
    // From an embedded SQLite store to this suite's backend (PostgreSQL in api_postgres).
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}/old.db", dir.path().display());
    let target = TestDatabase::new().await;
    for email in ["ada@example.com", "Bob@Example.com"] {
        let mut args = vec!["user", "create", "--email", email, "--password-stdin"];
        args.extend(["--database", &source]);
        args.extend(CHEAP_HASH);
        assert!(sesame(&args, Some(PASSWORD)).status.success());
    }

    let exported = sesame(&["user", "export", "--database", &source], None);
    assert!(exported.status.success(), "{exported:?}");
    let file = dir.path().join("users.jsonl");
    std::fs::write(&file, &exported.stdout).unwrap();
    let path = file.display().to_string();
    let imported = sesame(&["user", "import", &path, "--database", &target.url], None);
    assert!(imported.status.success(), "{imported:?}");
    assert!(String::from_utf8_lossy(&imported.stdout).contains("imported 2"));

    let server = Server::start(&target.url);
    server.logged_in("ada@example.com").await;
    server.logged_in("bob@example.com").await;
    server.stop();
}

/// A log reader that stalls (a full pipe: a stuck log shipper, a paused terminal) must
/// not stall the server. Every request writes an access line; with nobody reading
/// stdout, a pipe fills after a few hundred lines, and a server that wrote its log on
/// the request path would stop answering there.
#[tokio::test]
async fn a_stalled_log_reader_does_not_stall_requests() {
    use std::io::{BufRead, BufReader};

    let database = TestDatabase::new().await;
    let mut child = std::process::Command::new(super::server::BIN)
        .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
        .args(["--database", &database.url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read up to the line that gives the address, then never again (the reader stays
    // open, so writes block rather than fail).
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let address = loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no listening line"
        );
        let entry: Value = serde_json::from_str(&line).unwrap();
        if entry["message"] == "listening" {
            break entry["address"].as_str().unwrap().to_owned();
        }
    };
    let client = reqwest::Client::new();
    let url = format!("http://{address}/healthz");
    // 3,000 lines of about 250 bytes: over ten times a 64 KiB pipe.
    let requests = futures::stream::iter(0..3_000)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.map(|r| r.status()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>();
    let answers = tokio::time::timeout(Duration::from_secs(30), requests).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let answers = answers.expect("requests stalled behind the log pipe");
    assert!(answers.iter().all(|a| matches!(a, Ok(StatusCode::OK))));
    drop(stdout);
}
