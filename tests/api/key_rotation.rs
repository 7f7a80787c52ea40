//! Signing keys that rotate: published ahead of signing, retired after every token they
//! signed has expired, rotated on schedule and on command by any instance, one key per
//! rotation however many instances ask at once.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::Value;
use sesame::mfa::FactorKey;

use super::client::field;
use super::helpers::{TestApp, spawn_app_with};
use super::server::sesame;

const ADA: &str = "ada@example.com";
/// Seconds: short, so that the server rereads its keys every second.
const PUBLISH_AHEAD: u64 = 4;
const TOKEN_TTL: u64 = 60;

/// Every stored key's id and private key, opened with the app's factor key, as
/// someone holding both the database and the key file would read them.
pub async fn stored_keys(app: &TestApp) -> Vec<(String, String)> {
    let factor_key = FactorKey::load(&app.factor_key_file).unwrap().unwrap();
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT kid, sealed_key FROM signing_keys ORDER BY generation")
            .fetch_all(&app.db().await)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(kid, sealed)| {
            let pem = factor_key.open_signing_key(&kid, &sealed).unwrap();
            (kid, String::from_utf8(pem.to_vec()).unwrap())
        })
        .collect()
}

async fn rotating_app(rotation_days: u32) -> TestApp {
    spawn_app_with(|o| {
        o.key_publish_ahead = Some(PUBLISH_AHEAD);
        o.access_token_ttl = Some(TOKEN_TTL);
        o.key_rotation_days = Some(rotation_days);
    })
    .await
}

