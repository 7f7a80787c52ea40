//! Property tests of body decoding and bearer parsing.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

/// Random bytes, random text, and text made of JSON's and forms' own pieces, so
/// that near-misses (a missing brace, a bad escape) come up often.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        any::<String>().prop_map(String::into_bytes),
        r#"\{("email"|"password"|"x"|:|,| |"[^"]{0,5}"|[0-9]|null|true|\[|\]|\{|\}|\\u[0-9a-f]{0,4})*\}?"#
            .prop_map(String::into_bytes),
        "(email|password|x|=|&|%[0-9A-Fa-f]{0,2}|\\+|[^&=%]{0,5})*".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Any bytes in either encoding are a value or a 400/422 problem, never a
    /// panic or a server error.
    #[test]
    fn any_body_decodes_or_is_a_client_error(bytes in body()) {
        for encoding in [Encoding::Json, Encoding::Form] {
            if let Err(problem) = decode::<Credentials>(encoding, &bytes) {
                let status = problem.status().as_u16();
                prop_assert!(status == 400 || status == 422, "{status}");
            }
        }
    }

    /// What a client encodes, in either encoding, is what the handler gets.
    #[test]
    fn encoded_credentials_decode_unchanged(email in any::<String>(), password in any::<String>()) {
        let sent = Credentials { email, password };
        let json = serde_json::to_vec(&sent).unwrap();
        prop_assert_eq!(&decode::<Credentials>(Encoding::Json, &json).unwrap(), &sent);
        let form = serde_urlencoded::to_string(&sent).unwrap();
        prop_assert_eq!(&decode::<Credentials>(Encoding::Form, form.as_bytes()).unwrap(), &sent);
    }

    /// Only `Bearer <token>` (the scheme in any case) yields a token, and the token
    /// is exactly what followed the scheme.
    #[test]
    fn bearer_parsing_takes_exactly_the_token(
        scheme in "[Bb][Ee][Aa][Rr][Ee][Rr]|Basic|Token|bearer:|",
        token in "[A-Za-z0-9._~+/=-]{0,40}",
        noise in any::<Vec<u8>>(),
    ) {
        let header = format!("{scheme} {token}");
        let value = HeaderValue::from_str(&header).unwrap();
        let parsed = bearer_token(&value);
        if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
            prop_assert_eq!(parsed, Some(token.as_str()));
        } else {
            prop_assert_eq!(parsed, None);
        }
        // Arbitrary header bytes: no panic, and any token has no space.
        if let Some(token) = HeaderValue::from_bytes(&noise).as_ref().ok().and_then(bearer_token) {
            prop_assert!(!token.is_empty() && !token.contains(' '));
        }
    }
}
