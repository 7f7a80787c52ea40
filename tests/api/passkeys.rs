//! Passkeys over HTTP, with webauthn-authenticator-rs's software authenticator playing
//! the browser and the key: registration, login with an address, as a second factor,
//! two passkeys side by side, single-use challenges, and answers for another origin or
//! RP id refused. (Discoverable logins need a resident key, which the software key
//! does not keep: the browser test covers them.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    CreationChallengeResponse, RequestChallengeResponse, ResidentKeyRequirement,
};

use super::helpers::{PASSWORD, TestApp, assert_problem, claims, spawn_app, spawn_app_with};

const ADA: &str = "ada@example.com";

/// The origin the server expects by default: its public URL, named `localhost`.
pub(super) fn origin(app: &TestApp) -> url::Url {
    let mut origin = url::Url::parse(&app.address).unwrap();
    origin.set_host(Some("localhost")).unwrap();
    origin
}

fn shared_origin() -> url::Url {
    url::Url::parse("http://localhost:8000").unwrap()
}

/// Registers a new software passkey for the holder of `access`.
pub(super) async fn register(app: &TestApp, access: &str, name: &str) -> (SoftPasskey, Value) {
    register_from(app, access, name, origin(app)).await
}

async fn register_from(
    app: &TestApp,
    access: &str,
    name: &str,
    from: url::Url,
) -> (SoftPasskey, Value) {
    let started = app
        .bearer_json(
            Method::POST,
            "/me/passkeys/options",
            access,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let selection = &started["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["userVerification"], "required");
    let mut options: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).unwrap();
    // The software key keeps no resident keys: let it make a server-side one.
    let selection = options.public_key.authenticator_selection.as_mut().unwrap();
    selection.require_resident_key = false;
    selection.resident_key = Some(ResidentKeyRequirement::Discouraged);
    let mut key = SoftPasskey::new(true);
    let credential = key.do_registration(from, options).unwrap();
    let body = json!({
        "challenge_id": started["challenge_id"],
        "credential": credential,
        "name": name,
    });
    let added = app
        .bearer_json(Method::POST, "/me/passkeys", access, &body)
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["name"], name);
    (key, added)
}

/// The options of `path` for `body`, and the key's answer to them from `origin`.
pub(super) async fn answer(
    app: &TestApp,
    key: &mut SoftPasskey,
    path: &str,
    body: &Value,
    from: url::Url,
) -> (Value, Value) {
    let options = app.post_json(path, body).await;
    assert_eq!(options.status(), StatusCode::OK);
    let options: Value = options.json().await.unwrap();
    let request: RequestChallengeResponse =
        serde_json::from_value(options["options"].clone()).unwrap();
    let credential = key.do_authentication(from, request).unwrap();
    (
        options["challenge_id"].clone(),
        serde_json::to_value(credential).unwrap(),
    )
}

