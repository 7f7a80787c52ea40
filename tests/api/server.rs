//! The real binary as a child process: `Server` starts `sesame serve` on port 0 with
//! JSON logs and stops it with SIGTERM; small request helpers go with it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::PASSWORD;

pub const BIN: &str = env!("CARGO_BIN_EXE_sesame");
pub const ISSUER: &str = "https://auth.example.com";
pub const CHEAP_HASH: [&str; 4] = ["--hash-memory-kib", "64", "--hash-iterations", "1"];

pub struct Server {
    pub child: Child,
    pub address: String,
    logs: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Server {
    pub fn start(database: &str) -> Self {
        Self::start_with(database, &[])
    }

    pub fn start_with(database: &str, extra: &[&str]) -> Self {
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
            address: format!("http://{address}"),
            logs,
            reader,
        }
    }

    /// SIGTERM, then the exit status and every log line (stdout and stderr).
    pub fn stop(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        // Already gone if a test signalled it itself.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let mut logs = self.logs.lock().unwrap().clone();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        logs.extend(stderr.lines().map(str::to_owned));
        (status, logs)
    }
}

pub async fn post(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn login(server: &Server, email: &str) -> Value {
    let response = post(
        format!("{}/login", server.address),
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub async fn me(server: &Server, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/me", server.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn register(server: &Server, email: &str) {
    let response = post(
        format!("{}/register", server.address),
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

pub async fn jwks(server: &Server) -> String {
    reqwest::get(format!("{}/.well-known/jwks.json", server.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
