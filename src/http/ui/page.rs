//! How every page is drawn: one template, the page's words in its language, the
//! stylesheet (served here, cached for a year under a name that changes with its
//! content) and the language picker at its foot.

use std::sync::LazyLock;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

use super::lang::{LANG_COOKIE, Lang};
use super::return_to::ReturnTo;
use crate::http::AppState;
use crate::http::error::ApiError;

/// Nothing loads but the page and its stylesheet; forms post back to this origin.
pub(super) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = include_str!("style.css");

/// The stylesheet's address: its content's hash in the query, so that a new build's
/// stylesheet is fetched at once although browsers keep each one for a year.
static STYLE_URL: LazyLock<String> = LazyLock::new(|| {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
    let short: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("/ui/style.css?v={short}")
});

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Built in and checked by the tests: it compiles, or nothing would.
    env.add_template("page.html", include_str!("page.html"))
        .unwrap_or_else(|e| panic!("the built-in page template: {e}"));
    env
});

/// What a page shows.
#[derive(Serialize, Default)]
pub(super) struct Page<'a> {
    pub title: &'a str,
    pub message: Option<&'a str>,
    pub error: Option<String>,
    /// The token to post back, when the page has a link's form.
    pub token: Option<&'a str>,
    pub action: &'a str,
    pub button: &'a str,
    pub new_password: bool,
    /// The second step of a sign-in: its form, with the ticket to post back.
    pub mfa_token: Option<&'a str>,
    /// The form token, also in the page's cookie.
    pub csrf: &'a str,
}

/// One choice of the language picker.
#[derive(Serialize)]
struct Choice {
    name: &'static str,
    tag: &'static str,
    href: String,
    current: bool,
}

/// `page` in `lang`, drawn; `here` is where the language picker comes back to.
pub(super) fn render(status: StatusCode, lang: Lang, here: &str, page: &Page<'_>) -> Response {
    let languages: Vec<Choice> = Lang::ALL
        .into_iter()
        .map(|choice| Choice {
            name: choice.own_name(),
            tag: choice.tag(),
            href: picker_link(choice, here),
            current: choice == lang,
        })
        .collect();
    let text = |key: &str| lang.text(key);
    let html = PAGES.get_template("page.html").and_then(|template| {
        template.render(context! {
            page => page,
            lang => lang.tag(),
            style => STYLE_URL.as_str(),
            languages => languages,
            skip => text("page.skip"),
            language => text("page.language"),
            new_password_label => text("link.new_password"),
            code_label => text("second_step.code"),
            continue_label => text("second_step.button"),
        })
    });
    let Ok(html) = html else {
        return ApiError::internal().into_response();
    };
    let mut response = (status, axum::response::Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The page may carry a token: no cache may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // What it shows depends on the language cookie and header.
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Cookie, Accept-Language"),
    );
    response
}

fn picker_link(choice: Lang, here: &str) -> String {
    let query = serde_urlencoded::to_string([("to", choice.tag()), ("return_to", here)]);
    format!("/ui/lang?{}", query.unwrap_or_default())
}

pub(super) async fn style() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
    ];
    (headers, STYLE).into_response()
}

#[derive(Deserialize)]
pub(super) struct Pick {
    to: String,
    return_to: Option<String>,
}

/// The language picker: remembers the choice in the `lang` cookie for a year and goes
/// back to the page it was picked on, if that is a page of this origin.
pub(super) async fn pick_language(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let public_url = url::Url::parse(state.auth.public_url()).ok();
    let pick = query.and_then(|query| serde_urlencoded::from_str::<Pick>(&query).ok());
    let back = pick
        .as_ref()
        .and_then(|pick| pick.return_to.as_deref())
        .zip(public_url.as_ref())
        .and_then(|(raw, public_url)| ReturnTo::parse(raw, public_url));
    let target = back.as_ref().map_or("/ui/lang", ReturnTo::as_str);
    let chosen = pick.as_ref().and_then(|pick| Lang::from_tag(&pick.to));
    let Some(chosen) = chosen else {
        // Nothing to remember: the page in the language already negotiated.
        let lang = Lang::negotiate(None, &headers);
        let page = Page {
            title: lang.text("page.language"),
            message: Some(lang.text("page.choose")),
            ..Page::default()
        };
        return render(StatusCode::OK, lang, target, &page);
    };
    let secure = if state.auth.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
        chosen.tag()
    );
    let mut response = Redirect::to(target).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
