//! Who the client is: the peer address, or, when the peer is a configured proxy, the
//! address that proxy says it forwarded for. Headers from anyone else change nothing,
//! so a client cannot pick the address its limits are counted against.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that arrived from `peer`.
    ///
    /// The forwarding chain (`X-Forwarded-For`, or `Forwarded` when there is none) is
    /// read from the right, the hop nearest to us: every trusted proxy in it is skipped,
    /// and the first address that is not one is the client. An entry that cannot be
    /// parsed ends the walk at the last address known to be right.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_chain(headers).iter().rev() {
            let Some(ip) = hop.as_deref().and_then(parse_address) else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// IPv4 clients of a dual-stack socket arrive as `::ffff:a.b.c.d`; count them as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarded-for entries, leftmost (the original client, as claimed) first.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<String>> {
    let text = |name| {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().ok().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
    };
    // A header that is not text at all: nothing in it can be believed.
    let Some(x_forwarded_for) = text("x-forwarded-for") else {
        return vec![None];
    };
    if !x_forwarded_for.is_empty() {
        return x_forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .map(|entry| Some(entry.trim().to_owned()))
            .collect();
    }
    let Some(forwarded) = text("forwarded") else {
        return vec![None];
    };
    // RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
    forwarded
        .iter()
        .flat_map(|value| value.split(','))
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let forged = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=1.2.3.4")]);
        assert_eq!(
            proxies(&[]).client(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client claimed 1.2.3.4; our proxies saw 198.51.100.7 and 10.0.0.5.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &chain), ip("198.51.100.7"));
        let repeated = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &repeated),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = proxies(&["127.0.0.1/32"]);
        let v6 = headers(&[("forwarded", "for=\"[2001:db8::17]:4711\";proto=https")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &v6), ip("2001:db8::17"));
        let v4 = headers(&[("forwarded", "For=192.0.2.60:80, for=127.0.0.1")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &v4), ip("192.0.2.60"));
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_known_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, garbage, 10.0.0.5")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &chain), ip("10.0.0.5"));
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &hidden), ip("10.0.0.1"));
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn mapped_ipv4_peers_count_as_ipv4() {
        let trusted = proxies(&["127.0.0.1/32"]);
        let chain = headers(&[("x-forwarded-for", "192.0.2.1")]);
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &chain),
            ip("192.0.2.1")
        );
    }
}
