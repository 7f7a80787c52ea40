//! The database going away and coming back, on PostgreSQL. The app reaches the server
//! through a TCP proxy that the test can cut, which is what a network partition or a
//! restarting database looks like from Sesame's side; and a real restart of the
//! local PostgreSQL cluster under load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use super::helpers::{PASSWORD, assert_problem, spawn_app, spawn_app_with};

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
    let _alone = ONE_OUTAGE_AT_A_TIME.lock().await;
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
        let direct = o.database.clone().unwrap().expose().to_owned();
        o.database = Some(
            direct
                .replacen(host_port(&direct), &proxy.address, 1)
                .into(),
        );
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

/// The two PostgreSQL-only tests both take the database away: one at a time.
static ONE_OUTAGE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What one client saw during the restart.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<String>,
    refused: usize,
    refused_emails: Vec<String>,
    slowest: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: .ci/run runs it with `cargo test --test api_postgres -- --ignored`"]
async fn postgresql_restarted_under_load_fails_fast_and_recovers() {
    let _alone = ONE_OUTAGE_AT_A_TIME.lock().await;
    assert!(
        std::env::current_exe()
            .unwrap()
            .to_string_lossy()
            .contains("api_postgres")
            && std::env::var_os("SESAME_TEST_POSTGRES_URL").is_some(),
        "run this test from the api_postgres binary, with SESAME_TEST_POSTGRES_URL"
    );
    let app = Arc::new(spawn_app().await);
    app.signed_up("ada@example.com").await;

    // Four clients registering as fast as they can (each a write to the store), until
    // told to stop; every answer must be 201 or a quick 503.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Seen::default();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let email = format!("load{client}-{i}@example.com");
                    let started = Instant::now();
                    let response = app.register(&email, PASSWORD).await;
                    seen.slowest = seen.slowest.max(started.elapsed());
                    match response.status() {
                        StatusCode::CREATED => seen.acknowledged.push(email),
                        StatusCode::SERVICE_UNAVAILABLE => {
                            seen.refused += 1;
                            seen.refused_emails.push(email);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        other => panic!("{email}: {other} during the restart"),
                    }
                }
                seen
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    let restart = tokio::process::Command::new("sh")
        .args([
            "-c",
            "pg_ctlcluster --skip-systemctl-redirect \"$(ls /etc/postgresql)\" main restart",
        ])
        .status()
        .await
        .expect("pg_ctlcluster restarts the local cluster");
    assert!(restart.success(), "pg_ctlcluster restart failed");

    // Back without restarting Sesame.
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/readyz").await.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "did not recover after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);

    let mut acknowledged = vec!["ada@example.com".to_owned()];
    let (mut refused, mut slowest) = (0, Duration::ZERO);
    let mut refused_emails = Vec::new();
    for client in clients {
        let seen = client.await.unwrap();
        acknowledged.extend(seen.acknowledged);
        refused += seen.refused;
        refused_emails.extend(seen.refused_emails);
        slowest = slowest.max(seen.slowest);
    }
    eprintln!(
        "restart under load: {} acknowledged, {refused} refused with 503, slowest answer {slowest:?}",
        acknowledged.len()
    );
    // No request hangs: each rides the restart out or is refused within the pool's
    // 3-second acquire timeout.
    assert!(
        slowest < Duration::from_secs(4),
        "an answer took {slowest:?}"
    );
    // Nothing acknowledged lost, nothing half-written. A 503 may still come after
    // PostgreSQL committed: a backend terminated by the restart between its commit
    // and its answer (the commit is in the log the restart replays). Such a
    // registration is whole (its account, verification code and message) or absent.
    let db = app.db().await;
    let count = |sql: &'static str, email: String| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(email)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let mut committed_anyway = 0;
    for email in refused_emails {
        let users = count("SELECT count(*) FROM users WHERE email = $1", email.clone()).await;
        let codes = count(
            "SELECT count(*) FROM one_time_codes c JOIN users u ON u.id = c.user_id
             WHERE u.email = $1",
            email.clone(),
        )
        .await;
        assert_eq!((users, codes), (users, users), "{email} is half-written");
        committed_anyway += users;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, acknowledged.len() as i64 + committed_anyway);
    for email in acknowledged.iter().step_by(25) {
        assert_eq!(app.login(email, PASSWORD).await.status(), StatusCode::OK);
    }
}
