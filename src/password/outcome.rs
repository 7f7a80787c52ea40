//! What the hashing pool answers: a verdict on a password, or why there is none.

use secrecy::SecretString;

use super::admission::Overloaded;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(argon2::Error),
    #[error("hashing failed: {0}")]
    Hashing(String),
    #[error("the hashing pool is closed")]
    Closed,
    #[error("the hashing queue is full")]
    Overloaded(Overloaded),
}

/// The outcome of checking a password.
#[derive(Debug)]
pub enum Verdict {
    /// The password is right. `upgraded` holds a fresh hash when the stored one was
    /// made with other parameters or another algorithm (bcrypt imports).
    Match {
        upgraded: Option<SecretString>,
    },
    Mismatch,
}
