//! The outbox worker: claims due messages, hands them to the transport, and records
//! what happened. Every instance runs one; claims are leases in the store, so a
//! message goes out once however many poll, and one claimed by an instance that died
//! goes out when its lease ends.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use lettre::message::Mailbox;
use metrics::{Counter, Gauge};
use time::Duration;
use tokio::sync::Notify;

use super::transport::Transport;
use crate::clock::Clock;
use crate::store::{QueuedMail, Store, StoreError};

/// How often the worker looks for due messages when nobody woke it: retries come due
/// and other instances queue mail on their own.
const POLL: StdDuration = StdDuration::from_secs(1);
/// How long a claim holds: far longer than one delivery takes.
const LEASE: Duration = Duration::minutes(5);
/// Failed deliveries after which a message is given up (about six hours of retries).
pub const MAX_ATTEMPTS: i32 = 12;
/// Delivered messages are kept, erased, this long: they count toward send limits.
const KEEP: Duration = Duration::DAY;

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    (Duration::seconds(30) * 2_i32.pow(doublings)).min(Duration::HOUR)
}

/// The outbox's instruments.
#[derive(Clone)]
pub struct MailMetrics {
    pub queue_depth: Gauge,
    pub sent: Counter,
    pub retried: Counter,
    pub failed: Counter,
}

impl Default for MailMetrics {
    fn default() -> Self {
        Self {
            queue_depth: Gauge::noop(),
            sent: Counter::noop(),
            retried: Counter::noop(),
            failed: Counter::noop(),
        }
    }
}

pub struct Postman {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub from: Mailbox,
    pub clock: Arc<dyn Clock>,
    /// Poked when this instance queues a message, so it goes out at once.
    pub wake: Arc<Notify>,
    pub metrics: MailMetrics,
}

impl Postman {
    /// Delivers until the task is dropped.
    pub async fn run(self) {
        let mut purged_at = None;
        loop {
            match self.deliver_due().await {
                Ok(delivered) if delivered > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
            }
            // Once a minute at most: a purge also makes erased bodies unrecoverable
            // from the files (SQLite empties its write-ahead log), which costs a
            // checkpoint.
            let now = self.clock.now();
            if purged_at.is_none_or(|at| now - at > Duration::MINUTE) {
                purged_at = Some(now);
                if let Err(e) = self.store.purge_mail(now - KEEP).await {
                    tracing::warn!(error = %e, "cannot purge the outbox");
                }
                if let Err(e) = self.store.forget_expired_codes(now).await {
                    tracing::warn!(error = %e, "cannot forget expired codes");
                }
            }
            if let Ok(depth) = self.store.outbox_depth().await {
                self.metrics.queue_depth.set(depth as f64);
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Delivers one batch of due messages; how many it claimed.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let batch = self.store.claim_mail(now, now + LEASE).await?;
        let claimed = batch.len();
        for mail in batch {
            self.deliver(&mail).await?;
        }
        Ok(claimed)
    }

    async fn deliver(&self, mail: &QueuedMail) -> Result<(), StoreError> {
        let kind = mail.kind.as_str();
        match self.transport.send(&self.from, mail).await {
            Ok(file) => {
                self.store.mail_sent(mail.id, self.clock.now()).await?;
                self.metrics.sent.increment(1);
                match file {
                    Some(file) => tracing::info!(kind, file, "mail written"),
                    None => tracing::info!(kind, "mail delivered"),
                }
            }
            Err(failure) if failure.permanent || mail.attempts + 1 >= MAX_ATTEMPTS => {
                let now = self.clock.now();
                self.store
                    .mail_failed(mail.id, now, &failure.reason)
                    .await?;
                self.metrics.failed.increment(1);
                tracing::error!(kind, reason = %failure.reason, attempts = mail.attempts + 1, "mail given up");
            }
            Err(failure) => {
                let retry_at = self.clock.now() + backoff(mail.attempts);
                self.store
                    .mail_retry(mail.id, retry_at, &failure.reason)
                    .await?;
                self.metrics.retried.increment(1);
                tracing::warn!(kind, reason = %failure.reason, attempts = mail.attempts + 1, "mail will be retried");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_half_a_minute_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::MINUTE);
        assert_eq!(backoff(6), Duration::seconds(1_920));
        assert_eq!(backoff(7), Duration::HOUR);
        assert_eq!(backoff(MAX_ATTEMPTS), Duration::HOUR);
    }
}
