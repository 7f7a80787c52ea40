//! The audit trail: an event for every authentication and admin action, with the right
//! actor, queryable newest first; no secret in any of them; expiry in small batches.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::admin::{admin, admin_json, admin_token, api_key};
use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

/// Every event the query `filter` finds, following the cursors, newest first.
pub(super) async fn events(app: &TestApp, token: &str, filter: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/admin/audit?limit=50{filter}{cursor}");
        let response = admin(app, Method::GET, &path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: Value = response.json().await.unwrap();
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn each_flow_records_its_event_with_who_did_it() {
    let app = spawn_app().await;
    let root = admin_token(&app, "root@example.com").await;
    let key = api_key(&app, "ops");

    let ada = app.signed_up("ada@example.com").await;
    let access = ada["access_token"].as_str().unwrap();
    let me: Value = app.me(access).await.json().await.unwrap();
    let ada_id = me["id"].as_str().unwrap().to_owned();
    let wrong = app.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let change = app
        .bearer_json(
            Method::POST,
            "/me/password",
            access,
            &json!({"current_password": PASSWORD, "new_password": "a new strong passphrase"}),
        )
        .await;
    assert_eq!(change.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.bearer(Method::POST, "/logout", access).await.status(),
        StatusCode::NO_CONTENT
    );
    let path = format!("/admin/users/{ada_id}");
    let disable = admin_json(&app, Method::PATCH, &path, &key, &json!({"disabled": true})).await;
    assert_eq!(disable.status(), StatusCode::OK);
    let update = admin_json(
        &app,
        Method::PATCH,
        &path,
        &root,
        &json!({"roles": ["support"]}),
    )
    .await;
    assert_eq!(update.status(), StatusCode::OK);

    let trail = events(&app, &root, &format!("&user_id={ada_id}")).await;
    let mut expected = vec![
        "user.registered",
        "login.succeeded",
        "login.failed",
        "password.changed",
        "session.ended",
        "user.updated",
        "user.disabled",
        "user.updated",
    ];
    expected.reverse();
    assert_eq!(types(&trail), expected, "newest first");
    let by_kind = |kind: &'static str| trail.iter().filter(move |e| e["type"] == kind);
    for event in by_kind("login.succeeded").chain(by_kind("password.changed")) {
        assert_eq!(event["actor"], json!({"kind": "user", "id": ada_id}));
        assert_eq!(event["outcome"], "success");
        assert_eq!(event["ip"], "127.0.0.1");
        assert!(event["request_id"].is_string());
        assert!(event["session_id"].is_string());
    }
    let failed = by_kind("login.failed").next().unwrap();
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["details"]["reason"], "invalid_credentials");
    assert_eq!(
        by_kind("session.ended").next().unwrap()["details"]["reason"],
        "logout"
    );
    let disabled = by_kind("user.disabled").next().unwrap();
    assert_eq!(disabled["actor"]["kind"], "key");
    let root_update = &trail[0];
    assert_eq!(root_update["actor"]["kind"], "admin");
    assert_eq!(root_update["details"]["fields"], json!(["roles"]));

    // A login for an address with no account leaves a trace, but not the address.
    let failures = events(&app, &root, "&type=login.failed").await;
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().any(|e| e["user_id"].is_null()));
    let keys = events(&app, &root, "&type=key.created").await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["actor"]["kind"], "system");
    assert_eq!(keys[0]["details"]["name"], "ops");

    let bad = admin(&app, Method::GET, "/admin/audit?type=login", &root).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    let bad = admin(&app, Method::GET, "/admin/audit?since=yesterday", &root).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
}

