//! Passwords: the policy a new password must meet, and hashing on a bounded pool.

mod hasher;
mod policy;

pub use hasher::{HashError, HashParams, Hasher, ImportedHash, Verdict};
pub use policy::{PolicyError, normalize, validate_new};
