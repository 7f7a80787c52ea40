//! Hashing as a managed resource, with the real (OWASP) Argon2id parameters: the time a
//! failed login takes tells nothing, and a flood is shed quickly instead of queued.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestDatabase, spawn_app_with};
use super::server::Server;
use super::{ONE_AT_A_TIME, median};

const REAL_HASH: [&str; 4] = ["--hash-memory-kib", "19456", "--hash-iterations", "2"];

#[tokio::test]
async fn an_unknown_email_costs_the_same_time_as_a_wrong_password() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app_with(|o| {
        o.hash_memory_kib = Some(19_456);
        o.hash_iterations = Some(2);
    })
    .await;
    app.register("ada@example.com", PASSWORD).await;

    let timed = |email: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let response = app.login(email, "not the password").await;
            let took = started.elapsed().as_secs_f64();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            // Out of the throttle's reach: only the hashing is measured.
            app.clock.advance(time::Duration::days(1));
            took
        }
    };
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for round in 0..60 {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        if round % 2 == 0 {
            unknown.push(timed("nobody@example.com").await);
            wrong.push(timed("ada@example.com").await);
        } else {
            wrong.push(timed("ada@example.com").await);
            unknown.push(timed("nobody@example.com").await);
        }
    }
    let (unknown, wrong) = (median(unknown), median(wrong));
    let gap = (unknown - wrong).abs() / unknown.max(wrong);
    eprintln!("median login: unknown email {unknown:.4} s, wrong password {wrong:.4} s");
    assert!(gap <= 0.10, "medians differ by {:.1}%", gap * 100.0);
    // And the hash really ran: OWASP Argon2id takes milliseconds, not microseconds.
    assert!(unknown > 0.005, "{unknown}");
}

struct Outcome {
    status: StatusCode,
    took: Duration,
    retry_after: Option<u64>,
    code: Option<String>,
}

async fn login(client: &reqwest::Client, url: &str, address: &str, email: &str) -> Outcome {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: Value = response.json().await.unwrap_or_default();
    Outcome {
        status,
        took,
        retry_after,
        code: body["code"].as_str().map(str::to_owned),
    }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// 64 clients logging in without pause from one address, about 4 times what the pool
/// admits (2 workers, 250 ms of queue), while a second address logs in now and then.
#[tokio::test]
async fn a_login_flood_is_shed_fast_and_others_still_get_in() {
    const FLOOD: usize = 64;
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = TestDatabase::new().await;
    let mut args = vec!["--hash-workers", "2", "--hash-max-wait-ms", "250"];
    args.extend(["--ip-rate-limit", "0", "--trusted-proxies", "127.0.0.1"]);
    args.extend(REAL_HASH);
    let server = Server::start_with(&db.url, &args);
    let client = reqwest::Client::new();
    let login_url = format!("{}/login", server.address);

    // One account per flooding client (the per-email throttle is not what is tested),
    // registered a few at a time from addresses of their own.
    let emails: Vec<String> = (0..FLOOD)
        .map(|n| format!("flood-{n}@example.com"))
        .collect();
    for (batch, chunk) in emails.chunks(4).enumerate() {
        let registrations = chunk.iter().enumerate().map(|(i, email)| {
            client
                .post(format!("{}/register", server.address))
                .header("x-forwarded-for", format!("192.0.2.{}", batch * 4 + i))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
        });
        for response in futures::future::join_all(registrations).await {
            assert_eq!(response.unwrap().status(), StatusCode::CREATED);
        }
    }
    let register = client
        .post(format!("{}/register", server.address))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);

    let deadline = Instant::now() + Duration::from_secs(4);
    let flood = emails.iter().map(|email| {
        let (client, url) = (client.clone(), login_url.clone());
        async move {
            let mut outcomes = Vec::new();
            while Instant::now() < deadline {
                let outcome = login(&client, &url, "203.0.113.1", email).await;
                if outcome.status == StatusCode::SERVICE_UNAVAILABLE {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                outcomes.push(outcome);
            }
            outcomes
        }
    });
    let legitimate = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut outcomes = Vec::new();
        for _ in 0..5 {
            outcomes.push(login(&client, &login_url, "198.51.100.7", "ada@example.com").await);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        outcomes
    };
    let started = Instant::now();
    let (flood, legitimate) = tokio::join!(futures::future::join_all(flood), legitimate);
    let elapsed = started.elapsed().as_secs_f64();
    let flood: Vec<Outcome> = flood.into_iter().flatten().collect();
    let peak_rss = peak_rss_mib(server.child.id());
    server.stop();

    let admitted: Vec<&Outcome> = flood
        .iter()
        .filter(|o| o.status == StatusCode::OK)
        .collect();
    let shed: Vec<&Outcome> = flood
        .iter()
        .filter(|o| o.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let shed_ms = median(shed.iter().map(|o| o.took.as_secs_f64() * 1000.0).collect());
    #[allow(clippy::cast_precision_loss)]
    let admitted_rate = admitted.len() as f64 / elapsed;
    eprintln!(
        "flood: {} admitted ({admitted_rate:.1} logins/s), {} shed (median {shed_ms:.1} ms), \
         peak RSS {peak_rss:.1} MiB",
        admitted.len(),
        shed.len()
    );

    assert_eq!(admitted.len() + shed.len(), flood.len(), "only 200 or 503");
    assert!(!admitted.is_empty() && !shed.is_empty());
    for o in &shed {
        assert_eq!(o.code.as_deref(), Some("overloaded"));
        assert!(o.retry_after.is_some_and(|s| s >= 1));
    }
    assert!(
        shed_ms < 100.0,
        "refusals must not queue: median {shed_ms:.1} ms"
    );
    for o in &legitimate {
        assert_eq!(o.status, StatusCode::OK, "{:?}", o.code);
    }
    // Two 19 MiB Argon2 buffers, the runtime and 64 connections.
    assert!(peak_rss < 120.0, "peak RSS {peak_rss:.1} MiB");
}
