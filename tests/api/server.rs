//! The real binary as a child process: `Server` starts `sesame serve` on port 0 with
//! JSON logs and stops it with SIGTERM; requests go through its [`Client`].

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::client::Client;

pub const BIN: &str = env!("CARGO_BIN_EXE_sesame");
pub const ISSUER: &str = "https://auth.example.com";
pub const CHEAP_HASH: [&str; 4] = ["--hash-memory-kib", "64", "--hash-iterations", "1"];

pub struct Server {
    pub child: Child,
    /// Where its mail goes unless a test names a relay or a folder.
    _mail: tempfile::TempDir,
    api: Client,
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(database: &str) -> Self {
        Self::start_with(database, &[])
    }

    pub fn start_with(database: &str, extra: &[&str]) -> Self {
        let mail = tempfile::tempdir().unwrap();
        let mail_dir = mail.path().to_str().unwrap().to_owned();
        let mail_args = if extra.contains(&"--mail-dir") {
            Vec::new()
        } else {
            vec!["--mail-dir", mail_dir.as_str()]
        };
        let mut child = Command::new(BIN)
            .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
            .args(["--database", database])
            // Fixed, as a deployment sets it: the port changes at every start here.
            .args(["--issuer", ISSUER])
            // Tests of hashing itself bring their own parameters.
            .args(if extra.contains(&"--hash-memory-kib") {
                &[][..]
            } else {
                &CHEAP_HASH[..]
            })
            .args(mail_args)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["message"] == "listening"
                {
                    let _ = tx.send(entry["address"].as_str().unwrap_or_default().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let Ok(address) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the server did not start: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        Self {
            child,
            _mail: mail,
            api: Client::new(format!("http://{address}")),
            logs,
            reader: Some(reader),
        }
    }

    /// SIGTERM, then the exit status and every log line (stdout and stderr).
    pub fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        // Already gone if a test signalled it itself.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let mut logs = self.logs.lock().unwrap().clone();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        logs.extend(stderr.lines().map(str::to_owned));
        (status, logs)
    }
}

/// A test that fails before `stop` leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.api
    }
}

/// Runs the binary with `args` and `stdin`, to completion.
pub fn sesame(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// A connection to a test store by URL, on either backend.
pub async fn any_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}