#[tokio::test]
async fn a_passkey_logs_in_and_two_passkeys_keep_working() {
    let app = spawn_app().await;
    let access = app.verified_up(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut laptop = register(&app, &access, "laptop").await.0;
    // A second passkey comes from a session that logged in with the first.
    let body = json!({"email": ADA});
    let (challenge, credential) = answer(
        &app,
        &mut laptop,
        "/login/passkey/options",
        &body,
        origin(&app),
    )
    .await;
    let body = json!({"challenge_id": challenge, "credential": credential});
    let login: Value = app
        .post_json("/login/passkey", &body)
        .await
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let mut keys = [laptop, register(&app, &access, "phone").await.0];
    let list: Value = app
        .bearer(Method::GET, "/me/passkeys", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);

    // Adding the second broke nothing: each logs in, the first again after the second.
    for which in [0, 1, 0] {
        let body = json!({"email": ADA});
        let key = &mut keys[which];
        let (challenge, credential) =
            answer(&app, key, "/login/passkey/options", &body, origin(&app)).await;
        let body = json!({"challenge_id": challenge, "credential": credential});
        let login = app.post_json("/login/passkey", &body).await;
        assert_eq!(login.status(), StatusCode::OK);
        let tokens: Value = login.json().await.unwrap();
        // A device-bound key that verified its user.
        assert_eq!(
            claims(tokens["access_token"].as_str().unwrap())["amr"],
            json!(["hwk", "user"])
        );
        // The challenge is spent.
        let again = app.post_json("/login/passkey", &body).await;
        assert_problem(again, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let list: Value = app
        .bearer(Method::GET, "/me/passkeys", &access)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| p["last_used_at"].is_string())
    );
}

#[tokio::test]
async fn an_answer_for_another_origin_or_rp_id_is_refused() {
    let app = spawn_app().await;
    let access = app.verified_up(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut key, _) = register(&app, &access, "laptop").await;
    let body = json!({"email": ADA});
    let options = app.post_json("/login/passkey/options", &body).await;
    let options: Value = options.json().await.unwrap();
    let mut request: RequestChallengeResponse =
        serde_json::from_value(options["options"].clone()).unwrap();
    request.public_key.rp_id = "evil.example.com".to_owned();
    // Signed for another RP id, from its origin (a phishing site relaying the
    // challenge): the key's own check needs the two to agree.
    let evil = url::Url::parse("https://evil.example.com").unwrap();
    let forged = key.do_authentication(evil, request).unwrap();
    let body = json!({"challenge_id": options["challenge_id"], "credential": forged});
    let refused = app.post_json("/login/passkey", &body).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let not_an_address = app
        .post_json("/login/passkey/options", &json!({"email": ""}))
        .await;
    assert_problem(
        not_an_address,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
    )
    .await;

    let other_origin = url::Url::parse("http://localhost:1").unwrap();
    let (challenge, credential) = answer(
        &app,
        &mut key,
        "/login/passkey/options",
        &json!({"email": ADA}),
        other_origin,
    )
    .await;
    let body = json!({"challenge_id": challenge, "credential": credential});
    let refused = app.post_json("/login/passkey", &body).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_and_removing_it_needs_the_password() {
    let app = spawn_app().await;
    let access = app.verified_up(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut key, added) = register(&app, &access, "laptop").await;
    let refused = app.login(ADA, PASSWORD).await;
    let refused = assert_problem(refused, StatusCode::FORBIDDEN, "mfa_required").await;
    assert_eq!(refused["methods"], json!(["passkey"]));
    let token = refused["mfa_token"].as_str().unwrap();
    let (challenge, credential) = answer(
        &app,
        &mut key,
        "/login/mfa/passkey/options",
        &json!({"mfa_token": token}),
        origin(&app),
    )
    .await;
    let body = json!({"mfa_token": token, "challenge_id": challenge, "credential": credential});
    let done = app.post_json("/login/mfa", &body).await;
    assert_eq!(done.status(), StatusCode::OK);
    let tokens: Value = done.json().await.unwrap();
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "hwk", "user", "mfa"])
    );

    let id = added["id"].as_str().unwrap();
    let path = format!("/me/passkeys/{id}");
    let wrong = json!({"password": "not the password"});
    let refused = app
        .bearer_json(Method::DELETE, &path, &access, &wrong)
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN, "wrong_password").await;
    let right = json!({"password": PASSWORD});
    let removed = app
        .bearer_json(Method::DELETE, &path, &access, &right)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let gone = app
        .bearer_json(Method::DELETE, &path, &access, &right)
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND, "passkey_not_found").await;
    assert!(app.login(ADA, PASSWORD).await.status().is_success());
}

#[tokio::test]
async fn a_challenge_started_on_one_instance_is_finished_on_another() {
    // Instances of one deployment share their public URL, so their origin.
    let shared = |o: &mut sesame::config::Overrides| {
        o.public_url = Some("http://localhost:8000".to_owned());
    };
    let app = spawn_app_with(shared).await;
    let access = app.verified_up(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut key, _) = register_from(&app, &access, "laptop", shared_origin()).await;
    let options = app
        .post_json("/login/passkey/options", &json!({"email": ADA}))
        .await;
    let options: Value = options.json().await.unwrap();
    let database = app.stop().await;
    let other = super::helpers::spawn_app_on(database, shared).await;
    let request: RequestChallengeResponse =
        serde_json::from_value(options["options"].clone()).unwrap();
    let credential = key.do_authentication(shared_origin(), request).unwrap();
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    let login = other.post_json("/login/passkey", &body).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_dies_after_five_minutes() {
    let app = spawn_app().await;
    let access = app.verified_up(ADA).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut key, _) = register(&app, &access, "laptop").await;
    let options = app
        .post_json("/login/passkey/options", &json!({"email": ADA}))
        .await;
    let options: Value = options.json().await.unwrap();
    let request: RequestChallengeResponse =
        serde_json::from_value(options["options"].clone()).unwrap();
    let credential = key.do_authentication(origin(&app), request).unwrap();
    app.clock.advance(time::Duration::seconds(301));
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    let late = app.post_json("/login/passkey", &body).await;
    assert_problem(late, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
