//! SQLite under a held write lock: a request that waits for the store's one writer
//! gives up after 3 seconds with `503 unavailable`, well inside the request timeout,
//! rather than holding the client until the timeout's `408`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::helpers::{PASSWORD, spawn_app_with};

#[tokio::test]
async fn a_write_waiting_for_the_sqlite_writer_answers_503_after_three_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
    let app = spawn_app_with(|o| o.database = Some(url.clone().into())).await;
    app.registered("first@example.com").await;

    // Another process holds the write lock: the server's writer waits in its busy
    // handler, and the writes behind it wait for the writer.
    let other = super::server::any_pool(&url).await;
    let mut lock = other.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let started = Instant::now();
    let app = &app;
    let timed = (0..3).map(|i| async move {
        let response = app.register(&format!("u{i}@example.com"), PASSWORD).await;
        (response.status(), started.elapsed())
    });
    let answers = futures::future::join_all(timed).await;
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();

    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::SERVICE_UNAVAILABLE),
        "{answers:?}"
    );
    // Those that waited for the writer gave up at the pool's bound, not after a
    // writer's whole busy wait (5 s) each, nor at the request timeout.
    let quick = answers
        .iter()
        .filter(|(_, took)| *took < Duration::from_millis(4_500));
    assert!(quick.count() >= 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(_, took)| *took < Duration::from_secs(8)),
        "{answers:?}"
    );
    // Once the lock is gone, writes go through again.
    app.registered("after@example.com").await;
}
