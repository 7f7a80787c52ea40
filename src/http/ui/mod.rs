//! The pages that emailed links open, server-rendered, with no JavaScript (and, apart,
//! `/ui/passkeys`, a page whose script drives the passkey endpoints). A GET only
//! shows what will happen and a button: mail scanners open links, and must not use
//! them up. The button's POST (from this origin only) redeems the token. The pages
//! will be restyled by the hosted pages; they live here, together, until then.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod guard;
mod lang;
mod links;
mod page;
mod return_to;
mod second_step;

use lang::Lang;
use links::{ConfirmEmail, Link, RemoveFactors, ResetPassword, SignIn, VerifyEmail};
use page::{Page, render};

use crate::auth;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, WithinRateLimit};
use crate::tokens::well_formed_token;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(
            "/ui/verify-email",
            get(show::<VerifyEmail>).post(redeem::<VerifyEmail>),
        )
        .route(
            "/ui/reset-password",
            get(show::<ResetPassword>).post(redeem::<ResetPassword>),
        )
        .route("/ui/sign-in", get(show::<SignIn>).post(redeem::<SignIn>))
        .route(
            "/ui/confirm-email",
            get(show::<ConfirmEmail>).post(redeem::<ConfirmEmail>),
        )
        .route(
            "/ui/remove-factors",
            get(show::<RemoveFactors>).post(redeem::<RemoveFactors>),
        )
        .route("/ui/sign-in/mfa", axum::routing::post(second_step::finish))
        .route("/ui/signed-in", get(signed_in))
        .route("/ui/style.css", get(page::style))
        .route("/ui/lang", get(page::pick_language))
        .route("/ui/passkeys", get(passkeys_page))
        .route("/ui/passkeys.js", get(passkeys_script))
        .with_state(state)
}

#[derive(Deserialize)]
struct LinkQuery {
    token: Option<SecretString>,
}

/// What the button posts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkForm {
    token: SecretString,
    new_password: Option<SecretString>,
    #[serde(default)]
    csrf: String,
}

/// The link's page: what will happen, and the button. Consumes nothing.
async fn show<L: Link>(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let token = query
        .and_then(|query| serde_urlencoded::from_str::<LinkQuery>(&query).ok())
        .and_then(|query| query.token)
        .filter(well_formed_token);
    let Some(token) = token else {
        let page = Page {
            title: L::text(lang, "title"),
            error: Some(lang.text("link.incomplete").to_owned()),
            ..Page::default()
        };
        return render(StatusCode::BAD_REQUEST, lang, L::PATH, &page);
    };
    let Some(csrf) = guard::new_csrf() else {
        return ApiError::internal().into_response();
    };
    let page = Page {
        title: L::text(lang, "title"),
        message: Some(L::text(lang, "intro")),
        token: Some(token.expose_secret()),
        action: L::PATH,
        button: L::text(lang, "button"),
        new_password: L::NEW_PASSWORD,
        csrf: &csrf,
        ..Page::default()
    };
    // The picker comes back to this link, token and all: it is already in the URL.
    let here = format!("{}?token={}", L::PATH, token.expose_secret());
    with_csrf_cookie(
        render(StatusCode::OK, lang, &here, &page),
        &csrf,
        state.auth.public_url(),
    )
}

/// `response` with the cookie that holds its form's token.
fn with_csrf_cookie(mut response: Response, csrf: &str, public_url: &str) -> Response {
    if let Some(cookie) = guard::csrf_cookie(csrf, public_url) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A form that is not our page's own: from another site, or without its page's token.
fn foreign_form(lang: Lang, title: &str, here: &str) -> Response {
    let page = Page {
        title,
        error: Some(lang.text("link.foreign_form").to_owned()),
        ..Page::default()
    };
    render(StatusCode::FORBIDDEN, lang, here, &page)
}

/// The button: redeems the token, if the form came from this origin.
async fn redeem<L: Link>(
    _: WithinRateLimit,
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    Body(form): Body<LinkForm>,
) -> Response {
    let lang = Lang::negotiate(None, &headers);
    if !guard::form_is_ours(&headers, state.auth.public_url(), &form.csrf) {
        return foreign_form(lang, L::text(lang, "title"), L::PATH);
    }
    let token = form.token.expose_secret().to_owned();
    let csrf = form.csrf.clone();
    match L::redeem(&state, form, client, lang).await {
        Ok(response) => response,
        // The link was right and a second factor is owed: its step, on this page.
        Err(auth::Error::MfaRequired { mfa_token, methods }) => {
            second_step::page(lang, &mfa_token, &methods, &csrf, None)
        }
        Err(err) => {
            let retry = matches!(err, auth::Error::WeakPassword(_));
            let problem = ApiError::from(err);
            let page = Page {
                title: L::text(lang, "title"),
                error: Some(lang.problem(&problem)),
                // A password that the rules refuse: the same form again.
                token: retry.then_some(token.as_str()),
                action: L::PATH,
                button: L::text(lang, "button"),
                new_password: L::NEW_PASSWORD,
                csrf: &csrf,
                ..Page::default()
            };
            render(problem.status(), lang, L::PATH, &page)
        }
    }
}

/// Where a sign-in link's session lands; the session is in the fragment, for the
/// application's script, and never reaches this server.
async fn signed_in(headers: HeaderMap) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let page = Page {
        title: SignIn::text(lang, "title"),
        message: Some(SignIn::text(lang, "done")),
        ..Page::default()
    };
    render(StatusCode::OK, lang, "/ui/signed-in", &page)
}

/// The passkey page may run its own script and call this origin's API; nothing else.
const PASSKEYS_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page that adds a passkey and signs in with one, through the API, as an
/// application's page would (and as the browser test drives it).
async fn passkeys_page() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, PASSKEYS_CSP),
    ];
    (headers, include_str!("passkeys.html")).into_response()
}

async fn passkeys_script() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, PASSKEYS_CSP),
    ];
    (headers, include_str!("passkeys.js")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_page_escapes_what_it_shows() {
        let page = Page {
            title: "t",
            error: Some("<script>alert(1)</script>".to_owned()),
            token: Some("\"><script>"),
            ..Page::default()
        };
        let response = render(StatusCode::OK, Lang::En, "/", &page);
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            page::CSP
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
        assert!(
            html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{html}"
        );
    }
}
