//! What second factors are built from at start-up: the TOTP issuer name and the
//! WebAuthn relying party, both from the public URL unless configured.

use anyhow::Context;
use url::Url;

use crate::auth::FactorSetup;
use crate::config::Settings;
use crate::mfa::{FactorKey, Passkeys};

pub(super) fn setup(
    settings: &Settings,
    key: std::sync::Arc<FactorKey>,
    public_url: &str,
) -> anyhow::Result<FactorSetup> {
    Ok(FactorSetup {
        key,
        issuer: totp_issuer(public_url),
        passkeys: relying_party(settings, public_url)?,
    })
}

/// The WebAuthn relying party: `--webauthn-origin` (default the public URL, with
/// `localhost` for a loopback address, which browsers refuse as an RP id) and
/// `--webauthn-rp-id` (default the origin's host).
fn relying_party(settings: &Settings, public_url: &str) -> anyhow::Result<Passkeys> {
    let origin = settings.webauthn_origin.as_deref().unwrap_or(public_url);
    let mut origin =
        Url::parse(origin).with_context(|| format!("--webauthn-origin {origin:?} is not a URL"))?;
    let loopback = match origin.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if settings.webauthn_origin.is_none() && loopback {
        origin
            .set_host(Some("localhost"))
            .context("cannot name the loopback origin localhost")?;
    }
    let rp_id = match &settings.webauthn_rp_id {
        Some(rp_id) => rp_id.clone(),
        None => origin
            .host_str()
            .context("the WebAuthn origin has no host")?
            .to_owned(),
    };
    Ok(Passkeys::new(&rp_id, &origin, &totp_issuer(public_url))?)
}

/// The name authenticator apps list the account under: the host of the public URL
/// (an `otpauth` issuer may not hold a colon, so no port).
fn totp_issuer(public_url: &str) -> String {
    let rest = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    // An IPv6 literal keeps its colons, which an issuer may not hold.
    if host.is_empty() || host.contains(':') {
        "Sesame".to_owned()
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_the_public_host_without_a_port() {
        assert_eq!(
            totp_issuer("https://auth.example.com/base"),
            "auth.example.com"
        );
        assert_eq!(totp_issuer("http://localhost:8080"), "localhost");
        assert_eq!(totp_issuer("http://[::1]:8080"), "Sesame");
        assert_eq!(totp_issuer(""), "Sesame");
    }
}
