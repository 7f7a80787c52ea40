//! Passwords: the policy a new password must meet, and hashing on a bounded pool.

mod admission;
mod calibrate;
mod hasher;
mod imported;
mod policy;
mod worker;

pub use admission::{HashMetrics, Overloaded, PoolSettings};
pub use calibrate::{Calibration, calibrate};
pub use hasher::{HashError, HashParams, Hasher, Reservation, Verdict};
pub use imported::ImportedHash;
pub use policy::{PolicyError, normalize, validate_new};
