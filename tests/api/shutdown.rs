//! A clean stop (SIGTERM) leaves no erased secret in the SQLite files: the write-ahead
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
