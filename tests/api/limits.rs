//! Per-address request limits on the credential endpoints, the client address behind
//! trusted proxies only, and what /metrics reports.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

/// The session list, as the user of `tokens` sees it.
async fn sessions(app: &TestApp, tokens: &Value) -> Value {
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .bearer(reqwest::Method::GET, "/me/sessions", access)
        .await;
    response.json().await.unwrap()
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_address_over_its_rate_gets_429_on_every_credential_endpoint() {
    let app = spawn_app_with(|o| o.ip_rate_limit = Some(3)).await;
    let tokens = app.signed_up("ada@example.com").await;

    // register and login above took two; one is left this minute.
    assert_eq!(
        app.post_json(
            "/refresh",
            &json!({"refresh_token": tokens["refresh_token"]})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let refused = app.login("ada@example.com", PASSWORD).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_problem(
        app.register("bob@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    let token = app
        .post_form("/token", "grant_type=refresh_token&refresh_token=x")
        .await;
    assert_eq!(token.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");

    // Bearer endpoints are not credential endpoints: /me still answers.
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_spoofed_forwarded_for_changes_nothing_without_trusted_proxies() {
    let app = spawn_app_with(|o| o.ip_rate_limit = Some(2)).await;
    app.register("ada@example.com", PASSWORD).await;

    let first = login_from(&app, "198.51.100.1", "ada@example.com").await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = login_from(&app, "198.51.100.2", "ada@example.com").await;
    assert_problem(second, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // The session records the real peer, not the claimed address.
    let tokens: Value = first.json().await.unwrap();
    let sessions = sessions(&app, &tokens).await;
    assert_eq!(sessions[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_limit() {
    let app = spawn_app_with(|o| {
        o.ip_rate_limit = Some(2);
        o.trusted_proxies = Some(vec!["127.0.0.1".to_owned()]);
    })
    .await;
    app.register("ada@example.com", PASSWORD).await;

    // The client claims 192.0.2.66; our proxy (loopback) appended the real address.
    let chain = "192.0.2.66, 198.51.100.1";
    let first = login_from(&app, chain, "ada@example.com").await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        login_from(&app, chain, "ada@example.com").await.status(),
        StatusCode::OK
    );
    assert_problem(
        login_from(&app, chain, "ada@example.com").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(
        login_from(&app, "198.51.100.2", "ada@example.com")
            .await
            .status(),
        StatusCode::OK
    );

    let tokens: Value = first.json().await.unwrap();
    let sessions = sessions(&app, &tokens).await;
    let ips: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap())
        .collect();
    assert!(ips.contains(&"198.51.100.1"), "{ips:?}");
    assert!(!ips.contains(&"192.0.2.66"), "{ips:?}");
}

/// The value of the sample `series` (name and labels exactly as exported).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_logins_hashes_and_sessions() {
    let app = spawn_app_with(|o| o.login_max_failures = Some(2)).await;
    app.signed_up("ada@example.com").await;
    app.login("ada@example.com", "not the password").await;
    app.login("ada@example.com", "not the password").await;
    app.login("ada@example.com", "not the password").await;

    let response = app.metrics.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let series = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no {s} in:\n{text}"));
    assert_eq!(series(r#"sesame_logins_total{outcome="succeeded"}"#), 1.0);
    assert_eq!(series(r#"sesame_logins_total{outcome="failed"}"#), 2.0);
    assert_eq!(series(r#"sesame_logins_total{outcome="throttled"}"#), 1.0);
    assert_eq!(
        series(r#"sesame_http_requests_total{route="/login",method="POST",status="401"}"#),
        2.0
    );
    assert_eq!(
        series(r#"sesame_http_requests_total{route="/register",method="POST",status="201"}"#),
        1.0
    );
    // register, one successful and two failed logins: four hashes, none waiting now.
    assert_eq!(series("sesame_hashes_total"), 4.0);
    assert_eq!(series("sesame_hash_queue_depth"), 0.0);
    assert_eq!(series("sesame_hash_rejections_total"), 0.0);
    assert_eq!(series("sesame_active_sessions"), 1.0);
    assert_eq!(series("sesame_log_lines_dropped_total"), 0.0);
    assert!(text.contains("sesame_http_request_duration_seconds_bucket{"));
    assert!(!text.contains("ada@example.com"));
}

/// What the figures move on can tell who has an account (a reset mail is counted only
/// for an address that has one): they are never on the public listener.
#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    let public = app.get("/metrics").await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let private = app.metrics.get("/metrics").await;
    assert_eq!(private.status(), StatusCode::OK);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("sesame_logins_total")
    );

    // Without --metrics-bind there is no listener at all, and still none on the API.
    let defaults = sesame::config::Settings::resolve(Default::default()).unwrap();
    assert_eq!(defaults.metrics_bind, None);
    let plain = spawn_app_with(|o| o.metrics_bind = None).await;
    assert_eq!(plain.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

/// The policy layer covers its table, all of it: each endpoint of it refuses a
/// credential in the query before anything else, and answers 429 once the address is
/// over its bucket, whatever the body.
#[tokio::test]
async fn every_endpoint_of_the_credential_table_is_behind_the_policy() {
    let app = spawn_app_with(|o| o.ip_rate_limit = Some(1)).await;
    let endpoints = sesame::http::routes::credential_endpoints();
    assert!(endpoints.len() >= 20, "{endpoints:?}");
    let request = |endpoint: &str, query: &str| {
        let (method, path) = endpoint.split_once(' ').unwrap();
        let path = path.replace("{id}", &uuid::Uuid::nil().to_string());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, app.url(&format!("{path}{query}")))
            .json(&json!({}))
            .send()
    };
    for endpoint in &endpoints {
        let response = request(endpoint, "?password=x").await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{endpoint}");
        assert_problem(response, StatusCode::BAD_REQUEST, "credentials_in_query").await;
    }
    // Those took nothing from the bucket: the first request does, and then it is empty.
    let first = request(&endpoints[0], "").await.unwrap();
    assert_ne!(
        first.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        endpoints[0]
    );
    for endpoint in &endpoints {
        let response = request(endpoint, "").await.unwrap();
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }
}
