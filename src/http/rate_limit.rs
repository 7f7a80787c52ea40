//! Per-address limits on the endpoints that take credentials or refresh tokens: a token
//! bucket per client address, held in this process (so, behind a load balancer, per
//! instance; the per-account throttle in the store is the control shared by all).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::net::client_prefix;

pub struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl IpLimiter {
    /// `per_minute` requests a minute for each address, in bursts of at most as many.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        let clock = DefaultClock::default();
        Self {
            limiter: RateLimiter::dashmap_with_clock(Quota::per_minute(per_minute), clock.clone()),
            clock,
        }
    }

    /// Takes one request from the bucket of `ip`'s client (an IPv6 client is its /64),
    /// or says how long until there is one.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&client_prefix(ip))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops the buckets of addresses that have been quiet long enough to be full again.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_bucket() {
        let limiter = IpLimiter::per_minute(NonZeroU32::new(3).unwrap());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            limiter.check(a).unwrap();
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok());
    }
}
