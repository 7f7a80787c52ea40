//! Passwords: the policy a new password must meet, and hashing on a bounded pool.

mod admission;
mod calibrate;
mod hasher;
mod imported;
mod outcome;
mod policy;
mod worker;

pub use admission::{HashMetrics, Overloaded, PoolSettings};
pub use calibrate::{Calibration, calibrate};
pub use hasher::{HashParams, Hasher, Reservation};
pub use imported::ImportedHash;
pub use outcome::{HashError, Verdict};
pub use policy::{PolicyError, normalize, validate_new};
