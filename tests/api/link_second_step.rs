//! A sign-in link for an account with a second factor: the link's page goes on to the
//! second step instead of a dead end, and finishes the login with the app's code.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::email::{ADA, page_form_token};
use super::helpers::{TestApp, claims};
use super::mail::spawn_app_with_mail;
use super::mfa::{code_now, enrolled, next_step};

/// Posts a `/ui/` form as its page would, with the page's form token.
async fn post_form(
    app: &TestApp,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = fields.to_vec();
    fields.push(("csrf", csrf));
    app.client
        .post(app.url(path))
        .header("origin", app.address.as_str())
        .header("cookie", format!("sesame_csrf={csrf}"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

#[tokio::test]
async fn a_sign_in_link_goes_on_to_the_second_step() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    let (secret, _, _) = enrolled(&app, ADA).await;
    app.post_json("/login/code/send", &json!({"email": ADA}))
        .await;
    let mail = sink.nth(3).await; // 1: the verification, 2: the app's notice
    assert_eq!(mail.subject, "Your sign-in code");
    let token = mail.token();

    let csrf = page_form_token(&app, &mail.link_path()).await;
    let pressed = post_form(&app, "/ui/sign-in", &csrf, &[("token", &token)]).await;
    assert_eq!(pressed.status(), StatusCode::OK);
    let html = pressed.text().await.unwrap();
    assert!(html.contains("action=\"/ui/sign-in/mfa\""), "{html}");
    let mfa_token = hidden(&html, "mfa_token");

    // The step's form is our page's own too.
    let bare = app
        .client
        .post(app.url("/ui/sign-in/mfa"))
        .form(&[("mfa_token", mfa_token.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // A wrong code: the same form again, saying so.
    let step = "/ui/sign-in/mfa";
    let wrong = post_form(
        &app,
        step,
        &csrf,
        &[("mfa_token", &mfa_token), ("code", "000000")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(hidden(&wrong.text().await.unwrap(), "mfa_token"), mfa_token);

    next_step(&app);
    let code = code_now(&app, &secret);
    let done = post_form(
        &app,
        step,
        &csrf,
        &[("mfa_token", &mfa_token), ("code", &code)],
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let location = done.headers()["location"].to_str().unwrap();
    let (page, fragment) = location.split_once('#').unwrap();
    assert_eq!(page, app.url("/ui/signed-in"));
    let pairs: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(fragment).unwrap();
    assert_eq!(claims(&pairs["access_token"])["amr"], json!(["otp", "mfa"]));
    let me: Value = app.me(&pairs["access_token"]).await.json().await.unwrap();
    assert_eq!(me["email"], ADA);
}
