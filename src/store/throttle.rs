//! The per-account login throttle's rules. The counter lives in the store (every
//! instance sees it, a restart keeps it); these pure functions decide what it means, so
//! both backends apply exactly the same policy inside their own transaction.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use super::StoreError;

/// The counters behind the per-account login throttle.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Claims one login attempt on the throttle counter `key` (a digest of the email as
    /// typed, whether or not an account has it): refused while `policy` says the
    /// counter is locked, otherwise counted as a failure at once, so that concurrent
    /// guesses cannot all slip in before the first one fails. A successful login clears
    /// the count ([`super::NewSession::throttle_key`]).
    ///
    /// `source` is the digest of the email with the client's address: when that source
    /// logged in successfully within [`LoginThrottle::KNOWN_SOURCE_FOR`], the attempt
    /// counts on the source's own counter instead, so failures from elsewhere never
    /// lock the owner out of a place they use.
    async fn claim_login_attempt(
        &self,
        key: &[u8],
        source: Option<&[u8]>,
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError>;
    /// Takes back one attempt claimed with the same `key` and `source`: the first
    /// step of a login was right, yet the login is not done (a second factor is
    /// due). Earlier failures stay counted, and so do the second step's.
    async fn release_login_attempt(
        &self,
        key: &[u8],
        source: Option<&[u8]>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Clears the throttle counter `key` (a password confirmed outside a login).
    async fn clear_login_failures(&self, key: &[u8]) -> Result<(), StoreError>;
    /// Drops throttle counters whose last failure is older than `before`, and known
    /// sources older than [`LoginThrottle::KNOWN_SOURCE_FOR`].
    async fn forget_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// How consecutive failed logins slow an account down.
///
/// After `n` consecutive failures the account accepts no further attempt for
/// [`LoginThrottle::wait`]`(n)`: nothing for the first few (people mistype), then a delay
/// that doubles with each failure, then, from `max_failures` on, the full `lockout`.
/// Every lock ends by itself, and leaves the count below the limit (at
/// [`LoginThrottle::FREE_FAILURES`]): one more guess after it brings a short delay, not
/// another full lock. A success clears the count, and so does a day without failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Consecutive failures that lock the account for `lockout` (at most 100, as
    /// NIST 800-63B §5.2.2 asks).
    pub max_failures: u32,
    /// The longest any attempt is refused for.
    pub lockout: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures: 10,
            lockout: Duration::minutes(15),
        }
    }
}

/// What claiming a login attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt may go on; it already counts as a failure until a success clears it.
    Allowed,
    /// Refused without checking the password, until `until`.
    Throttled { until: OffsetDateTime },
}

impl LoginThrottle {
    /// Failures with no delay after them.
    pub const FREE_FAILURES: u32 = 3;
    /// The highest `max_failures` may be set to.
    pub const MAX_FAILURES_LIMIT: u32 = 100;
    /// A count whose last failure is this old starts again from zero.
    pub const FORGET_AFTER: Duration = Duration::hours(24);
    /// How long a place (email and address) that logged in successfully keeps a
    /// counter of its own.
    pub const KNOWN_SOURCE_FOR: Duration = Duration::days(30);

    /// Whether a source whose last successful login was at `last_success` counts on
    /// its own counter at `now`.
    pub fn is_known(last_success: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
        last_success.is_some_and(|at| now - at < Self::KNOWN_SOURCE_FOR)
    }

    /// How long the account refuses attempts after its `failures`-th consecutive failure.
    pub fn wait(&self, failures: u32) -> Duration {
        if failures >= self.max_failures {
            return self.lockout;
        }
        if failures < Self::FREE_FAILURES {
            return Duration::ZERO;
        }
        // 1 s after the first delayed failure, doubling: 1, 2, 4, 8 ... seconds.
        let exponent = (failures - Self::FREE_FAILURES).min(30);
        Duration::seconds(1i64 << exponent).min(self.lockout)
    }

    /// The failures that still count at `now`, given the stored count and its last
    /// failure: none after a quiet day, and below the limit once a lock has run out.
    pub fn current(&self, failures: u32, last_failure: OffsetDateTime, now: OffsetDateTime) -> u32 {
        if now - last_failure >= Self::FORGET_AFTER {
            0
        } else if failures >= self.max_failures && now >= last_failure + self.lockout {
            Self::FREE_FAILURES.min(self.max_failures - 1)
        } else {
            failures
        }
    }

    /// Decides an attempt at `now` on a counter of `failures` whose last failure was at
    /// `last_failure`: refused, or allowed with the count it leaves behind.
    pub fn decide(
        &self,
        failures: u32,
        last_failure: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, Attempt> {
        let failures = self.current(failures, last_failure, now);
        let until = last_failure + self.wait(failures);
        if failures > 0 && now < until {
            return Err(Attempt::Throttled { until });
        }
        Ok(failures.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    #[test]
    fn delays_double_then_lock_for_the_lockout() {
        let policy = LoginThrottle::default();
        let waits: Vec<i64> = (0..=12).map(|n| policy.wait(n).whole_seconds()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 900, 900, 900]);
    }

    #[test]
    fn no_wait_exceeds_the_lockout() {
        let policy = LoginThrottle {
            max_failures: 100,
            lockout: Duration::seconds(30),
        };
        assert!((0..200).all(|n| policy.wait(n) <= Duration::seconds(30)));
        assert_eq!(policy.wait(99), Duration::seconds(30));
    }

    #[test]
    fn an_attempt_inside_the_wait_is_refused_and_counts_nothing() {
        let policy = LoginThrottle::default();
        assert_eq!(
            policy.decide(10, at(0), at(899)),
            Err(Attempt::Throttled { until: at(900) })
        );
        assert_eq!(policy.decide(2, at(0), at(0)), Ok(3));
    }

    #[test]
    fn a_lock_that_ran_out_leaves_a_short_delay_not_another_lock() {
        let policy = LoginThrottle::default();
        // The lock's last second: refused; just after: one guess is allowed, and the
        // count it leaves asks for a 2 s wait, not 900.
        assert!(policy.decide(10, at(0), at(899)).is_err());
        assert_eq!(policy.decide(10, at(0), at(900)), Ok(4));
        assert_eq!(policy.wait(4).whole_seconds(), 2);
        // Even a limit of one failure ends below itself.
        let strict = LoginThrottle {
            max_failures: 1,
            ..policy
        };
        assert_eq!(strict.decide(1, at(0), at(900)), Ok(1));
    }

    #[test]
    fn a_source_is_known_for_thirty_days_after_a_success() {
        let day = LoginThrottle::KNOWN_SOURCE_FOR.whole_seconds() / 30;
        assert!(LoginThrottle::is_known(Some(at(0)), at(29 * day)));
        assert!(!LoginThrottle::is_known(Some(at(0)), at(30 * day)));
        assert!(!LoginThrottle::is_known(None, at(0)));
    }

    #[test]
    fn a_day_without_failures_forgets_them() {
        let policy = LoginThrottle::default();
        let day = LoginThrottle::FORGET_AFTER.whole_seconds();
        assert_eq!(policy.decide(50, at(0), at(day)), Ok(1));
        assert_eq!(policy.current(5, at(0), at(day - 1)), 5);
    }
}
