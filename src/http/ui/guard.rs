//! Whether a form post is one of our pages' own: it came from the public origin
//! (`Sec-Fetch-Site`, `Origin`), and it carries the CSRF token its page set in a
//! `SameSite=Strict` cookie (double submit). A client that sends neither header still
//! needs the cookie, which no other site can make a browser send or read.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookie a page's form token is in.
const CSRF_COOKIE: &str = "sesame_csrf";

/// A new form token: 256 random bits.
pub(super) fn new_csrf() -> Option<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// The `Set-Cookie` that holds `token` for the pages under `/ui` for an hour; `Secure`
/// when the public URL is https.
pub(super) fn csrf_cookie(token: &str, public_url: &str) -> Option<HeaderValue> {
    let secure = if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{CSRF_COOKIE}={token}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=3600{secure}");
    HeaderValue::from_str(&cookie).ok()
}

/// Whether a form post is our pages' own: from our origin, with the form token its
/// page set.
pub(super) fn form_is_ours(headers: &HeaderMap, public_url: &str, form_token: &str) -> bool {
    if !same_origin(headers, public_url) {
        return false;
    }
    cookie(headers, CSRF_COOKIE).is_some_and(|cookie| {
        !cookie.is_empty()
            && verify_slices_are_equal(cookie.as_bytes(), form_token.as_bytes()).is_ok()
    })
}

/// Whether a form post came from a page of `public_url`'s origin. Browsers say so in
/// `Sec-Fetch-Site`, which no page can set or forge; when it is sent, it decides. A
/// page served with `Referrer-Policy: no-referrer` (ours are: their URLs hold tokens)
/// posts with `Origin: null`, so `Origin` is only the judge for older browsers that
/// send no `Sec-Fetch-Site`, and there `null` is refused. A client that sends neither
/// (not a browser) is let through: the token it posts is the credential, and no
/// browser can be made to post one cross-site without these headers.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => origin.as_bytes() == origin_of(public_url).as_bytes(),
        None => true,
    }
}

/// The value of the cookie `name`, if the request carries it.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
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
        // What Chromium sends for a form on a page with `no-referrer`.
        assert!(same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            url
        ));
        assert!(!same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            url
        ));
    }

    #[test]
    fn a_post_needs_the_cookie_its_page_set() {
        let url = "http://localhost:8080";
        let token = new_csrf().unwrap();
        let cookie = format!("other=1; sesame_csrf={token}");
        let mut ours = headers(&[("sec-fetch-site", "same-origin")]);
        ours.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert!(form_is_ours(&ours, url, &token));
        assert!(!form_is_ours(&ours, url, "another token"));
        assert!(!form_is_ours(&ours, url, ""));
        // No cookie: refused, even with no Origin or Sec-Fetch-Site at all.
        assert!(!form_is_ours(&headers(&[]), url, &token));
        let set = csrf_cookie(&token, "https://auth.example.com").unwrap();
        let set = set.to_str().unwrap();
        assert!(
            set.contains("SameSite=Strict") && set.contains("HttpOnly"),
            "{set}"
        );
        assert!(set.ends_with("; Secure"), "{set}");
    }
}
