//! The second step of a sign-in by link, for an account with a second factor: the
//! link was right (and is used up), so its page asks for the authenticator app's code
//! or a recovery code and finishes the login as `/login/mfa` does. The ticket
//! (`mfa_token`) rides in the form: 5 minutes, 5 answers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Page, foreign_form, guard, links, render};
use crate::auth::{self, MfaAnswer};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, WithinRateLimit};
use crate::mfa::{TOTP, well_formed_totp_code};

const TITLE: &str = "Sign in: second step";

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
    mfa_token: &SecretString,
    methods: &[&str],
    csrf: &str,
    error: Option<String>,
) -> Response {
    let page = if methods.contains(&TOTP) {
        Page {
            title: TITLE,
            message: Some(
                "Your account has a second factor. Enter the code your authenticator app shows now, or one of your recovery codes.",
            ),
            error,
            mfa_token: Some(mfa_token.expose_secret()),
            csrf,
            ..Page::default()
        }
    } else {
        Page {
            title: TITLE,
            message: Some(
                "Your account signs in with a passkey as its second step: sign in with your passkey in the application.",
            ),
            ..Page::default()
        }
    };
    render(StatusCode::OK, &page)
}

/// The form's answer: the session handed over as a link's is, or the form again.
pub(super) async fn finish(
    _: WithinRateLimit,
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    Body(form): Body<SecondStepForm>,
) -> Response {
    if !guard::form_is_ours(&headers, state.auth.public_url(), &form.csrf) {
        return foreign_form(TITLE);
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
            &form.mfa_token,
            &[TOTP],
            &form.csrf,
            Some(problem.detail().to_owned()),
        );
        *response.status_mut() = problem.status();
        return response;
    }
    let page = Page {
        title: TITLE,
        error: Some(problem.detail().to_owned()),
        ..Page::default()
    };
    render(problem.status(), &page).into_response()
}
