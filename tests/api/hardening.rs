//! Regression tests for the findings of the outside security review: each one failed on
//! the code before its fix.

use reqwest::{Method, StatusCode};

use super::helpers::{TestDatabase, spawn_app};
use super::server::Server;

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
    let text = app.get("/metrics").await.text().await.unwrap();
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
