//! `spawn_app()`: a real Sesame on port 0 with a fresh store, a manual clock and cheap
//! (but real) Argon2id parameters; `TestApp` makes its requests through [`Client`].
//!
//! The backend follows the test binary: `api` uses a fresh SQLite file per test,
//! `api_postgres` a fresh PostgreSQL database per test (created on the server named by
//! SESAME_TEST_POSTGRES_URL, dropped afterwards). Without that variable `api_postgres`
//! runs on SQLite too, and says so; under CI it refuses to.

use std::sync::Arc;

use reqwest::{Response, StatusCode};
use serde_json::Value;
use sesame::app::Application;
use sesame::clock::ManualClock;
use sesame::config::{Overrides, Settings};
use time::OffsetDateTime;

use super::client::Client;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub api: Client,
    /// The metrics listener (`--metrics-bind`), apart from the API.
    pub metrics: Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    /// The key its TOTP secrets and signing keys are sealed with.
    pub factor_key_file: std::path::PathBuf,
    // Dropped last: the store lives in it.
    _database: TestDatabase,
}

/// A fresh, empty store for one test, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

fn postgres_server() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let name = exe.file_name()?.to_str()?;
    if !name.starts_with("api_postgres") {
        return None;
    }
    match std::env::var("SESAME_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set SESAME_TEST_POSTGRES_URL: the PostgreSQL suite may not fall back"
            );
            eprintln!("SESAME_TEST_POSTGRES_URL is not set: api_postgres runs on SQLite");
            None
        }
    }
}

impl TestDatabase {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let Some(server) = postgres_server() else {
            return Self {
                url: format!("sqlite://{}/sesame.db", dir.path().display()),
                dir,
                postgres: None,
            };
        };
        let name = format!("sesame_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&server)
            .await
            .expect("SESAME_TEST_POSTGRES_URL must name a reachable PostgreSQL server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = server.split('?').next().unwrap();
        let (base, _) = base.rsplit_once('/').unwrap();
        Self {
            url: format!("{base}/{name}"),
            dir,
            postgres: Some((server, name)),
        }
    }
}

impl TestDatabase {
    /// Where the test's server writes its `.eml` files (it has no SMTP relay unless
    /// the test gives it one).
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("mail")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime we may block on: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&server).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
                }
            });
        })
        .join();
    }
}

/// Cheap settings for `database`; tests change what they need.
pub fn test_overrides(database: &TestDatabase) -> Overrides {
    Overrides {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        database: Some(database.url.clone().into()),
        hash_memory_kib: Some(64),
        hash_iterations: Some(1),
        hash_parallelism: Some(1),
        // Every test's requests come from 127.0.0.1; the tests of the per-address limit
        // turn it back on.
        ip_rate_limit: Some(0),
        mail_dir: Some(database.mail_dir()),
        metrics_bind: Some("127.0.0.1:0".parse().unwrap()),
        ..Overrides::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Overrides)) -> TestApp {
    spawn_app_on(TestDatabase::new().await, configure).await
}

/// A server on an existing test store (one that another [`TestApp`] left behind).
pub async fn spawn_app_on(
    database: TestDatabase,
    configure: impl FnOnce(&mut Overrides),
) -> TestApp {
    let mut overrides = test_overrides(&database);
    configure(&mut overrides);
    let database_url = overrides.database.clone().unwrap().expose().to_owned();
    let settings = Settings::resolve(overrides).unwrap();
    let factor_key_file = settings.factor_key_file.clone();
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    ));
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics = match app.metrics_address() {
        Some(metrics) => format!("http://{metrics}"),
        None => format!("{address}/no-metrics-listener"),
    };
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        api: Client::new(address),
        metrics: Client::new(metrics),
        server,
        clock,
        database_url,
        factor_key_file,
        _database: database,
    }
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.api
    }
}

impl TestApp {
    /// Stops the server at once, as a crash would, and hands back its store.
    pub async fn stop(self) -> TestDatabase {
        self.server.abort();
        let _ = self.server.await;
        self._database
    }

    /// Registers `email` with [`PASSWORD`], marks its address verified (as its
    /// verification code would: factors are only for proven addresses), and logs in.
    pub async fn verified_up(&self, email: &str) -> serde_json::Value {
        self.registered(email).await;
        let verified = sqlx::query("UPDATE users SET email_verified = TRUE WHERE email = $1")
            .bind(email)
            .execute(&self.db().await)
            .await
            .unwrap();
        assert_eq!(verified.rows_affected(), 1);
        self.logged_in(email).await
    }

    /// A direct connection to the test's store, for arranging what no endpoint does
    /// (disabling an account) and for checking what was written. Queries written for it
    /// run on both backends: `$1` placeholders, `TRUE`, no backend-only functions.
    pub async fn db(&self) -> sqlx::AnyPool {
        super::server::any_pool(&self.database_url).await
    }
}

/// Asserts a problem document with `status` and `code`, and returns it.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// The claims of an access token, read without verification.
pub fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `sid` claim of an access token (its session id), read without verification.
pub fn sid(access_token: &str) -> String {
    claims(access_token)["sid"].as_str().unwrap().to_owned()
}

/// Writes `contents` to `path` readable by its owner only, as a deployment keeps a
/// secret (Sesame refuses a secret file that others can read).
pub fn write_private(path: &std::path::Path, contents: &[u8]) {
    write_with_mode(path, contents, 0o600);
}

pub fn write_with_mode(path: &std::path::Path, contents: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
