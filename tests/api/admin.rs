//! The admin API: who may call it, users, pagination, disabling, and the command line
//! that makes the first admin and the API keys.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, assert_problem, claims, spawn_app};
use super::server;

/// Runs `sesame ARGS --database URL` against the test's store; its standard output.
pub fn sesame(app: &TestApp, args: &[&str]) -> String {
    let database = [
        "--database",
        &app.database_url,
        "--allow-insecure-permissions",
    ];
    let output = server::sesame(&[args, &database[..]].concat(), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "sesame {args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// An access token of `email`, made an admin with the command line, as a first admin is.
pub async fn admin_token(app: &TestApp, email: &str) -> String {
    app.registered(email).await;
    sesame(app, &["user", "role", "add", email, "admin"]);
    let tokens = app.logged_in(email).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// A new API key, as `sesame key create` prints it.
pub fn api_key(app: &TestApp, name: &str) -> String {
    let key = sesame(app, &["key", "create", "--name", name]);
    let key = key.trim().to_owned();
    assert!(key.starts_with("ssk_"), "{key}");
    key
}

pub async fn admin(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    app.bearer(method, path, token).await
}

pub async fn admin_json(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    app.bearer_json(method, path, token, body).await
}

async fn user_id(app: &TestApp, token: &str, email: &str) -> String {
    let response = admin(app, Method::GET, &format!("/admin/users?q={email}"), token).await;
    let page: Value = response.json().await.unwrap();
    page["users"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn only_admins_and_live_keys_may_call_the_admin_api() {
    let app = spawn_app().await;
    let admin_token = admin_token(&app, "root@example.com").await;
    let user = app.signed_up("ada@example.com").await;
    let user_token = user["access_token"].as_str().unwrap();
    let key = api_key(&app, "billing");

    let none = app.get("/admin/users").await;
    assert_problem(none, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let plain = admin(&app, Method::GET, "/admin/users", user_token).await;
    assert_problem(plain, StatusCode::FORBIDDEN, "forbidden").await;
    let forged = admin(&app, Method::GET, "/admin/users", "ssk_not-a-key").await;
    assert_problem(forged, StatusCode::UNAUTHORIZED, "invalid_token").await;
    for token in [admin_token.as_str(), key.as_str()] {
        let ok = admin(&app, Method::GET, "/admin/users", token).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let audit = admin(&app, Method::GET, "/admin/audit", token).await;
        assert_eq!(audit.status(), StatusCode::OK);
    }

    let listed = sesame(&app, &["key", "list"]);
    assert!(listed.starts_with("billing\t"), "{listed}");
    assert!(
        !listed.contains("last used -"),
        "the use is stamped: {listed}"
    );
    sesame(&app, &["key", "revoke", "billing"]);
    let revoked = admin(&app, Method::GET, "/admin/users", &key).await;
    assert_problem(revoked, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // A role taken away counts at once, whatever the token still claims.
    sesame(
        &app,
        &["user", "role", "remove", "root@example.com", "admin"],
    );
    let demoted = admin(&app, Method::GET, "/admin/users", &admin_token).await;
    assert_problem(demoted, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn access_tokens_carry_the_roles() {
    let app = spawn_app().await;
    admin_token(&app, "root@example.com").await;
    let tokens = app.logged_in("root@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["roles"], json!(["admin"]));
    let me: Value = app.me(token).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["admin"]));
}

#[tokio::test]
async fn pages_return_every_user_once_while_users_come_and_go() {
    let app = spawn_app().await;
    let token = admin_token(&app, "root@example.com").await;
    for n in 0..24 {
        app.registered(&format!("user{n:02}@example.com")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut added = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/admin/users?limit=7&cursor={cursor}"),
            None => "/admin/users?limit=7".to_owned(),
        };
        let page: Value = admin(&app, Method::GET, &path, &token)
            .await
            .json()
            .await
            .unwrap();
        for user in page["users"].as_array().unwrap() {
            seen.push(user["email"].as_str().unwrap().to_owned());
        }
        // Between pages: new users arrive, and one already seen leaves.
        app.registered(&format!("late{added}@example.com")).await;
        added += 1;
        if added == 2 {
            let gone = user_id(&app, &token, "user00").await;
            let deleted = admin(
                &app,
                Method::DELETE,
                &format!("/admin/users/{gone}"),
                &token,
            )
            .await;
            assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a user was listed twice: {seen:?}"
    );
    for n in 0..24 {
        assert!(
            seen.contains(&format!("user{n:02}@example.com")),
            "user{n:02} was skipped"
        );
    }
    assert!(seen.contains(&"root@example.com".to_owned()));
}

#[tokio::test]
async fn search_finds_any_part_of_an_email_in_any_case() {
    let app = spawn_app().await;
    let token = admin_token(&app, "root@example.com").await;
    for email in [
        "Ada.Lovelace@example.com",
        "grace_hopper@navy.mil",
        "gracehopper@example.org",
    ] {
        app.registered(email).await;
    }
    let found = async |q: &str| -> Vec<String> {
        let page: Value = admin(&app, Method::GET, &format!("/admin/users?q={q}"), &token)
            .await
            .json()
            .await
            .unwrap();
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(found("LOVELACE").await, ["Ada.Lovelace@example.com"]);
    assert_eq!(
        found("ce_h").await,
        ["grace_hopper@navy.mil"],
        "`_` is no wildcard"
    );
    assert_eq!(found("y.m").await, ["grace_hopper@navy.mil"]);
    // Quotes and control characters are text too (a NUL once broke SQLite's query).
    assert!(found("gr%22ace").await.is_empty());
    assert!(found("grace%00").await.is_empty());
    assert!(found("%22%22%22").await.is_empty());
    // A search is as long as an address at most: longer is refused, not run.
    assert!(found(&"a".repeat(254)).await.is_empty());
    let long = format!("/admin/users?q={}", "a".repeat(50_000));
    let response = admin(&app, Method::GET, &long, &token).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(
        found("gr").await.len(),
        2,
        "two letters, below the trigram index"
    );
    assert!(found("%25").await.is_empty(), "`%` is no wildcard");
    assert_eq!(found("example").await.len(), 3);
    // Pages of two: the first is found among the next users in id order, the rest
    // through the index; together every match once.
    let first: Value = admin(&app, Method::GET, "/admin/users?q=EXAMPLE&limit=2", &token)
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = admin(
        &app,
        Method::GET,
        &format!("/admin/users?q=example&limit=2&cursor={cursor}"),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    let mut paged: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|page| page["users"].as_array().unwrap())
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    paged.sort_unstable();
    assert_eq!(
        paged,
        [
            "Ada.Lovelace@example.com",
            "gracehopper@example.org",
            "root@example.com"
        ]
    );
    assert!(second["next_cursor"].is_null());

    let bad = admin(&app, Method::GET, "/admin/users?limit=201", &token).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    let bad = admin(&app, Method::GET, "/admin/users?cursor=nope", &token).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    let bad = admin(&app, Method::GET, "/admin/users?page=2", &token).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}

#[tokio::test]
async fn disabling_ends_every_session_at_once() {
    let app = spawn_app().await;
    let token = admin_token(&app, "root@example.com").await;
    let ada = app.signed_up("ada@example.com").await;
    let access = ada["access_token"].as_str().unwrap();
    // The session check is cached for a second: this request fills the cache.
    assert_eq!(app.me(access).await.status(), StatusCode::OK);
    let id = user_id(&app, &token, "ada@example.com").await;
    let path = format!("/admin/users/{id}");

    let disabled = admin_json(
        &app,
        Method::PATCH,
        &path,
        &token,
        &json!({"disabled": true}),
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let body: Value = disabled.json().await.unwrap();
    assert_eq!(body["disabled"], true);
    assert_eq!(body["sessions"], 0);
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
    app.assert_refresh_refused(ada["refresh_token"].as_str().unwrap())
        .await;
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_disabled").await;

    let enabled = admin_json(
        &app,
        Method::PATCH,
        &path,
        &token,
        &json!({"disabled": false}),
    )
    .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    app.logged_in("ada@example.com").await;
}

#[tokio::test]
async fn the_cli_disables_enables_logs_out_shows_and_deletes() {
    let app = spawn_app().await;
    let ada = app.signed_up("ada@example.com").await;
    let access = ada["access_token"].as_str().unwrap();
    let listed = sesame(&app, &["user", "list", "--query", "ADA"]);
    assert!(listed.contains("\tada@example.com\t"), "{listed}");
    let shown: Value =
        serde_json::from_str(&sesame(&app, &["user", "show", "ada@example.com"])).unwrap();
    assert_eq!(shown["sessions"], 1);

    sesame(&app, &["user", "logout", "ada@example.com"]);
    // Another process ended the session: this one trusts its check for the
    // session-check window (SQLite has no notices), on the test's clock.
    app.clock.advance(time::Duration::seconds(2));
    assert_eq!(app.me(access).await.status(), StatusCode::UNAUTHORIZED);
    sesame(&app, &["user", "disable", "ada@example.com"]);
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_disabled").await;
    sesame(&app, &["user", "enable", "ada@example.com"]);
    app.logged_in("ada@example.com").await;
    sesame(&app, &["user", "delete", "ada@example.com"]);
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.registered("ada@example.com").await;
}

#[tokio::test]
async fn admins_create_read_update_and_delete_users() {
    let app = spawn_app().await;
    let token = admin_token(&app, "root@example.com").await;

    let created = admin_json(&app, Method::POST, "/admin/users", &token,
        &json!({"email": "Ada@Example.com", "password": PASSWORD, "email_verified": true, "roles": ["support"]})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let ada: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/admin/users/{}", ada["id"].as_str().unwrap())
    );
    assert_eq!(ada["email_verified"], true);
    assert_eq!(ada["roles"], json!(["support"]));
    assert_eq!(ada["metadata"], json!({}));
    app.logged_in("ada@example.com").await;
    let again = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await;
    assert_problem(again, StatusCode::CONFLICT, "email_taken").await;

    // An imported bcrypt hash, as the seed's passlib wrote it: the password works.
    let bcrypt = bcrypt::hash(PASSWORD, 4).unwrap();
    let imported = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "seed@example.com", "password_hash": bcrypt}),
    )
    .await;
    assert_eq!(imported.status(), StatusCode::CREATED);
    app.logged_in("seed@example.com").await;
    let bad_hash = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "x@example.com", "password_hash": "plaintext"}),
    )
    .await;
    assert_problem(bad_hash, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    let weak = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "y@example.com", "password": "short"}),
    )
    .await;
    assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    let role = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "z@example.com", "roles": ["Not A Role"]}),
    )
    .await;
    assert_problem(role, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;

    let path = location;
    let read: Value = admin(&app, Method::GET, &path, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["sessions"], 1);
    assert!(read["last_login_at"].is_string());
    let changed = admin_json(&app, Method::PATCH, &path, &token,
        &json!({"email": "lovelace@example.com", "metadata": {"plan": "pro"}, "roles": ["support", "billing"]})).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["email"], "lovelace@example.com");
    assert_eq!(
        changed["email_verified"], false,
        "a new address is unverified"
    );
    assert_eq!(changed["metadata"], json!({"plan": "pro"}));
    assert_eq!(changed["roles"], json!(["support", "billing"]));
    let big = json!({"metadata": {"blob": "x".repeat(4_096)}});
    let too_big = admin_json(&app, Method::PATCH, &path, &token, &big).await;
    assert_problem(too_big, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    let taken = admin_json(
        &app,
        Method::PATCH,
        &path,
        &token,
        &json!({"email": "root@example.com"}),
    )
    .await;
    assert_problem(taken, StatusCode::CONFLICT, "email_taken").await;
    let unknown = admin_json(
        &app,
        Method::PATCH,
        &path,
        &token,
        &json!({"nickname": "ada"}),
    )
    .await;
    assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let logout = admin(&app, Method::POST, &format!("{path}/logout"), &token).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let read: Value = admin(&app, Method::GET, &path, &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["sessions"], 0);
    let mfa = admin(&app, Method::DELETE, &format!("{path}/mfa"), &token).await;
    assert_eq!(mfa.status(), StatusCode::NO_CONTENT);
    let deleted = admin(&app, Method::DELETE, &path, &token).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::POST, "/logout"),
        (Method::POST, "/password-reset"),
        (Method::DELETE, "/mfa"),
    ] {
        let gone = admin(&app, method, &format!("{path}{suffix}"), &token).await;
        assert_problem(gone, StatusCode::NOT_FOUND, "user_not_found").await;
    }
    let not_an_id = admin(&app, Method::GET, "/admin/users/42", &token).await;
    assert_problem(not_an_id, StatusCode::NOT_FOUND, "user_not_found").await;
    app.registered("lovelace@example.com").await;
}

#[tokio::test]
async fn a_user_created_without_a_password_is_invited_by_a_reset_mail() {
    let app = spawn_app().await;
    let token = admin_token(&app, "root@example.com").await;
    let created = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &token,
        &json!({"email": "new@example.com"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // No password opens the account before the invitation is used.
    let login = app.login("new@example.com", PASSWORD).await;
    assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let reset = admin(
        &app,
        Method::POST,
        &format!("/admin/users/{id}/password-reset"),
        &token,
    )
    .await;
    assert_eq!(reset.status(), StatusCode::ACCEPTED);
    let events: Value = admin(
        &app,
        Method::GET,
        &format!("/admin/audit?user_id={id}&type=password.reset_requested"),
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    let events = events["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e["actor"]["kind"] == "admin"),
        "{events:?}"
    );
}
