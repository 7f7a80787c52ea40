//! Property tests of access-token verification: whatever bytes arrive, a token is
//! refused cleanly unless it is one the server signed.

use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;
use crate::tokens::SigningKey;

static NOW: LazyLock<OffsetDateTime> = LazyLock::new(OffsetDateTime::now_utc);

fn tokens(alg: JwtAlgorithm) -> AccessTokens {
    let key = match alg {
        JwtAlgorithm::Hs256 => SigningKey::from_secret(&[7; 32]).unwrap(),
        alg => SigningKey::generate(alg).unwrap().0,
    };
    let policy = crate::tokens::RotationPolicy {
        period: None,
        publish_ahead: Duration::hours(1),
        retention: Duration::minutes(16),
    };
    AccessTokens::new(
        KeyRing::single(key, policy),
        "https://id.example".into(),
        None,
        Duration::minutes(15),
    )
}

static ISSUERS: LazyLock<Vec<AccessTokens>> = LazyLock::new(|| {
    [
        JwtAlgorithm::Es256,
        JwtAlgorithm::EdDsa,
        JwtAlgorithm::Hs256,
    ]
    .into_iter()
    .map(tokens)
    .collect()
});

fn valid(issuer: &AccessTokens) -> String {
    let user = User {
        id: Uuid::now_v7(),
        email: "ada@example.com".to_owned(),
        email_verified: true,
        disabled: false,
        created_at: *NOW,
        roles: vec!["admin".to_owned()],
        mfa_enabled: false,
    };
    let login = SessionLogin {
        amr: crate::domain::Amr::of("pwd"),
        auth_time: *NOW,
    };
    issuer
        .issue(&user, Uuid::now_v7(), &login, *NOW)
        .unwrap()
        .token
}

/// Three dot-separated parts, each base64url of any bytes or of JSON-ish text, so
/// the decoder gets past the first split and into headers and claims.
fn jws_shaped() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        any::<Vec<u8>>(),
        r#"\{("alg"|"typ"|"kid"|"crit"|"exp"|"sub"|:|,|"[A-Za-z0-9+]{0,8}"|[0-9]{1,12}|null|\[|\])*\}"#
            .prop_map(String::into_bytes),
    ]
    .prop_map(|bytes| URL_SAFE_NO_PAD.encode(bytes));
    (part.clone(), part.clone(), part).prop_map(|(h, c, s)| format!("{h}.{c}.{s}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// No string that Sesame did not sign verifies, and none makes it panic.
    #[test]
    fn nothing_unsigned_verifies(token in prop_oneof![any::<String>(), jws_shaped()]) {
        for issuer in ISSUERS.iter() {
            prop_assert!(issuer.verify(&token, *NOW).is_err());
        }
    }

    /// Changing any one character of a real token, anywhere, makes it invalid.
    #[test]
    fn any_changed_character_is_refused(which in 0usize..3, at in any::<prop::sample::Index>(), to in "[A-Za-z0-9_.-]") {
        let issuer = &ISSUERS[which];
        let token = valid(issuer);
        let at = at.index(token.len());
        let mut changed = token.clone();
        changed.replace_range(at..=at, &to);
        prop_assume!(changed != token);
        prop_assert!(issuer.verify(&changed, *NOW).is_err(), "{} accepted", changed);
    }
}
