//! Which addresses count as one client for per-address limits.

use std::net::{IpAddr, Ipv6Addr};

/// The address that stands for `ip`'s client in per-address limits (the request
/// bucket, the share of the hashing queue): an IPv4 address as it is, and for IPv6 its
/// /64 network. One IPv6 subscriber or host is routinely given a whole /64 (RFC 6177),
/// and would otherwise hold 2^64 addresses, each with a fresh bucket.
pub fn client_prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_an_ipv4_client_its_address() {
        assert_eq!(
            client_prefix(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            client_prefix(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            client_prefix(ip("2001:db8:1:2::5"))
        );
        assert_ne!(client_prefix(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_prefix(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_prefix(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }
}
