//! `spawn_app()`: a real Sesame on port 0 with a fresh SQLite store, a manual clock
//! and cheap (but real) Argon2id parameters; `TestApp` has request helpers.

use std::sync::Arc;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sesame::app::Application;
use sesame::clock::ManualClock;
use sesame::config::{Overrides, Settings};
use time::OffsetDateTime;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    // Dropped last: the store lives in it.
    _dir: tempfile::TempDir,
}

/// Cheap settings for a store in `dir`; tests change what they need.
pub fn test_overrides(dir: &std::path::Path) -> Overrides {
    Overrides {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        database: Some(format!("sqlite://{}/sesame.db", dir.display())),
        hash_memory_kib: Some(64),
        hash_iterations: Some(1),
        hash_parallelism: Some(1),
        ..Overrides::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Overrides)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = test_overrides(dir.path());
    configure(&mut overrides);
    let database_url = overrides.database.clone().unwrap();
    let settings = Settings::resolve(overrides).unwrap();
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    ));
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        database_url,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json("/register", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json("/login", &json!({"email": email, "password": password}))
            .await
    }

    /// Registers `email` with [`PASSWORD`] and logs in; returns the token response.
    pub async fn signed_up(&self, email: &str) -> Value {
        assert_eq!(
            self.register(email, PASSWORD).await.status(),
            StatusCode::CREATED
        );
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn me(&self, token: &str) -> Response {
        self.client
            .get(self.url("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A direct connection to the test's store, for arranging what no endpoint does
    /// (disabling an account) and for checking what was written.
    pub async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&self.database_url).await.unwrap()
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
