//! Account recovery tells nothing by its timing: with the real Argon2id parameters,
//! against the real binary, `POST /password/forgot` takes the same time for an address
//! with an account (which gets a code and a message) as for one without.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::helpers::{PASSWORD, TestDatabase};
use super::server::Server;
use super::{ONE_AT_A_TIME, median};

#[tokio::test]
async fn forgot_password_costs_the_same_time_for_existing_and_unknown_addresses() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDatabase::new().await;
    let mail = tempfile::tempdir().unwrap();
    let mail_dir = mail.path().to_str().unwrap();
    let server = Server::start_with(
        &db.url,
        &[
            "--hash-memory-kib",
            "19456",
            "--hash-iterations",
            "2",
            "--ip-rate-limit",
            "0",
            "--mail-dir",
            mail_dir,
        ],
    );
    assert_eq!(
        server.register("ada@example.com", PASSWORD).await.status(),
        StatusCode::CREATED
    );

    let timed = |email: &'static str| {
        let server = &server;
        async move {
            let started = Instant::now();
            let response = server
                .post_json("/password/forgot", &json!({"email": email}))
                .await;
            let took = started.elapsed().as_secs_f64();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            took
        }
    };
    // Warm up the connection and the server's caches first; then many rounds, since
    // each request takes a fraction of a millisecond and the machine is shared.
    for _ in 0..20 {
        timed("nobody@example.com").await;
    }
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for round in 0..500 {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        if round % 2 == 0 {
            unknown.push(timed("nobody@example.com").await);
            known.push(timed("ada@example.com").await);
        } else {
            known.push(timed("ada@example.com").await);
            unknown.push(timed("nobody@example.com").await);
        }
    }
    let (unknown, known) = (median(unknown), median(known));
    let gap = (unknown - known).abs() / unknown.max(known);
    eprintln!("median forgot-password: unknown {unknown:.5} s, existing {known:.5} s");
    assert!(gap <= 0.10, "medians differ by {:.1}%", gap * 100.0);

    // The account's message did go out (the verification, then one reset code: the
    // rest were over the per-recipient limit).
    let start = Instant::now();
    while std::fs::read_dir(mail.path()).unwrap().count() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no reset message"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop();
}
