//! The file transport (no `--smtp-url`): each message an `.eml` file that only the
//! server's user can read, in a folder only it can open, since each carries a code.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::helpers::spawn_app_with;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn mail_files_are_for_the_servers_user_only() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("mail");
    // A folder that was left open to everyone is closed at start.
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = spawn_app_with(|o| o.mail_dir = Some(dir.clone())).await;
    assert_eq!(mode(&dir), 0o700);

    app.registered("ada@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|e| e == "eml"));
        if let Some(file) = found {
            break file;
        }
        assert!(Instant::now() < deadline, "no .eml file was written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The worker makes the file private right after writing it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while mode(&file) != 0o600 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("ada@example.com"));
}

#[tokio::test]
async fn a_new_mail_folder_is_made_for_the_servers_user_only() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new").join("mail");
    let _app = spawn_app_with(|o| o.mail_dir = Some(dir.clone())).await;
    assert_eq!(mode(&dir), 0o700);
}
