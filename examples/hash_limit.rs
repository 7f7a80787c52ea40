//! The raw hashing limit: Argon2id hashes per second on all cores with Sesame's own
//! hasher (the bounded pool the server uses), for `bench/run`.
//! Usage: hash_limit SECONDS [MEMORY_KIB ITERATIONS]

use std::time::{Duration, Instant};

use secrecy::SecretString;
use sesame::password::{HashMetrics, HashParams, Hasher, PoolSettings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let defaults = HashParams::default();
    let params = HashParams {
        memory_kib: args.next().map_or(Ok(defaults.memory_kib), |s| s.parse())?,
        iterations: args.next().map_or(Ok(defaults.iterations), |s| s.parse())?,
        parallelism: 1,
    };
    let pool = PoolSettings::default();
    let workers = pool.workers;
    let hasher = Hasher::new(params, pool, HashMetrics::default())?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    // Twice as many callers as workers keep every worker busy.
    let tasks: Vec<_> = (0..workers * 2)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                let mut count = 0u64;
                while Instant::now() < deadline {
                    hasher
                        .hash(SecretString::from("correct horse battery"), None)
                        .await?;
                    count += 1;
                }
                Ok::<u64, sesame::password::HashError>(count)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!("{rate:.1}");
    Ok(())
}
