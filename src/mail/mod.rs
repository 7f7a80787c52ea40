//! Mail: what a message says ([`Templates`]), the outbox worker that delivers it
//! ([`Postman`]), and where it goes ([`Transport`]). The use cases only queue
//! messages, in the store's transaction of what the message reports.

mod templates;
mod transport;
mod worker;

pub use templates::{Kind, Templates};
pub use transport::Transport;
pub use worker::{MailMetrics, Postman};
