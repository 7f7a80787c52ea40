//! The real binary under stress at its edges: a clean stop (SIGTERM) leaves no erased
//! secret in the SQLite files, and a flood of background sends is bounded. The write-ahead
//! log still holds old page images until a checkpoint, and the stop runs one.

use std::time::{Duration, Instant};

use super::process::verification_secrets;
use super::server::Server;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn after_a_clean_stop_no_erased_link_remains_in_the_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sesame.db");
    let url = format!("sqlite://{}", file.display());
    let mail = dir.path().join("mail");
    let mail_dir = mail.to_str().unwrap();
    let server = Server::start_with(&url, &["--mail-dir", mail_dir]);
    server.registered("ada@example.com").await;
    let (token, _) = verification_secrets(&mail).await;
    // The body (with its link) is erased from the outbox once the file is written.
    let db = super::server::any_pool(&url).await;
    let start = Instant::now();
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE body_text IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap()
        > 0
    {
        assert!(start.elapsed() < Duration::from_secs(15), "never erased");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.close().await;

    let (status, _) = server.stop();
    assert!(status.success(), "{status}");
    for path in [file.clone(), dir.path().join("sesame.db-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !contains(&bytes, token.as_bytes()),
            "{} still holds the erased link",
            path.display()
        );
    }
    let wal = std::fs::metadata(dir.path().join("sesame.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the write-ahead log was not emptied");
}

/// A flood of forgot-password requests holds a bounded number of background sends: the
/// rest are dropped (the answer is the same 202), so the flood holds no unbounded
/// tasks and connections.
#[tokio::test]
async fn a_flood_of_forgotten_passwords_holds_bounded_background_work() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
    let server = Server::start_with(&url, &["--ip-rate-limit", "0"]);
    let requests = (0..300).map(|i| {
        let body = serde_json::json!({"email": format!("nobody{i}@example.com")});
        let server = &server;
        async move { server.post_json("/password/forgot", &body).await.status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == reqwest::StatusCode::ACCEPTED));
    // Let the sends that were let in finish before the stop.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, logs) = server.stop();
    let dropped = logs
        .iter()
        .filter(|line| line.contains("too many code sends at once"))
        .count();
    assert!(
        dropped > 0,
        "no send was dropped: the background work is unbounded"
    );
    assert!(dropped < 300, "every send was dropped");
}
