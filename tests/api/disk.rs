//! The SQLite file when the disk fills up or the file turns read-only under a running
//! server: writes are refused with 503 `unavailable`, reads keep working, nothing that
//! was acknowledged is lost, and service resumes when the disk does, with no restart.
//!
//! Both arrange the fault as root does (mounting a small tmpfs; `chattr +i`), so they
//! are marked ignored: a plain `cargo test` without root does not count them as
//! passed. `.ci/run` (root) runs them with `cargo test --test api -- --ignored disk::`,
//! and there they fail if the fault cannot be arranged.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::client::field;
use super::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

/// The test could arrange its fault: it must, for it is run only where it can be
/// (as root).
fn arranged(what: &str, done: bool) {
    assert!(done, "arranging {what} needs root: run this test as root");
}

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A 4 MiB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        run("mount", &["-t", "tmpfs", "-o", "size=4m", "tmpfs", path]).then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        run("umount", &["-l", self.dir.path().to_str().unwrap()]);
    }
}

async fn sqlite_app_in(dir: &Path) -> TestApp {
    let url = format!("sqlite://{}/sesame.db", dir.display());
    spawn_app_with(|o| o.database = Some(url.into())).await
}

/// Registers until the store refuses: every answer is 201 or 503 `unavailable`,
/// never a 500. Returns the addresses that were acknowledged.
async fn register_until_refused(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for i in 0..300 {
        let email = format!("{prefix}{i}@example.com");
        let response = app.register(&email, PASSWORD).await;
        match response.status() {
            StatusCode::CREATED => acknowledged.push(email),
            StatusCode::SERVICE_UNAVAILABLE => {
                let retry = response.headers().contains_key("retry-after");
                assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
                assert!(retry, "a 503 says when to try again");
                return acknowledged;
            }
            other => panic!("registration {i} answered {other}"),
        }
    }
    panic!("300 registrations were all written: the fault did not take");
}

/// Space or write access is back: registrations succeed again within seconds, on the
/// same process, and every acknowledged account can log in.
async fn assert_recovers(app: &TestApp, acknowledged: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = app.register("after@example.com", PASSWORD).await.status();
        if status == StatusCode::CREATED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "no recovery without a restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for email in acknowledged {
        let response = app.login(email, PASSWORD).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "{email} was acknowledged, then lost: {body}"
        );
    }
}

#[tokio::test]
#[ignore = "needs root (tmpfs, chattr): .ci/run runs it with `cargo test --test api -- --ignored disk::`"]
async fn a_full_disk_refuses_writes_keeps_reads_and_loses_nothing() {
    let disk = SmallDisk::mount();
    arranged("a full filesystem", disk.is_some());
    let disk = disk.unwrap();
    let app = sqlite_app_in(disk.path()).await;
    let tokens = app.signed_up("ada@example.com").await;
    let mut acknowledged = vec!["ada@example.com".to_owned()];

    let filler = disk.fill();
    acknowledged.extend(register_until_refused(&app, "full").await);
    // Reads still answer: readiness, and the signed-in user's own data.
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let me = app.me(field(&tokens, "access_token")).await;
    assert_eq!(me.status(), StatusCode::OK);

    std::fs::remove_file(filler).unwrap();
    assert_recovers(&app, &acknowledged).await;
}

#[tokio::test]
#[ignore = "needs root (chattr): .ci/run runs it with `cargo test --test api -- --ignored disk::`"]
async fn a_read_only_database_file_refuses_writes_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app_in(dir.path()).await;
    let tokens = app.signed_up("ada@example.com").await;
    // The database and its write-ahead log become immutable (root's read-only: file
    // modes do not stop root). The shared-memory index stays writable, as SQLite
    // needs it mapped to read at all.
    let files: Vec<String> = ["sesame.db", "sesame.db-wal"]
        .iter()
        .map(|f| dir.path().join(f).display().to_string())
        .collect();
    let frozen = run("chattr", &["+i", &files[0], &files[1]]);
    arranged("an immutable file (chattr +i)", frozen);
    let acknowledged = register_until_refused(&app, "ro").await;
    assert!(
        acknowledged.is_empty(),
        "a write went through a read-only file"
    );
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let me = app.me(field(&tokens, "access_token")).await;
    assert_eq!(me.status(), StatusCode::OK);

    assert!(run("chattr", &["-i", &files[0], &files[1]]));
    assert_recovers(&app, &["ada@example.com".to_owned()]).await;
}
