//! The floor every other module stands on: who a user is, how a session was opened,
//! and an email address parsed once. Nothing here imports anything of Sesame's, and
//! nothing here does I/O.

mod amr;
mod email;
mod session;
mod user;

pub use amr::Amr;
pub use email::{EmailError, NormalizedEmail, normalize_email};
pub use session::{EndReason, SessionLogin};
pub use user::User;
