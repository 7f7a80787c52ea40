//! The second step of a sign-in by link, for an account with a second factor: the
//! link was right (and is used up), so its page asks for the authenticator app's code
//! or a recovery code and finishes the login as `/login/mfa` does. The ticket
//! (`mfa_token`) rides in the form: 5 minutes, 5 answers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::lang::Lang;
use super::page::{Page, render};
use super::{foreign_form, guard, links};
use crate::auth::{self, MfaAnswer};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, WithinRateLimit};
use crate::mfa::{TOTP, well_formed_totp_code};

const PATH: &str = "/ui/sign-in/mfa";

/// What the second step's form posts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecondStepForm {
    mfa_token: SecretString,
    code: SecretString,
    #[serde(default)]
    csrf: String,
}

/// The second step's page: a form for a code, or, for an account whose only second
/// factor is a passkey, where to use it (this page runs no script).
pub(super) fn page(
    lang: Lang,
    mfa_token: &SecretString,
    methods: &[&str],
    csrf: &str,
    error: Option<String>,
) -> Response {
    let page = if methods.contains(&TOTP) {
        Page {
            title: lang.text("second_step.title"),
            message: Some(lang.text("second_step.totp")),
            error,
            mfa_token: Some(mfa_token.expose_secret()),
            csrf,
            ..Page::default()
        }
    } else {
        Page {
            title: lang.text("second_step.title"),
            message: Some(lang.text("second_step.passkey")),
            ..Page::default()
        }
    };
    render(StatusCode::OK, lang, PATH, &page)
}

/// The form's answer: the session handed over as a link's is, or the form again.
pub(super) async fn finish(
    _: WithinRateLimit,
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    Body(form): Body<SecondStepForm>,
) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let title = lang.text("second_step.title");
    if !guard::form_is_ours(&headers, state.auth.public_url(), &form.csrf) {
        return foreign_form(lang, title, PATH);
    }
    let code = form.code.expose_secret().trim();
    let answer = if well_formed_totp_code(code) {
        MfaAnswer::Totp(SecretString::from(code))
    } else {
        MfaAnswer::RecoveryCode(SecretString::from(code))
    };
    let finished = state.auth.finish_mfa(&form.mfa_token, answer, client).await;
    let error = match finished.and_then(|pair| links::hand_over(&state, &pair)) {
        Ok(response) => return response,
        Err(error) => error,
    };
    let again = matches!(
        error,
        auth::Error::InvalidCode | auth::Error::TooManyAttempts { .. }
    );
    let problem = ApiError::from(error);
    if again {
        // The ticket still has answers: the same form, with what went wrong.
        let mut response = page(
            lang,
            &form.mfa_token,
            &[TOTP],
            &form.csrf,
            Some(lang.problem(&problem)),
        );
        *response.status_mut() = problem.status();
        return response;
    }
    let page = Page {
        title,
        error: Some(lang.problem(&problem)),
        ..Page::default()
    };
    render(problem.status(), lang, PATH, &page).into_response()
}
