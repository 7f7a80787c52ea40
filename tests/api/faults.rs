//! The database going away and coming back, on PostgreSQL. The app reaches the server
//! through a TCP proxy that the test can cut, which is what a network partition or a
//! restarting database looks like from Sesame's side.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use super::helpers::{PASSWORD, assert_problem, spawn_app_with};

struct Proxy {
    address: String,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (flag, live) = (Arc::clone(&up), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let task = tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                live.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            address,
            up,
            connections,
        }
    }

    /// Severs every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user@HOST:PORT/db` -> `HOST:PORT`.
fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap()
}

#[tokio::test]
#[ignore = "PostgreSQL only: .ci/run runs it with `cargo test --test api_postgres -- --ignored`"]
async fn a_lost_database_means_503_then_recovery_without_a_restart() {
    let server = std::env::var("SESAME_TEST_POSTGRES_URL")
        .expect("this test needs SESAME_TEST_POSTGRES_URL (PostgreSQL)");
    assert!(
        std::env::current_exe()
            .unwrap()
            .to_string_lossy()
            .contains("api_postgres"),
        "run this test from the api_postgres binary"
    );
    let proxy = Proxy::start(host_port(&server).to_owned()).await;
    let app = spawn_app_with(|o| {
        let direct = o.database.clone().unwrap();
        o.database = Some(direct.replacen(host_port(&direct), &proxy.address, 1));
    })
    .await;
    let direct = app
        .database_url
        .replacen(&proxy.address, host_port(&server), 1);
    app.signed_up("ada@example.com").await;

    // Connections killed under it: the pool replaces them; no request fails with a 500.
    let admin = sqlx::PgPool::connect(&direct).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&admin)
    .await
    .unwrap();
    for _ in 0..5 {
        let status = app.login("ada@example.com", PASSWORD).await.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }

    // The database unreachable: 503 with a problem document and Retry-After, quickly.
    proxy.cut();
    let started = Instant::now();
    let ready = app.get("/readyz").await;
    assert_problem(ready, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let login = app.login("ada@example.com", PASSWORD).await;
    assert!(login.headers().contains_key("retry-after"));
    assert_problem(login, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let register = app.register("bob@example.com", PASSWORD).await;
    assert_problem(register, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let token = app
        .post_form(
            "/token",
            "grant_type=password&username=ada%40example.com&password=x",
        )
        .await;
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // Back again: ready without a restart, and nothing half-written meanwhile.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/readyz").await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("bob@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(users, 1);
}
