//! `sesame hash calibrate`: Argon2id parameters that take about a target time on this
//! machine, never below OWASP's minimum (19 MiB with 2 passes, the default). Memory is
//! raised first (it is what makes guessing on GPUs expensive), up to a cap that keeps
//! `workers × memory` reasonable; passes after that.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};

use super::{HashError, HashParams};

/// The most memory one hash may take: the server holds one buffer per worker.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// What calibration chose, and how long a hash with it took here.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub params: HashParams,
    pub took: Duration,
}

/// The median of three hashes with `params`, on this thread.
pub fn measure(params: HashParams) -> Result<Duration, HashError> {
    let argon2 = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(HashError::Params)?,
    );
    let mut output = [0u8; 32];
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            argon2
                .hash_password_into(b"calibration password", b"calibration salt", &mut output)
                .map(|()| started.elapsed())
                .map_err(|e| HashError::Hashing(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    times.sort();
    Ok(times[1])
}

/// Parameters that take about `target` per hash here (or the OWASP minimum, when even
/// that takes longer).
pub fn calibrate(target: Duration) -> Result<Calibration, HashError> {
    let minimum = HashParams::default();
    let mut chosen = Calibration {
        params: minimum,
        took: measure(minimum)?,
    };
    if chosen.took >= target {
        return Ok(chosen);
    }
    // Time grows about linearly with memory, then with passes.
    let scale = |value: u32, took: Duration| {
        let factor = target.as_secs_f64() / took.as_secs_f64().max(1e-6);
        f64::from(value) * factor
    };
    let memory = scale(minimum.memory_kib, chosen.took).min(f64::from(MAX_MEMORY_KIB));
    // Whole MiB: easier to read and to budget.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let memory = ((memory as u32) / 1024 * 1024).max(minimum.memory_kib);
    let params = HashParams {
        memory_kib: memory,
        ..minimum
    };
    chosen = Calibration {
        params,
        took: measure(params)?,
    };
    if memory == MAX_MEMORY_KIB && chosen.took < target {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let iterations =
            (scale(params.iterations, chosen.took).round() as u32).max(params.iterations);
        let params = HashParams {
            iterations,
            ..params
        };
        chosen = Calibration {
            params,
            took: measure(params)?,
        };
    }
    Ok(chosen)
}
