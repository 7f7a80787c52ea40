//! A lost factor key file: the server never makes a new key while secrets are sealed
//! with the old one, refuses to start with a message that names the file and the way
//! out, and `sesame factors reset-key --confirm` is that way out.

use std::os::unix::fs::PermissionsExt;

use reqwest::StatusCode;
use sesame::app::Application;
use sesame::config::{Overrides, Settings};

use super::helpers::{PASSWORD, spawn_app_on, spawn_app_with, test_overrides};
use super::mfa::enrolled;
use super::server::sesame;

const ADA: &str = "ada@example.com";

#[tokio::test]
async fn a_lost_factor_key_refuses_the_start_until_it_is_restored_or_reset() {
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("factor.key");
    let with_key = |o: &mut Overrides| o.factor_key_file = Some(path.clone());
    let app = spawn_app_with(with_key).await;
    enrolled(&app, ADA).await;
    let database = app.stop().await;
    let backup = std::fs::read(&path).unwrap();

    // The file is gone: no new key is made, and the start says what to do.
    std::fs::remove_file(&path).unwrap();
    let mut overrides = test_overrides(&database);
    with_key(&mut overrides);
    let refused = Application::build(Settings::resolve(overrides.clone()).unwrap()).await;
    let message = format!("{:#}", refused.err().expect("the start is refused"));
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("factors reset-key --confirm"), "{message}");
    assert!(!path.exists(), "a new key was written");
    // Another key in its place is refused too.
    std::fs::write(&path, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    let refused = Application::build(Settings::resolve(overrides.clone()).unwrap()).await;
    assert!(refused.is_err());

    // Restored from the backup: the start goes on, the factor still asked for.
    std::fs::write(&path, &backup).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let app = spawn_app_on(database, with_key).await;
    let login = app.login(ADA, PASSWORD).await;
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    let database = app.stop().await;

    // Lost for good: the reset removes the sealed secrets and tells the user.
    std::fs::remove_file(&path).unwrap();
    let url = overrides.database.clone().unwrap();
    let key = path.display().to_string();
    let args = [
        "factors",
        "reset-key",
        "--confirm",
        "--database",
        url.expose(),
        "--factor-key-file",
        &key,
        "--allow-insecure-permissions",
    ];
    let reset = sesame(&args, None);
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let app = spawn_app_on(database, with_key).await;
    assert!(path.exists(), "the next start makes a new key");
    assert_eq!(app.login(ADA, PASSWORD).await.status(), StatusCode::OK);
    let notices: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = 'factors_removed'")
            .fetch_one(&app.db().await)
            .await
            .unwrap();
    assert_eq!(notices, 1);
}
