//! Who the client is: the peer address, or, when the peer is a configured proxy, the
//! address that proxy says it forwarded for. Headers from anyone else change nothing,
//! so a client cannot pick the address its limits are counted against.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Which forwarding header the trusted proxies set (`--forwarded-header`). Only that one
/// is read: a client could send the other, and the proxy would pass it on untouched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl std::str::FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(format!(
                "forwarded_header: {text:?} is not x-forwarded-for or forwarded"
            )),
        }
    }
}

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { networks, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that arrived from `peer`.
    ///
    /// The configured header's chain is read from the right, the hop nearest to us,
    /// entry by entry as bytes: every trusted proxy in it is skipped, and the first
    /// address that is not one is the client. Whatever stands left of it (where a
    /// client may write anything, in any bytes) is never read. An entry that cannot be
    /// parsed where an address must be ends the walk at the last address known to be
    /// right.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        // Header lines in order of arrival, each line's entries left to right; walked
        // from the last entry of the last line.
        let lines: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
        let entries = lines
            .iter()
            .rev()
            .flat_map(|line| line.split(|&b| b == b',').rev());
        for entry in entries {
            let address = match self.header {
                ForwardedHeader::XForwardedFor => Some(entry.trim_ascii()),
                ForwardedHeader::Forwarded => forwarded_for(entry),
            };
            let Some(ip) = address
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(parse_address)
            else {
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

/// The `for=` value of one RFC 7239 element (`for=192.0.2.60;proto=http`), unquoted.
fn forwarded_for(element: &[u8]) -> Option<&[u8]> {
    element.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let at = pair.iter().position(|&b| b == b'=')?;
        let (key, value) = (&pair[..at], &pair[at + 1..]);
        key.trim_ascii().eq_ignore_ascii_case(b"for").then(|| {
            let value = value.trim_ascii();
            value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value)
        })
    })
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
        proxies_with(list, ForwardedHeader::XForwardedFor)
    }

    fn proxies_with(list: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().unwrap()).collect(), header)
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
    fn forwarded_is_read_when_configured() {
        let trusted = proxies_with(&["127.0.0.1/32"], ForwardedHeader::Forwarded);
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
        let forwarded = proxies_with(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        assert_eq!(forwarded.client(ip("10.0.0.1"), &hidden), ip("10.0.0.1"));
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

    #[test]
    fn only_the_configured_header_is_read() {
        let both = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=203.0.113.8"),
        ]);
        let xff = proxies_with(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let fwd = proxies_with(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        assert_eq!(xff.client(ip("10.0.0.1"), &both), ip("198.51.100.7"));
        assert_eq!(fwd.client(ip("10.0.0.1"), &both), ip("203.0.113.8"));
        // The other header alone is not read at all.
        let only_forwarded = headers(&[("forwarded", "for=203.0.113.8")]);
        assert_eq!(xff.client(ip("10.0.0.1"), &only_forwarded), ip("10.0.0.1"));
    }

    #[test]
    fn bytes_a_client_wrote_left_of_its_address_change_nothing() {
        let trusted = proxies(&["10.0.0.0/8"]);
        for (garbage, client) in [
            (&b"\xff\xfe"[..], "198.51.100.7"),
            (b"\x80 ,", "198.51.100.8"),
        ] {
            let mut value = garbage.to_vec();
            value.extend_from_slice(format!(", {client}").as_bytes());
            let mut map = HeaderMap::new();
            map.append("x-forwarded-for", HeaderValue::from_bytes(&value).unwrap());
            assert_eq!(trusted.client(ip("10.0.0.1"), &map), ip(client));
        }
    }
}

#[cfg(test)]
mod properties;
