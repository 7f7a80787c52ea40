//! The OpenAPI document tells the whole truth: every answer the server gives to a
//! request it refuses is listed for that operation, with the content type it comes in.
//! Driven by the document itself, so an endpoint added later is checked too.
//! (schemathesis, `tests/schemathesis/run`, checks the same from the outside.)

use reqwest::{Method, Response};
use serde_json::{Value, json};

use super::client::field;
use super::helpers::spawn_app_with;

const BODY_LIMIT: usize = 2048;

/// Checks that `response` is one the document lists for `method path`.
async fn assert_documented(doc: &Value, method: &str, path: &str, case: &str, response: Response) {
    let status = response.status().as_u16().to_string();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let documented = &doc["paths"][path][method]["responses"][&status];
    assert!(
        documented.is_object(),
        "{method} {path} ({case}) answered {status}, which the document does not list"
    );
    if let Some(content_type) = content_type {
        assert!(
            documented["content"].get(&content_type).is_some(),
            "{method} {path} ({case}) answered {status} as {content_type}; documented: {}",
            documented["content"]
        );
    }
    if response.headers().contains_key("retry-after") {
        assert!(
            documented["headers"].get("Retry-After").is_some(),
            "{method} {path} ({case}): Retry-After is sent but not documented"
        );
    }
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

#[tokio::test]
async fn every_refused_body_and_credential_is_a_documented_answer() {
    let app = spawn_app_with(|o| o.body_limit = Some(BODY_LIMIT)).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let token = field(
        &app.signed_up("conformance@example.com").await,
        "access_token",
    )
    .to_owned();
    let mut checked = 0;
    for (method, path, operation) in operations(&doc) {
        let url = app.url(&path.replace("{id}", "0193a1b2-0000-7000-8000-000000000000"));
        let verb: Method = method.to_uppercase().parse().unwrap();
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        let request = || {
            let request = app.client.request(verb.clone(), &url);
            if secured {
                request.bearer_auth(&token)
            } else {
                request
            }
        };
        if operation.get("requestBody").is_some() {
            let cases = [
                (
                    "malformed JSON",
                    "application/json",
                    "{\"email\":".to_owned(),
                ),
                (
                    "unknown field",
                    "application/json",
                    json!({"unexpected": 1}).to_string(),
                ),
                ("a JSON array", "application/json", "[]".to_owned()),
                (
                    "a string where an object goes",
                    "application/json",
                    "\"text\"".to_owned(),
                ),
                (
                    "form without fields",
                    "application/x-www-form-urlencoded",
                    "x=%ZZ".to_owned(),
                ),
                ("unsupported media type", "text/plain", "hello".to_owned()),
                (
                    "oversized",
                    "application/json",
                    format!("\"{}\"", "x".repeat(BODY_LIMIT)),
                ),
            ];
            for (case, content_type, body) in cases {
                let response = request()
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    response.status().is_client_error(),
                    "{method} {path} ({case})"
                );
                assert_documented(&doc, &method, &path, case, response).await;
                checked += 1;
            }
        }
        if secured {
            let authorizations = [
                ("no token", None),
                ("a forged token", Some("Bearer e30.e30.c2ln")),
                ("another scheme", Some("Basic YWRhOnB3")),
                ("an empty bearer", Some("Bearer ")),
            ];
            for (case, authorization) in authorizations {
                let mut request = app.client.request(verb.clone(), &url);
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                let response = request.send().await.unwrap();
                assert!(
                    response.status().is_client_error(),
                    "{method} {path} ({case})"
                );
                assert_documented(&doc, &method, &path, case, response).await;
                checked += 1;
            }
        }
    }
    // Six operations take a body and seven need a token: the loop above saw them.
    assert!(
        checked >= 6 * 7 + 7 * 4,
        "only {checked} cases were checked"
    );
}

/// Every operation that can be told to wait says how long, in the header it documents.
#[tokio::test]
async fn every_429_and_503_documents_retry_after() {
    let app = spawn_app_with(|_| {}).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (method, path, operation) in operations(&doc) {
        for status in ["429", "503"] {
            if let Some(response) = operation["responses"].get(status) {
                assert!(
                    response["headers"].get("Retry-After").is_some(),
                    "{method} {path} {status}"
                );
            }
        }
    }
}
