//! The metric instruments each part of the server counts with, registered once.

use crate::auth::AuthMetrics;
use crate::mail::MailMetrics;
use crate::password::HashMetrics;
use crate::telemetry::Metrics;

/// The hashing pool's instruments, registered once.
pub(super) fn hash_metrics(metrics: &Metrics) -> HashMetrics {
    HashMetrics {
        queue_depth: metrics.gauge("sesame_hash_queue_depth"),
        wait_seconds: metrics.histogram("sesame_hash_wait_seconds"),
        hashes: metrics.counter("sesame_hashes_total", &[]),
        rejected: metrics.counter("sesame_hash_rejections_total", &[]),
    }
}

/// The outbox's instruments.
pub(super) fn mail_metrics(metrics: &Metrics) -> MailMetrics {
    MailMetrics {
        queue_depth: metrics.gauge("sesame_mail_queue_depth"),
        sent: metrics.counter("sesame_mail_sent_total", &[]),
        retried: metrics.counter("sesame_mail_retries_total", &[]),
        failed: metrics.counter("sesame_mail_failed_total", &[]),
    }
}

/// Login outcomes, one counter each.
pub(super) fn auth_metrics(metrics: &Metrics) -> AuthMetrics {
    let login = |outcome| metrics.counter("sesame_logins_total", &[("outcome", outcome)]);
    AuthMetrics {
        logins_succeeded: login("succeeded"),
        logins_failed: login("failed"),
        logins_throttled: login("throttled"),
    }
}