/// `sesame keys …` against the app's store and factor key; its standard output.
fn keys_command(app: &TestApp, args: &[&str]) -> String {
    let key = app.factor_key_file.display().to_string();
    let ahead = PUBLISH_AHEAD.to_string();
    let mut all = vec!["keys"];
    all.extend_from_slice(args);
    all.extend([
        "--database",
        &app.database_url,
        "--factor-key-file",
        &key,
        "--key-publish-ahead",
        &ahead,
        "--allow-insecure-permissions",
    ]);
    let output = sesame(&all, None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn key_set(app: &TestApp) -> JwkSet {
    serde_json::from_str(&app.jwks().await).unwrap()
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|key| key.common.key_id.clone().unwrap())
        .collect()
}

/// The key set once it has `count` keys. The server rereads its keys every second; the
/// bound is generous because a loaded CI machine can stall a reread for seconds.
async fn until_published(app: &TestApp, count: usize) -> JwkSet {
    for _ in 0..200 {
        let set = key_set(app).await;
        if set.keys.len() == count {
            return set;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the key set never had {count} keys: {}", app.jwks().await);
}

fn kid_of(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

/// Verifies `token` as a resource server would, with a key set it fetched earlier.
fn verifies_with(set: &JwkSet, token: &str, issuer: &str) -> bool {
    let Some(jwk) = set.find(&kid_of(token)) else {
        return false;
    };
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok()
}

async fn access_token(app: &TestApp) -> String {
    field(&app.logged_in(ADA).await, "access_token").to_owned()
}

#[tokio::test]
async fn a_rotated_key_is_published_first_signs_later_and_its_predecessor_retires() {
    let app = rotating_app(0).await;
    app.registered(ADA).await;
    let before = access_token(&app).await;
    let old = kid_of(&before);
    assert_eq!(kids(&key_set(&app).await), [old.as_str()]);

    let made = keys_command(&app, &["rotate"]);
    assert!(made.starts_with("made key "), "{made}");
    // Asked again while the new key waits: no second key.
    let again = keys_command(&app, &["rotate"]);
    assert!(again.contains("already waits"), "{again}");
    let listed = keys_command(&app, &["list"]);
    assert!(
        listed.contains("next") && listed.contains("active"),
        "{listed}"
    );

    // Published at once, not yet signing; verifiers may cache the set for the window
    // less the server's one-second reread.
    let cached = until_published(&app, 2).await;
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.headers()["cache-control"], "public, max-age=3");
    let new = kids(&cached).into_iter().find(|kid| *kid != old).unwrap();
    assert_eq!(kid_of(&access_token(&app).await), old);

    // Its time comes: it signs, and a verifier that cached the set before needs no
    // refetch. Tokens of the old key still verify, at the server and with the set.
    app.clock
        .advance(time::Duration::seconds(PUBLISH_AHEAD as i64 + 30));
    let after = access_token(&app).await;
    assert_eq!(kid_of(&after), new);
    let issuer = app.address.clone();
    assert!(verifies_with(&cached, &after, &issuer));
    assert!(verifies_with(&key_set(&app).await, &before, &issuer));
    assert_eq!(app.me(&before).await.status(), StatusCode::OK);
    assert_eq!(kids(&key_set(&app).await), [new.clone(), old.clone()]);

    // Once every token it signed has expired (lifetime plus leeway), the old key goes.
    app.clock
        .advance(time::Duration::seconds(TOKEN_TTL as i64 + 61));
    assert_eq!(kids(&key_set(&app).await), [new.as_str()]);
    let stored = async || stored_keys(&app).await.len();
    for _ in 0..50 {
        if stored().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stored().await,
        1,
        "the retired key was not removed from the store"
    );
    let now = access_token(&app).await;
    assert_eq!(kid_of(&now), new);
    assert_eq!(app.me(&now).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_rotate_on_schedule_once_however_many_instances_ask() {
    let app = rotating_app(30).await;
    app.registered(ADA).await;
    let old = kid_of(&access_token(&app).await);

    // Eight rotations at once on the same store: one new key.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (url, key) = (app.database_url.clone(), app.factor_key_file.clone());
            std::thread::spawn(move || {
                let key = key.display().to_string();
                let args = [
                    "keys",
                    "rotate",
                    "--database",
                    &url,
                    "--factor-key-file",
                    &key,
                    "--allow-insecure-permissions",
                ];
                sesame(&args, None)
            })
        })
        .collect();
    for racer in racers {
        let output = racer.join().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "a racing rotation failed: {stderr}"
        );
    }
    assert_eq!(stored_keys(&app).await.len(), 2);
    keys_command(&app, &["revoke", &kids(&until_published(&app, 2).await)[0]]);
    until_published(&app, 1).await;

    // Thirty days on, less the publish-ahead window, the schedule makes the successor.
    app.clock.advance(time::Duration::days(30));
    let set = until_published(&app, 2).await;
    assert!(kids(&set).contains(&old));
    app.clock
        .advance(time::Duration::seconds(PUBLISH_AHEAD as i64));
    let new = kid_of(&access_token(&app).await);
    assert_ne!(new, old);
    assert_eq!(kids(&set)[0], new);
    let stored: Vec<_> = stored_keys(&app)
        .await
        .into_iter()
        .map(|(kid, _)| kid)
        .collect();
    assert_eq!(
        stored.len(),
        2,
        "{stored:?}; listed: {}",
        keys_command(&app, &["list"])
    );
}

#[tokio::test]
async fn a_revoked_key_verifies_nothing_and_the_one_before_signs_again() {
    let app = rotating_app(0).await;
    app.registered(ADA).await;
    let first = access_token(&app).await;
    keys_command(&app, &["rotate"]);
    app.clock
        .advance(time::Duration::seconds(PUBLISH_AHEAD as i64 + 30));
    until_published(&app, 2).await;
    let second = access_token(&app).await;
    assert_ne!(kid_of(&first), kid_of(&second));
    assert_eq!(app.me(&second).await.status(), StatusCode::OK);

    // The new key is revoked (a rollback): its tokens are refused within the reread,
    // although this server verified one before, and the old key signs again.
    let revoked = keys_command(&app, &["revoke", &kid_of(&second)]);
    assert!(revoked.starts_with("revoked key"), "{revoked}");
    until_published(&app, 1).await;
    assert_eq!(app.me(&second).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(kid_of(&access_token(&app).await), kid_of(&first));
    assert_eq!(app.me(&first).await.status(), StatusCode::OK);
}
