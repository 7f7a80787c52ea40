//! The server's background tasks: what ends with it ([`Background`]), the periodic
//! chores, and the signal that stops it.

use std::time::Duration;

use crate::http::AppState;

/// A task that ends with its owner.
pub(super) struct Background(pub(super) tokio::task::JoinHandle<()>);

impl Background {
    /// Ends the task and waits until it has.
    pub(super) async fn stop(&mut self) {
        self.0.abort();
        // Cancelled (or already done): either way it runs no more.
        let _ = (&mut self.0).await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Periodic chores, none of which a request waits for: fold metric samples, drop the
/// rate-limit buckets of quiet addresses, forget login failures that no longer count,
/// delete audit events past their retention.
pub(super) async fn housekeeping(state: AppState) {
    const TICK: Duration = Duration::from_secs(5);
    const PURGE_EVERY: u32 = 720; // ticks: an hour
    let mut ticks = tokio::time::interval(TICK);
    for tick in 0u32.. {
        ticks.tick().await;
        state.metrics.upkeep();
        if tick % 12 == 0
            && let Some(limiter) = &state.ip_limiter
        {
            limiter.forget_idle();
        }
        if tick % PURGE_EVERY == 0 {
            if let Err(e) = state.auth.forget_old_failures().await {
                tracing::warn!(error = %e, "could not purge old login failures");
            }
            match state.auth.expire_audit_events().await {
                Ok((0, _)) => {}
                Ok((deleted, batches)) => {
                    tracing::info!(deleted, batches, "expired audit events deleted");
                }
                Err(e) => tracing::warn!(error = %e, "could not expire audit events"),
            }
        }
    }
}

/// Follows the store's signing keys: rotates on schedule, drops retired keys past
/// their retention, and rereads the keys, every [`crate::tokens::RotationPolicy::reload_every`].
pub(super) async fn key_upkeep(keys: super::KeyManager, auth: std::sync::Arc<crate::auth::Auth>) {
    let mut ticks = tokio::time::interval(keys.policy().reload_every());
    // The first tick is now: the keys were just loaded.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(e) = keys.upkeep(&auth).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "could not reload the signing keys"
            );
        }
    }
}

/// Resolves at Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
