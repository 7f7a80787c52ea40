//! Property tests of the client address behind trusted proxies.

use axum::http::HeaderValue;
use proptest::prelude::*;

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// How a proxy may write an address in either header.
fn written(ip: IpAddr, header: ForwardedHeader, port: Option<u16>) -> String {
    let text = match (ip, port) {
        (IpAddr::V4(v4), Some(port)) => format!("{v4}:{port}"),
        (IpAddr::V6(v6), Some(port)) => format!("[{v6}]:{port}"),
        (ip, None) => ip.to_string(),
    };
    match header {
        ForwardedHeader::XForwardedFor => text,
        ForwardedHeader::Forwarded => format!("for=\"{text}\";proto=https"),
    }
}

fn header_kind() -> impl Strategy<Value = ForwardedHeader> {
    prop_oneof![
        Just(ForwardedHeader::XForwardedFor),
        Just(ForwardedHeader::Forwarded)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Whatever a client writes left of the hops our proxies appended, the
    /// client is the address the nearest trusted proxy saw.
    #[test]
    fn a_client_cannot_choose_its_address_behind_trusted_proxies(
        forged in any::<Vec<u8>>(),
        client in address(),
        port in proptest::option::of(any::<u16>()),
        hops in 1usize..4,
        kind in header_kind(),
    ) {
        // Our proxies sit in 10.0.0.0/8; the client is anywhere else.
        prop_assume!(!matches!(canonical(client), IpAddr::V4(v4) if v4.octets()[0] == 10));
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()], kind);
        let mut chain = String::from_utf8_lossy(&forged).replace(['\r', '\n', '\0'], "");
        chain.retain(|c| c.is_ascii() && !c.is_ascii_control());
        chain.push_str(", ");
        chain.push_str(&written(client, kind, port));
        for hop in 1..hops {
            chain.push_str(", ");
            chain.push_str(&written(IpAddr::from([10, 0, 0, hop as u8]), kind, None));
        }
        let name = match kind {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(&chain).unwrap());
        prop_assert_eq!(proxies.client(ip("10.0.0.1"), &headers), canonical(client));
    }

    /// Any header bytes from an untrusted peer change nothing; from a trusted
    /// one they never panic, and the answer is the peer or an address in them.
    #[test]
    fn any_header_bytes_are_safe(bytes in any::<Vec<u8>>(), kind in header_kind()) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let name = match kind {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut headers = HeaderMap::new();
        headers.insert(name, value);
        let untrusted = TrustedProxies::new(Vec::new(), kind);
        prop_assert_eq!(untrusted.client(ip("203.0.113.9"), &headers), ip("203.0.113.9"));
        let everyone = TrustedProxies::new(vec!["0.0.0.0/0".parse().unwrap()], kind);
        let _ = everyone.client(ip("203.0.113.9"), &headers);
    }
}
