//! Tests about hashing itself, with the real (OWASP) Argon2id parameters. They measure
//! time and memory, so they live in a binary of their own (cargo runs test binaries one
//! after another: no other test shares the CPU with them) and take turns within it.
#![allow(clippy::unwrap_used)]

#[path = "../api/client.rs"]
#[allow(dead_code)]
mod client;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../api/server.rs"]
#[allow(dead_code)]
mod server;

mod calibrate;
mod overload;
mod recovery;

/// Held by each test for its whole run, so they never overlap.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The middle sample: what timing comparisons quote, as one slow outlier cannot move it.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
