//! The answers every operation of a kind can give, whatever its handler lists: a body
//! that cannot be read, a missing or malformed token, a store that is down, a request
//! that ran out of time. They come from extractors and layers, not from the handler,
//! so they are added here once, from what the document already says of the operation,
//! and a new endpoint cannot forget them.

use utoipa::Modify;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Response};

use crate::http::error::PROBLEM_JSON;

/// Tags whose operations read or write the store (so can find it unavailable).
const STORE_TAGS: [&str; 6] = ["accounts", "admin", "email", "mfa", "sessions", "tokens"];

pub struct CommonResponses;

/// What the credential policy (`http/policy.rs`) answers, on every operation of the
/// table it covers.
pub(super) fn credential_responses(openapi: &mut OpenApi) {
    each_operation(openapi, |operation| {
        add(
            operation,
            "400",
            "credentials_in_query: a password, token or code in the query string",
        );
        add(
            operation,
            "429",
            "rate_limited: this client address is over --ip-rate-limit",
        );
    });
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        each_operation(openapi, complete);
    }
}

fn each_operation(openapi: &mut OpenApi, mut f: impl FnMut(&mut Operation)) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        operations.into_iter().flatten().for_each(&mut f);
    }
}

fn complete(operation: &mut Operation) {
    // `/token` answers in RFC 6749's shape: its handler already maps every rejection
    // of its body to a documented 400, 429 or 503.
    let problems = !speaks_oauth(operation);
    if operation.request_body.is_some() && problems {
        add(
            operation,
            "400",
            "malformed_body: the body is not valid JSON",
        );
        add(
            operation,
            "413",
            "body_too_large: the body is larger than --body-limit",
        );
        add(
            operation,
            "415",
            "unsupported_media_type: send application/json or application/x-www-form-urlencoded",
        );
        add(
            operation,
            "422",
            "invalid_body: a field is missing, of the wrong type, or not expected",
        );
    }
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(
            operation,
            "400",
            "invalid_request: the Authorization header is malformed",
        );
        add(operation, "401", "unauthenticated: no bearer token");
        add(
            operation,
            "401",
            "invalid_token: expired, forged, or its session has ended",
        );
    }
    let uses_store = operation
        .tags
        .iter()
        .flatten()
        .any(|tag| STORE_TAGS.contains(&tag.as_str()));
    if uses_store && problems {
        add(
            operation,
            "503",
            "unavailable: the store cannot be reached, with Retry-After",
        );
    }
    add(
        operation,
        "408",
        "timeout: the request took longer than --request-timeout",
    );
    for (status, response) in &mut operation.responses.responses {
        if let ("429" | "503", RefOr::T(response)) = (status.as_str(), response) {
            response
                .headers
                .entry("Retry-After".to_owned())
                .or_insert_with(|| RefOr::T(retry_after()));
        }
    }
}

fn speaks_oauth(operation: &Operation) -> bool {
    operation
        .responses
        .responses
        .iter()
        .any(|(status, response)| {
            status.starts_with('4')
                && matches!(response, RefOr::T(r) if r.content.contains_key("application/json"))
        })
}

/// Adds a problem-document response, or names one more cause on the one already there.
fn add(operation: &mut Operation, status: &str, cause: &str) {
    let code = cause.split(':').next().unwrap_or(cause);
    let entry = operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            let mut response = Response::new("");
            response.content.insert(
                PROBLEM_JSON.to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
            );
            RefOr::T(response)
        });
    if let RefOr::T(response) = entry {
        let named = response
            .description
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == code);
        if !named {
            if !response.description.is_empty() {
                response.description.push_str("; ");
            }
            response.description.push_str(cause);
        }
    }
}

fn retry_after() -> Header {
    let mut header = Header::new(Object::with_type(Type::Integer));
    header.description = Some("Seconds to wait before trying again".to_owned());
    header
}
