//! The five kinds of link: what each page says, and what pressing its button does.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};

use super::{LinkForm, Page, render};
use crate::auth::{self, CodeInput};
use crate::http::AppState;

/// One kind of link: its page's words and what redeeming it does.
pub(super) trait Link {
    const PATH: &'static str;
    const TITLE: &'static str;
    const INTRO: &'static str;
    const BUTTON: &'static str;
    const DONE: &'static str;
    const NEW_PASSWORD: bool = false;

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
    ) -> Result<Response, auth::Error>;
}

pub(super) struct VerifyEmail;
pub(super) struct ResetPassword;
pub(super) struct SignIn;
pub(super) struct ConfirmEmail;
pub(super) struct RemoveFactors;

impl Link for RemoveFactors {
    const PATH: &'static str = "/ui/remove-factors";
    const TITLE: &'static str = "Remove your second factors";
    const INTRO: &'static str = "Press the button to remove every second factor of your account: its authenticator app, recovery codes and passkeys. Do it if you did not set them up yourself; then sign in with your password and set up one of your own.";
    const BUTTON: &'static str = "Remove them";
    const DONE: &'static str = "Your account has no second factor now. Sign in with your password, and set up one of your own.";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .remove_factors_by_link(CodeInput::Token(form.token))
            .await?;
        Ok(done::<Self>())
    }
}

impl Link for VerifyEmail {
    const PATH: &'static str = "/ui/verify-email";
    const TITLE: &'static str = "Verify your email address";
    const INTRO: &'static str = "Press the button to confirm that this address is yours.";
    const BUTTON: &'static str = "Verify my address";
    const DONE: &'static str = "Your email address is verified. You can close this page.";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .verify_email(CodeInput::Token(form.token), None)
            .await?;
        Ok(done::<Self>())
    }
}

impl Link for ResetPassword {
    const PATH: &'static str = "/ui/reset-password";
    const TITLE: &'static str = "Choose a new password";
    const INTRO: &'static str =
        "Choose a new password for your account. Every device signed in to it will be signed out.";
    const BUTTON: &'static str = "Set the new password";
    const DONE: &'static str = "Your password was changed. Log in with the new one.";
    const NEW_PASSWORD: bool = true;

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
    ) -> Result<Response, auth::Error> {
        let password = form.new_password.unwrap_or_else(|| SecretString::from(""));
        state
            .auth
            .reset_password(CodeInput::Token(form.token), &password, client)
            .await?;
        Ok(done::<Self>())
    }
}

impl Link for SignIn {
    const PATH: &'static str = "/ui/sign-in";
    const TITLE: &'static str = "Sign in";
    const INTRO: &'static str = "Press the button to sign in.";
    const BUTTON: &'static str = "Sign in";
    const DONE: &'static str = "You are signed in.";

    /// The session goes to `/ui/signed-in` ([`hand_over`]), or, when the account has
    /// a second factor, the page asks for it (`second_step.rs`).
    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
    ) -> Result<Response, auth::Error> {
        let pair = state
            .auth
            .sign_in_with_code(CodeInput::Token(form.token), client)
            .await?;
        hand_over(state, &pair)
    }
}

/// Hands a signed-in session to `/ui/signed-in` in the URL's fragment, which browsers
/// never send to a server: an application serving that page at `--public-url` reads
/// it there.
pub(super) fn hand_over(state: &AppState, pair: &auth::TokenPair) -> Result<Response, auth::Error> {
    let fragment = serde_urlencoded::to_string([
        ("access_token", pair.access.token.as_str()),
        ("token_type", "Bearer"),
        ("expires_in", &pair.access.expires_in.to_string()),
        ("refresh_token", pair.refresh_token.expose_secret()),
        ("refresh_expires_in", &pair.refresh_expires_in.to_string()),
    ])
    .map_err(|e| auth::Error::Internal(Box::new(e)))?;
    let target = format!("{}/ui/signed-in#{fragment}", state.auth.public_url());
    let mut response = Redirect::to(&target).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

impl Link for ConfirmEmail {
    const PATH: &'static str = "/ui/confirm-email";
    const TITLE: &'static str = "Confirm your new email address";
    const INTRO: &'static str = "Press the button to move your account to this address.";
    const BUTTON: &'static str = "Use this address";
    const DONE: &'static str = "Your account now uses this address.";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .confirm_email_change(CodeInput::Token(form.token), None)
            .await?;
        Ok(done::<Self>())
    }
}

fn done<L: Link>() -> Response {
    let page = Page {
        title: L::TITLE,
        message: Some(L::DONE),
        ..Page::default()
    };
    render(StatusCode::OK, &page)
}
