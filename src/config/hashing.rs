//! The hashing settings: Argon2id parameters and the worker pool.

use std::time::Duration;

use super::values::bounded;
use super::{ConfigError, Overrides};
use crate::password::{HashParams, PoolSettings};

macro_rules! pick {
    ($flags:ident, $file:ident, $field:ident) => {
        $flags.$field.or($file.$field)
    };
}

pub(super) fn params(flags: &Overrides, file: &Overrides) -> Result<HashParams, ConfigError> {
    let defaults = HashParams::default();
    Ok(HashParams {
        memory_kib: bounded(
            "hash_memory_kib",
            pick!(flags, file, hash_memory_kib),
            defaults.memory_kib,
            8..=1_048_576,
            "KiB",
        )?,
        iterations: bounded(
            "hash_iterations",
            pick!(flags, file, hash_iterations),
            defaults.iterations,
            1..=100,
            "passes",
        )?,
        parallelism: bounded(
            "hash_parallelism",
            pick!(flags, file, hash_parallelism),
            defaults.parallelism,
            1..=64,
            "lanes",
        )?,
    })
}

pub(super) fn pool(flags: &Overrides, file: &Overrides) -> Result<PoolSettings, ConfigError> {
    let pool = PoolSettings::default();
    Ok(PoolSettings {
        workers: bounded(
            "hash_workers",
            pick!(flags, file, hash_workers),
            pool.workers,
            1..=1_024,
            "threads",
        )?,
        max_wait: Duration::from_millis(bounded(
            "hash_max_wait_ms",
            pick!(flags, file, hash_max_wait_ms),
            u64::try_from(pool.max_wait.as_millis()).unwrap_or(1_000),
            1..=60_000,
            "milliseconds",
        )?),
        client_share_percent: bounded(
            "hash_client_share",
            pick!(flags, file, hash_client_share),
            pool.client_share_percent,
            1..=100,
            "percent",
        )?,
    })
}