#[tokio::test]
async fn the_trail_pages_by_time_range_without_gaps() {
    let app = spawn_app().await;
    let root = admin_token(&app, "root@example.com").await;
    for n in 0..12 {
        let failed = app.login(&format!("ghost{n}@example.com"), PASSWORD).await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    let all = events(&app, &root, "&type=login.failed").await;
    assert_eq!(all.len(), 12);
    let paged = {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let page: Value = admin(
                &app,
                Method::GET,
                &format!("/admin/audit?type=login.failed&limit=5{cursor}"),
                &root,
            )
            .await
            .json()
            .await
            .unwrap();
            seen.extend(
                page["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["id"].clone()),
            );
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break seen,
            }
        }
    };
    let ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, ids);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.as_str().cmp(&a.as_str()));
    assert_eq!(ids, sorted, "newest first");

    let at = all[0]["at"].as_str().unwrap();
    let later = events(
        &app,
        &root,
        &format!("&type=login.failed&since={}", urlencode(at)),
    )
    .await;
    assert!(!later.is_empty() && later.len() <= 12);
    let before = events(
        &app,
        &root,
        &format!("&type=login.failed&until={}", urlencode(at)),
    )
    .await;
    assert_eq!(
        later.len() + before.len(),
        12,
        "since and until split the trail"
    );
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn no_event_holds_a_password_token_code_or_hash() {
    let app = spawn_app().await;
    let root = admin_token(&app, "root@example.com").await;
    let key = api_key(&app, "ops");
    let mut secrets = vec![PASSWORD.to_owned(), key.clone(), root.clone()];
    let ada = app.signed_up("ada@example.com").await;
    for field in ["access_token", "refresh_token"] {
        secrets.push(ada[field].as_str().unwrap().to_owned());
    }
    let refreshed = app.refreshed(ada["refresh_token"].as_str().unwrap()).await;
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    // A reuse of the rotated token, past the grace window.
    app.clock.advance(time::Duration::seconds(60));
    app.assert_refresh_refused(ada["refresh_token"].as_str().unwrap())
        .await;
    let wrong = "wrong password 123";
    secrets.push(wrong.to_owned());
    app.login("ada@example.com", wrong).await;
    let new_password = "another passphrase 456";
    secrets.push(new_password.to_owned());
    let created = admin_json(
        &app,
        Method::POST,
        "/admin/users",
        &key,
        &json!({"email": "grace@example.com", "password": new_password}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let forgot = app
        .post_json("/password/forgot", &json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // What the store keeps of the passwords: their hashes.
    let db = app.db().await;
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT password_hash FROM users")
        .fetch_all(&db)
        .await
        .unwrap();
    secrets.extend(hashes.into_iter().map(|(hash,)| hash));

    let trail = events(&app, &root, "").await;
    let kinds = types(&trail);
    for kind in [
        "session.reuse_detected",
        "password.reset_requested",
        "login.failed",
        "user.registered",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let text = serde_json::to_string(&trail).unwrap();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "an event holds a secret");
        // Nor any long piece of one (a hash's salt, a token's signature).
        if secret.len() > 40 {
            let tail = &secret[secret.len() - 24..];
            assert!(!text.contains(tail), "an event holds part of a secret");
        }
    }
}

#[tokio::test]
async fn expiry_deletes_old_events_in_small_batches() {
    let app = spawn_app_with(|o| o.audit_retention_days = Some(30)).await;
    // 2,500 events, 40 days ago: failed logins of addresses with no account.
    app.clock.advance(time::Duration::days(-40));
    for n in 0..2_500 {
        let login = app.login(&format!("old{n}@example.com"), "x").await;
        assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    }
    app.clock.advance(time::Duration::days(40));
    let root = admin_token(&app, "root@example.com").await;

    let store = sesame::store::open(
        &app.database_url,
        2,
        sesame::store::Permissions::AllowInsecure,
    )
    .await
    .unwrap();
    let before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let mut batches = Vec::new();
    loop {
        let deleted = store.expire_audit_events(before, 1_000).await.unwrap();
        batches.push(deleted);
        if deleted < 1_000 {
            break;
        }
    }
    assert_eq!(
        batches,
        [1_000, 1_000, 500],
        "one bounded statement per batch"
    );
    let left = events(&app, &root, "&type=login.failed").await;
    assert!(left.is_empty(), "{} old events left", left.len());
    let recent = events(&app, &root, "&type=user.registered").await;
    assert_eq!(recent.len(), 1, "recent events stay");
}
