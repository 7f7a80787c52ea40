//! The one HTTP client of the suite: `TestApp` (in-process) and `Server` (the binary as
//! a child process) both dereference to a [`Client`], so a request is written the same
//! way against either.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PASSWORD, assert_problem};

pub struct Client {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    pub client: reqwest::Client,
}

impl Client {
    pub fn new(address: String) -> Self {
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

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

    /// A request with `Authorization: Bearer <token>`.
    pub async fn bearer(&self, method: Method, path: &str, token: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A request with a bearer token and a JSON body.
    pub async fn bearer_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json("/register", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json("/login", &json!({"email": email, "password": password}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn me(&self, token: &str) -> Response {
        self.bearer(Method::GET, "/me", token).await
    }

    /// Registers `email` with [`PASSWORD`]; asserts 201.
    pub async fn registered(&self, email: &str) {
        let response = self.register(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    /// Logs `email` in with [`PASSWORD`]; asserts 200 and returns the token response.
    pub async fn logged_in(&self, email: &str) -> Value {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Registers `email` with [`PASSWORD`] and logs in; returns the token response.
    pub async fn signed_up(&self, email: &str) -> Value {
        self.registered(email).await;
        self.logged_in(email).await
    }

    /// Refreshes; asserts 200 and returns the new token response.
    pub async fn refreshed(&self, refresh_token: &str) -> Value {
        let response = self.refresh(refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Asserts that `refresh_token` is refused with 401 `invalid_refresh_token`.
    pub async fn assert_refresh_refused(&self, refresh_token: &str) {
        assert_problem(
            self.refresh(refresh_token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        )
        .await;
    }

    /// The key set, as text.
    pub async fn jwks(&self) -> String {
        self.get("/.well-known/jwks.json")
            .await
            .text()
            .await
            .unwrap()
    }
}

/// A string member of a token response (`access_token`, `refresh_token`).
pub fn field<'a>(tokens: &'a Value, name: &str) -> &'a str {
    tokens[name].as_str().unwrap()
}
