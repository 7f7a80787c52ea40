//! The outbox: mail survives a relay that refuses for a while and a restart, and
//! leaves no secret behind once delivered.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::email::ADA;
use super::helpers::{TestApp, spawn_app_with};
use super::mail::{SmtpSink, spawn_app_with_mail};

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
        spawn_app_with(|o| o.smtp_url = Some(format!("smtp://127.0.0.1:{closed_port}").into()))
            .await;
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
    let second =
        super::helpers::spawn_app_on(stopped, |o| o.smtp_url = Some(sink.url().into())).await;
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

    // On PostgreSQL, the whole database as a dump: what a backup holds.
    if app.database_url.starts_with("postgres") {
        let out = std::process::Command::new("pg_dump")
            .args(["--data-only", &app.database_url])
            .output()
            .expect("pg_dump, from PostgreSQL's client package");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(contains(&out.stdout, b"one_time_codes"), "an empty dump");
        for secret in &secrets {
            assert!(
                !contains(&out.stdout, secret.as_bytes()),
                "{secret:?} is in the dump"
            );
        }
    }

    // On SQLite, the files themselves after a checkpoint (the server runs one within
    // a minute of a delivery): secure_delete zeroed the erased body in the pages, and
    // a checkpoint empties the write-ahead log that still held it.
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

#[tokio::test]
async fn a_permanent_refusal_is_recorded_counted_and_erased() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.registered("reject@example.com").await;
    let start = std::time::Instant::now();
    while metric(&app, "sesame_mail_failed_total").await < 1.0 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the refusal was not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Given up at the first 5xx, not retried: its reason kept, its content erased.
    let (attempts, error, recipient, body): (i32, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error, recipient, body_text FROM outbox")
            .fetch_one(&app.db().await)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        error.as_deref().is_some_and(|e| e.contains("550")),
        "{error:?}"
    );
    assert_eq!((recipient, body), (None, None));
    assert_eq!(metric(&app, "sesame_mail_retries_total").await, 0.0);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn two_instances_deliver_each_message_once() {
    let (first, sink) = spawn_app_with_mail(|_| {}).await;
    let url = first.database_url.clone();
    let relay = sink.url();
    let second = spawn_app_with(|o| {
        o.database = Some(url.into());
        o.smtp_url = Some(relay.into());
    })
    .await;

    let emails: Vec<String> = (0..10).map(|i| format!("user{i}@example.com")).collect();
    for (i, email) in emails.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        app.registered(email).await;
    }
    sink.wait_for(10).await;
    // Both workers keep polling: give a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut received: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    received.sort();
    let mut expected = emails.clone();
    expected.sort();
    assert_eq!(received, expected);
}

/// The value of an unlabelled series in `/metrics` (0 when it is not there yet).
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.metrics.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
