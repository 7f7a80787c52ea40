//! Soak: `sesame serve` as shipped (default settings, SQLite) under a mixed load of
//! virtual users (each signs up, logs in, calls /me, refreshes, lists its sessions and
//! logs out, from an address of its own behind a trusted proxy) for a set time.
//! Fails on any 5xx or transport error, on RSS growth past the bound after warm-up
//! (token cache, rate-limit maps and metrics must stay bounded), and when the store's
//! user count differs from the registrations acknowledged.
//!
//! Usage: soak SECONDS   (run by `bench/soak`, which builds the server first)

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use governor::{Quota, RateLimiter};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Virtual users at once.
const USERS: u64 = 32;
/// /me calls per login (a refresh every twentieth).
const CALLS_PER_LOGIN: u32 = 400;
/// Password hashes (sign-ups and logins) a second: under this machine's hashing limit,
/// so that no request is shed with 503 and every 5xx is a fault.
const HASHES_PER_SECOND: u32 = 16;
/// RSS may grow this much between the end of warm-up and the end of the run.
const GROWTH_BOUND_KIB: u64 = 16 * 1024;
const PASSWORD: &str = "soak test password";

#[derive(Default)]
struct Totals {
    requests: AtomicU64,
    registered: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
    failures: Mutex<Vec<String>>,
}

impl Totals {
    async fn record(
        &self,
        what: &str,
        result: reqwest::Result<reqwest::Response>,
    ) -> Option<(u16, Value)> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                self.failures.lock().await.push(format!("{what}: {err}"));
                return None;
            }
        };
        let status = response.status().as_u16();
        *self.statuses.lock().await.entry(status).or_default() += 1;
        if status >= 500 {
            self.failures.lock().await.push(format!("{what}: {status}"));
        }
        let body = response.json().await.unwrap_or(Value::Null);
        Some((status, body))
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(60), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let database = format!("sqlite://{}/soak.db", dir.path().display());
    let mail_dir = dir.path().join("mail");
    let server = Server(
        Command::new("target/release/sesame")
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database",
                &database,
                "--mail-dir",
                mail_dir
                    .to_str()
                    .context("a temporary path that is not UTF-8")?,
            ])
            // Each virtual user comes from its own address, through this "proxy".
            .args(["--trusted-proxies", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("target/release/sesame: run `cargo build --release` first")?,
    );
    let pid = server.0.id();
    let client = reqwest::Client::new();
    let ready = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(10) {
            bail!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_start = rss_kib(pid);

    let totals = Arc::new(Totals::default());
    let hashes = Arc::new(RateLimiter::direct(Quota::per_second(
        NonZeroU32::new(HASHES_PER_SECOND).unwrap_or(NonZeroU32::MIN),
    )));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let users: Vec<_> = (0..USERS)
        .map(|user| {
            let (client, base, totals, hashes) =
                (client.clone(), base.clone(), totals.clone(), hashes.clone());
            tokio::spawn(async move {
                let mut life = 0u64;
                while Instant::now() < deadline {
                    life += 1;
                    let n = user * 1_000_000 + life;
                    let address =
                        format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
                    one_life(&client, &base, &totals, &hashes, &address, n, deadline).await;
                }
            })
        })
        .collect();

    // RSS once a second; warm-up is the first quarter of the run.
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push((started.elapsed().as_secs_f64(), rss_kib(pid)));
    }
    for user in users {
        user.await?;
    }
    let rss_end = rss_kib(pid);
    let warm_index = samples.len() / 4;
    let rss_warm = samples.get(warm_index).map_or(rss_start, |s| s.1);
    let rss_peak = samples.iter().map(|s| s.1).max().unwrap_or(rss_end);
    drop(server);

    let pool = sqlx::SqlitePool::connect(&database).await?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    let registered = totals.registered.load(Ordering::Relaxed);
    let requests = totals.requests.load(Ordering::Relaxed);
    let statuses = totals.statuses.lock().await.clone();
    let failures = totals.failures.lock().await.clone();

    println!("soak: {seconds} s, {USERS} virtual users, {HASHES_PER_SECOND} hashes/s");
    println!(
        "requests: {requests} ({:.0}/s); by status: {statuses:?}",
        requests as f64 / seconds as f64
    );
    println!("registrations acknowledged: {registered}; users in the store: {stored}");
    println!(
        "RSS: start {:.1} MiB, after warm-up {:.1} MiB, peak {:.1} MiB, end {:.1} MiB (growth after warm-up {:+.1} MiB, bound {} MiB)",
        mib(rss_start),
        mib(rss_warm),
        mib(rss_peak),
        mib(rss_end),
        (rss_end as f64 - rss_warm as f64) / 1024.0,
        GROWTH_BOUND_KIB / 1024
    );
    let mut problems = Vec::new();
    if !failures.is_empty() {
        problems.push(format!(
            "{} failed requests, first: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        ));
    }
    if rss_end > rss_warm + GROWTH_BOUND_KIB {
        problems.push("RSS grew past the bound after warm-up".to_owned());
    }
    if stored != registered as i64 {
        problems.push(format!(
            "{registered} registrations acknowledged, {stored} users stored"
        ));
    }
    if problems.is_empty() {
        println!("soak: ok");
        Ok(())
    } else {
        bail!("soak failed: {}", problems.join("; "))
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One virtual user's life: sign up, log in, work, refresh, look at its sessions,
/// log out. Stops early at the deadline.
async fn one_life(
    client: &reqwest::Client,
    base: &str,
    totals: &Totals,
    hashes: &RateLimiter<
        governor::state::NotKeyed,
        governor::state::InMemoryState,
        governor::clock::DefaultClock,
    >,
    address: &str,
    n: u64,
    deadline: Instant,
) {
    let email = format!("soak-{n}@example.com");
    let credentials = json!({"email": email, "password": PASSWORD});
    let post = |path: &str, body: &Value| {
        client
            .post(format!("{base}{path}"))
            .header("x-forwarded-for", address)
            .json(body)
            .send()
    };
    hashes.until_ready().await;
    let Some((status, _)) = totals
        .record("register", post("/register", &credentials).await)
        .await
    else {
        return;
    };
    if status != 201 {
        return;
    }
    totals.registered.fetch_add(1, Ordering::Relaxed);
    hashes.until_ready().await;
    let Some((200, tokens)) = totals
        .record("login", post("/login", &credentials).await)
        .await
    else {
        return;
    };
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let with_token = |method: reqwest::Method, path: &str, token: &str| {
        client
            .request(method, format!("{base}{path}"))
            .header("x-forwarded-for", address)
            .bearer_auth(token)
            .send()
    };
    let (mut access, mut refresh) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    for call in 1..=CALLS_PER_LOGIN {
        if Instant::now() >= deadline {
            break;
        }
        let me = with_token(reqwest::Method::GET, "/me", &access).await;
        totals.record("me", me).await;
        if call % 20 == 0 {
            let body = json!({"refresh_token": refresh});
            let rotated = post("/refresh", &body).await;
            if let Some((200, pair)) = totals.record("refresh", rotated).await {
                (access, refresh) = (text(&pair, "access_token"), text(&pair, "refresh_token"));
            }
        }
    }
    let sessions = with_token(reqwest::Method::GET, "/me/sessions", &access).await;
    totals.record("sessions", sessions).await;
    let logout = with_token(reqwest::Method::POST, "/logout", &access).await;
    totals.record("logout", logout).await;
}
