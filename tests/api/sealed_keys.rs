//! Private signing keys are sealed at rest: neither the database file (SQLite, with its
//! write-ahead log) nor a `pg_dump` holds one that can be used, and a key stored in
//! clear before sealing existed is sealed at the next start, still the same key.

use std::os::unix::fs::PermissionsExt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use sesame::tokens::{JwtAlgorithm, SigningKey};
use time::OffsetDateTime;

use super::client::field;
use super::helpers::{TestApp, TestDatabase, spawn_app, spawn_app_on};
use super::key_rotation::stored_keys;

/// What must not be found at rest: the PEM's base64 lines and the private scalar
/// (offset 36 of a P-256 PKCS#8 document).
fn secrets_of(pem: &str) -> Vec<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(&body).unwrap();
    let mut secrets: Vec<Vec<u8>> = pem
        .lines()
        .filter(|line| !line.starts_with("-----") && line.len() > 20)
        .map(|line| line.as_bytes().to_vec())
        .collect();
    secrets.push(der[36..68].to_vec());
    // pg_dump writes bytea as hex.
    secrets.push(hex(&der[36..68]).into_bytes());
    secrets
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Everything the database leaves at rest: the SQLite files, or a PostgreSQL dump.
async fn at_rest(app: &TestApp) -> Vec<u8> {
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-journal"] {
            bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
        }
        return bytes;
    }
    let dump = std::process::Command::new("pg_dump")
        .arg(&app.database_url)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    dump.stdout
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn assert_sealed(app: &TestApp) {
    let rest = at_rest(app).await;
    assert!(!holds(&rest, b"PRIVATE KEY"));
    let keys = stored_keys(app).await;
    assert!(!keys.is_empty());
    for (kid, pem) in keys {
        for secret in secrets_of(&pem) {
            assert!(
                !holds(&rest, &secret),
                "the private key of {kid} is at rest in clear"
            );
        }
    }
    let clear: i64 =
        sqlx::query_scalar("SELECT count(*) FROM signing_keys WHERE clear_pem IS NOT NULL")
            .fetch_one(&app.db().await)
            .await
            .unwrap();
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn no_private_signing_key_is_stored_in_clear() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    let database = app.stop().await;
    // After a clean stop and at the next start alike.
    let app = spawn_app_on(database, |_| {}).await;
    assert_sealed(&app).await;
}

/// Applies the migrations from before sealing (SQLite up to 0010, PostgreSQL up to
/// 0009) and stores a key in clear, as Sesame did then; returns its id and PEM.
async fn store_before_sealing(database: &TestDatabase) -> (String, String) {
    let sqlite = database.url.starts_with("sqlite:");
    let (engine, last) = if sqlite {
        ("sqlite", 10)
    } else {
        ("postgres", 9)
    };
    let old = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name[..4].parse::<u32>().unwrap() <= last {
            std::fs::copy(entry.path(), old.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    let (key, pem) = SigningKey::generate(JwtAlgorithm::Es256).unwrap();
    let kid = key.kid().unwrap().to_owned();
    let pem = secrecy::ExposeSecret::expose_secret(&pem).to_owned();
    let insert = "INSERT INTO signing_keys (kid, alg, private_key_pem, created_at, active)
                  VALUES ($1, 'ES256', $2, $3, TRUE)";
    let now = OffsetDateTime::now_utc();
    if sqlite {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator.run(&pool).await.unwrap();
        let query = sqlx::query(insert).bind(&kid).bind(&pem).bind(now);
        query.execute(&pool).await.unwrap();
        pool.close().await;
        let path = database.url.strip_prefix("sqlite://").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        let query = sqlx::query(insert).bind(&kid).bind(&pem).bind(now);
        query.execute(&pool).await.unwrap();
        pool.close().await;
    }
    (kid, pem)
}

#[tokio::test]
async fn a_key_stored_in_clear_before_sealing_is_sealed_and_still_signs() {
    let database = TestDatabase::new().await;
    let (kid, pem) = store_before_sealing(&database).await;

    let app = spawn_app_on(database, |_| {}).await;
    assert_eq!(stored_keys(&app).await, [(kid.clone(), pem)]);
    assert_sealed(&app).await;
    let tokens = app.signed_up("ada@example.com").await;
    let token = field(&tokens, "access_token");
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    assert_eq!(app.me(token).await.status(), StatusCode::OK);
}
