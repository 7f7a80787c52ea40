//! A real SMTP server for the tests that read mail: `tests/support/smtp_sink.py`, on
//! aiosmtpd (Debian's python3-aiosmtpd), one per test on a free port. It writes each
//! message it accepts as JSON, parsed by Python's own email package, and refuses
//! every message with a 451 while told to.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sesame::config::Overrides;

use super::helpers::{TestApp, spawn_app_with};

/// How long a message may take to arrive: the outbox worker runs as soon as mail is
/// queued, and polls every second.
const PATIENCE: Duration = Duration::from_secs(15);

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// A message as the sink received it.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Mail {
    fn text(&self) -> &str {
        self.text
            .as_deref()
            .expect("every message has a plain-text part")
    }

    /// The 6-digit code the message carries.
    pub fn code(&self) -> String {
        let text = self.text();
        let at = text.find("Code: ").expect("the message carries a code") + 6;
        text[at..at + 6].to_owned()
    }

    /// The link's token.
    pub fn token(&self) -> String {
        let text = self.text();
        let at = text.find("token=").expect("the message carries a link") + 6;
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The link's path and query, to open on the test's server.
    pub fn link_path(&self) -> String {
        let text = self.text();
        let start = text.find("/ui/").expect("the message carries a link");
        text[start..].split_whitespace().next().unwrap().to_owned()
    }
}

/// Debian's python3, which has aiosmtpd (a pyenv python on PATH may not).
fn python() -> String {
    std::env::var("SESAME_TEST_SMTP_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned())
}

impl SmtpSink {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd runs the SMTP sink (apt install python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (is python3-aiosmtpd installed?): {line:?}")
        });
        Self { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answers every message with 451 until told otherwise.
    pub fn refuse(&self, refuse: bool) {
        let flag = self.dir.path().join("refuse");
        if refuse {
            std::fs::write(flag, b"").unwrap();
        } else {
            std::fs::remove_file(flag).unwrap();
        }
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("new"))
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|path| path.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages have arrived in all, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{n} messages expected, {} arrived: {received:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the `n`th message (counting from 1) and returns it.
    pub async fn nth(&self, n: usize) -> Mail {
        self.wait_for(n).await.swap_remove(n - 1)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test server whose mail goes to a fresh SMTP sink.
pub async fn spawn_app_with_mail(configure: impl FnOnce(&mut Overrides)) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(|overrides| {
        overrides.smtp_url = Some(url.into());
        configure(overrides);
    })
    .await;
    (app, sink)
}
