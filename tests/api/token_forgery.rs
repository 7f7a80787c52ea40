//! Forged tokens. The forger here holds the server's real private key (read from the
//! store and opened with the factor key), so each refusal below is due to the one thing changed, not to a bad signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::sign;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};
use super::key_rotation::stored_keys;

struct Forger {
    kid: String,
    key: EncodingKey,
    claims: Value,
}

impl Forger {
    async fn new(app: &TestApp) -> (Self, String) {
        let tokens = app.signed_up("ada@example.com").await;
        let token = tokens["access_token"].as_str().unwrap().to_owned();
        let (kid, pem) = stored_keys(app).await.remove(0);
        let payload = token.split('.').nth(1).unwrap();
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        (Self { kid, key, claims }, token)
    }

    fn sign(&self, claims: &Value, typ: &str, kid: &str) -> String {
        let header = json!({"alg": "ES256", "typ": typ, "kid": kid});
        self.sign_raw(&header, claims, false)
    }

    /// Any header and claims, signed with the server's key; with a low S (what the
    /// server makes and accepts) or, if `high`, its high twin.
    fn sign_raw(&self, header: &Value, claims: &Value, high: bool) -> String {
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let message = format!("{}.{}", encode(header), encode(claims));
        loop {
            let signature = sign(message.as_bytes(), &self.key, Algorithm::ES256).unwrap();
            let token = format!("{message}.{signature}");
            if high_s(&token) == high {
                return token;
            }
        }
    }

    fn with(&self, field: &str, value: Value) -> String {
        let mut claims = self.claims.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(field);
        } else {
            claims[field] = value;
        }
        self.sign(&claims, "at+jwt", &self.kid)
    }
}

/// Whether S (the second half of an ES256 signature) is above half the P-256 order.
fn high_s(token: &str) -> bool {
    const HALF_ORDER: &str = "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8";
    let signature = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap();
    let s: String = signature[32..].iter().map(|b| format!("{b:02x}")).collect();
    s.as_str() > HALF_ORDER
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.me(token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_token", "{what}");
}

#[tokio::test]
async fn a_resigned_copy_of_a_real_token_is_accepted() {
    // The control case: the forging harness itself makes valid tokens.
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    let token = forger.sign(&forger.claims, "at+jwt", &forger.kid);
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changed_claims_are_refused() {
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    let past = app.clock.now_unix() - 3600;

    for (field, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("another-service")),
        ("aud", Value::Null),
        ("exp", json!(past)),
        ("exp", Value::Null),
        ("sub", Value::Null),
        ("sub", json!("not-a-uuid")),
    ] {
        assert_refused(
            &app,
            &forger.with(field, value.clone()),
            &format!("{field}={value}"),
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_headers_are_refused() {
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    assert_refused(
        &app,
        &forger.sign(&forger.claims, "JWT", &forger.kid),
        "typ JWT",
    )
    .await;
    assert_refused(
        &app,
        &forger.sign(&forger.claims, "at+jwt", "other-kid"),
        "unknown kid",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_payload_breaks_the_signature() {
    let app = spawn_app().await;
    let (forger, token) = Forger::new(&app).await;
    let mut claims = forger.claims.clone();
    claims["email"] = json!("mallory@example.com");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_refused(&app, &tampered, "tampered payload").await;
}

#[tokio::test]
async fn alg_none_and_algorithm_confusion_are_refused() {
    let app = spawn_app().await;
    let (forger, issued) = Forger::new(&app).await;
    let payload = URL_SAFE_NO_PAD.encode(forger.claims.to_string());

    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": forger.kid});
        let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert_refused(&app, &token, alg).await;
    }

    // HS256 keyed with the public key, the classic confusion attack.
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    // The key as a verifier holds it, in every spelling the attack uses: the raw
    // point, the SPKI DER, the PEM (with and without its last newline), the JWK.
    let jwk = &jwks["keys"][0];
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let mut point = vec![0x04];
    point.extend(coordinate("x"));
    point.extend(coordinate("y"));
    const P256_SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    let mut der: Vec<u8> = (0..P256_SPKI_PREFIX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&P256_SPKI_PREFIX[i..i + 2], 16).unwrap())
        .collect();
    der.extend(&point);
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    let secrets: Vec<Vec<u8>> = vec![
        point.clone(),
        der.clone(),
        pem.clone().into_bytes(),
        pem.trim_end().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
        forger.kid.clone().into_bytes(),
    ];
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(forger.kid.clone());
    for secret in &secrets {
        let token = encode(&header, &forger.claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_refused(&app, &token, "HS256 with public material").await;
    }
    // Positive control: that PEM (so its DER, so the point) is the real key: it
    // verifies the server's own token as ES256.
    let key = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    assert!(jsonwebtoken::decode::<Value>(&issued, &key, &validation).is_ok());
}

#[tokio::test]
async fn a_token_from_another_sesame_is_refused() {
    let ours = spawn_app().await;
    let theirs = spawn_app().await;
    let tokens = theirs.signed_up("ada@example.com").await;
    ours.register("ada@example.com", super::helpers::PASSWORD)
        .await;
    assert_refused(
        &ours,
        tokens["access_token"].as_str().unwrap(),
        "foreign key",
    )
    .await;
}

#[tokio::test]
async fn every_token_the_server_signs_has_a_low_s() {
    let app = spawn_app().await;
    app.signed_up("ada@example.com").await;
    for _ in 0..16 {
        let tokens = app.logged_in("ada@example.com").await;
        assert!(!high_s(tokens["access_token"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn the_high_s_twin_of_a_valid_signature_is_refused() {
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": forger.kid});
    let low = forger.sign_raw(&header, &forger.claims, false);
    assert_eq!(app.me(&low).await.status(), StatusCode::OK, "control");
    let high = forger.sign_raw(&header, &forger.claims, true);
    assert_refused(&app, &high, "a high S").await;
}

#[tokio::test]
async fn a_crit_header_is_refused() {
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": forger.kid, "crit": ["exp"]});
    let token = forger.sign_raw(&header, &forger.claims, false);
    assert_refused(&app, &token, "crit").await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let app = spawn_app().await;
    let (forger, _) = Forger::new(&app).await;
    let now = app.clock.now_unix();
    let earlier = forger.with("nbf", json!(now - 60));
    assert_eq!(app.me(&earlier).await.status(), StatusCode::OK, "control");
    assert_refused(&app, &forger.with("nbf", json!(now + 3_600)), "nbf").await;
}
