//! The pages that emailed links open, server-rendered, with no JavaScript (and, apart,
//! `/ui/passkeys`, a page whose script drives the passkey endpoints). A GET only
//! shows what will happen and a button: mail scanners open links, and must not use
//! them up. The button's POST (from this origin only) redeems the token. The pages
//! will be restyled by the hosted pages; they live here, together, until then.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

mod links;

use links::{ConfirmEmail, Link, ResetPassword, SignIn, VerifyEmail};

use crate::auth;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Body, Client, WithinRateLimit};
use crate::tokens::well_formed_token;

/// Nothing loads but the page itself; forms post back to it.
const CSP: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Built in and checked by the tests: it compiles, or nothing would.
    env.add_template("page.html", include_str!("page.html"))
        .unwrap_or_else(|e| panic!("the built-in page template: {e}"));
    env
});

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
        .route("/ui/signed-in", get(signed_in))
        .route("/ui/passkeys", get(passkeys_page))
        .route("/ui/passkeys.js", get(passkeys_script))
        .with_state(state)
}

/// What a page shows.
#[derive(Serialize, Default)]
struct Page<'a> {
    title: &'a str,
    message: Option<&'a str>,
    error: Option<String>,
    /// The token to post back, when the page has a form.
    token: Option<&'a str>,
    action: &'a str,
    button: &'a str,
    new_password: bool,
}

fn render(status: StatusCode, page: &Page<'_>) -> Response {
    let html = PAGES
        .get_template("page.html")
        .and_then(|template| template.render(page));
    let Ok(html) = html else {
        return ApiError::internal().into_response();
    };
    let mut response = (status, axum::response::Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The page carries a token: no cache may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
}

/// The link's page: what will happen, and the button. Consumes nothing.
async fn show<L: Link>(RawQuery(query): RawQuery) -> Response {
    let token = query
        .and_then(|query| serde_urlencoded::from_str::<LinkQuery>(&query).ok())
        .and_then(|query| query.token)
        .filter(well_formed_token);
    let Some(token) = token else {
        let page = Page {
            title: L::TITLE,
            error: Some("This link is incomplete. Copy the whole link from the message, or ask for a new one.".to_owned()),
            ..Page::default()
        };
        return render(StatusCode::BAD_REQUEST, &page);
    };
    let page = Page {
        title: L::TITLE,
        message: Some(L::INTRO),
        token: Some(token.expose_secret()),
        action: L::PATH,
        button: L::BUTTON,
        new_password: L::NEW_PASSWORD,
        ..Page::default()
    };
    render(StatusCode::OK, &page)
}

/// The button: redeems the token, if the form came from this origin.
async fn redeem<L: Link>(
    _: WithinRateLimit,
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    Body(form): Body<LinkForm>,
) -> Response {
    if !same_origin(&headers, state.auth.public_url()) {
        let page = Page {
            title: L::TITLE,
            error: Some(
                "This form was sent from another site. Open the link from the message again."
                    .to_owned(),
            ),
            ..Page::default()
        };
        return render(StatusCode::FORBIDDEN, &page);
    }
    let token = form.token.expose_secret().to_owned();
    match L::redeem(&state, form, client).await {
        Ok(response) => response,
        Err(err) => {
            let retry = matches!(err, auth::Error::WeakPassword(_));
            let problem = ApiError::from(err);
            let page = Page {
                title: L::TITLE,
                error: Some(problem.detail().to_owned()),
                // A password that the rules refuse: the same form again.
                token: retry.then_some(token.as_str()),
                action: L::PATH,
                button: L::BUTTON,
                new_password: L::NEW_PASSWORD,
                ..Page::default()
            };
            render(problem.status(), &page)
        }
    }
}

/// Where a sign-in link's session lands; the session is in the fragment, for the
/// application's script, and never reaches this server.
async fn signed_in() -> Response {
    let page = Page {
        title: SignIn::TITLE,
        message: Some(SignIn::DONE),
        ..Page::default()
    };
    render(StatusCode::OK, &page)
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

/// Whether a form post came from a page of `public_url`'s origin. Browsers say so in
/// `Sec-Fetch-Site` and `Origin`; a client that sends neither (not a browser) is let
/// through: the token it posts is the credential, and no browser can be made to post
/// one cross-site without these headers.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let site = headers.get("sec-fetch-site").map(HeaderValue::as_bytes);
    if site.is_some_and(|site| site != b"same-origin") {
        return false;
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => origin.as_bytes() == origin_of(public_url).as_bytes(),
        None => true,
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(path) => &url[..after_scheme + path],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|&(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn only_posts_from_the_public_origin_pass() {
        let url = "https://auth.example.com/base";
        assert_eq!(origin_of(url), "https://auth.example.com");
        assert!(same_origin(&headers(&[]), url));
        assert!(same_origin(
            &headers(&[
                ("origin", "https://auth.example.com"),
                ("sec-fetch-site", "same-origin")
            ]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            url
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), url));
    }

    #[test]
    fn the_page_escapes_what_it_shows() {
        let page = Page {
            title: "t",
            error: Some("<script>".to_owned()),
            ..Page::default()
        };
        let response = render(StatusCode::OK, &page);
        assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], CSP);
    }
}
