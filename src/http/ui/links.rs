//! The five kinds of link: what each page says, and what pressing its button does.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};

use super::LinkForm;
use super::lang::Lang;
use super::page::{Page, render};
use crate::auth::{self, CodeInput};
use crate::http::AppState;

/// One kind of link: its page's words and what redeeming it does.
pub(super) trait Link {
    const PATH: &'static str;
    /// Its table in the language catalogues: `title`, `intro`, `button`, `done`.
    const WORDS: &'static str;
    const NEW_PASSWORD: bool = false;

    /// The page's words for `part` in `lang`.
    fn text(lang: Lang, part: &str) -> &'static str {
        lang.text(&format!("{}.{part}", Self::WORDS))
    }

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
        lang: Lang,
    ) -> Result<Response, auth::Error>;
}

pub(super) struct VerifyEmail;
pub(super) struct ResetPassword;
pub(super) struct SignIn;
pub(super) struct ConfirmEmail;
pub(super) struct RemoveFactors;

impl Link for RemoveFactors {
    const PATH: &'static str = "/ui/remove-factors";
    const WORDS: &'static str = "remove_factors";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
        lang: Lang,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .remove_factors_by_link(CodeInput::Token(form.token))
            .await?;
        Ok(done::<Self>(lang))
    }
}

impl Link for VerifyEmail {
    const PATH: &'static str = "/ui/verify-email";
    const WORDS: &'static str = "verify_email";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
        lang: Lang,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .verify_email(CodeInput::Token(form.token), None)
            .await?;
        Ok(done::<Self>(lang))
    }
}

impl Link for ResetPassword {
    const PATH: &'static str = "/ui/reset-password";
    const WORDS: &'static str = "reset_password";
    const NEW_PASSWORD: bool = true;

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
        lang: Lang,
    ) -> Result<Response, auth::Error> {
        let password = form.new_password.unwrap_or_else(|| SecretString::from(""));
        state
            .auth
            .reset_password(CodeInput::Token(form.token), &password, client)
            .await?;
        Ok(done::<Self>(lang))
    }
}

impl Link for SignIn {
    const PATH: &'static str = "/ui/sign-in";
    const WORDS: &'static str = "sign_in";

    /// The session goes to `/ui/signed-in` ([`hand_over`]), or, when the account has
    /// a second factor, the page asks for it (`second_step.rs`).
    async fn redeem(
        state: &AppState,
        form: LinkForm,
        client: auth::ClientInfo,
        _: Lang,
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
    const WORDS: &'static str = "confirm_email";

    async fn redeem(
        state: &AppState,
        form: LinkForm,
        _: auth::ClientInfo,
        lang: Lang,
    ) -> Result<Response, auth::Error> {
        state
            .auth
            .confirm_email_change(CodeInput::Token(form.token), None)
            .await?;
        Ok(done::<Self>(lang))
    }
}

fn done<L: Link>(lang: Lang) -> Response {
    let page = Page {
        title: L::text(lang, "title"),
        message: Some(L::text(lang, "done")),
        ..Page::default()
    };
    render(StatusCode::OK, lang, L::PATH, &page)
}
