//! What every page shares: its language (picked, or from the browser), its stylesheet,
//! and the picker's way back, which must never leave this origin.

use reqwest::StatusCode;

use super::helpers::spawn_app;
use super::mail::spawn_app_with_mail;

const ADA: &str = "ada@example.com";

#[tokio::test]
async fn a_page_speaks_the_browsers_language_until_another_is_picked() {
    let (app, sink) = spawn_app_with_mail(|_| {}).await;
    app.signed_up(ADA).await;
    let path = sink.nth(1).await.link_path();

    let get = |accept: &'static str, cookie: &'static str| {
        app.client
            .get(app.url(&path))
            .header("accept-language", accept)
            .header("cookie", cookie)
            .send()
    };
    let english = get("en-US,en;q=0.9", "")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(english.contains("Verify my address"), "{english}");
    let korean = get("ko-KR,ko;q=0.9,en;q=0.5", "").await.unwrap();
    assert_eq!(korean.headers()["vary"], "Cookie, Accept-Language");
    let korean = korean.text().await.unwrap();
    assert!(korean.contains("<html lang=\"ko\">"), "{korean}");
    assert!(korean.contains("주소 인증하기"), "{korean}");

    // The picker remembers the choice and comes back to the same link.
    let picked = app
        .client
        .get(app.url("/ui/lang"))
        .query(&[("to", "en"), ("return_to", path.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(picked.status(), StatusCode::SEE_OTHER);
    assert_eq!(picked.headers()["location"], path.as_str());
    let cookie = picked.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=en; Path=/;"), "{cookie}");
    assert!(
        cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let chosen = get("ko", "lang=en").await.unwrap().text().await.unwrap();
    assert!(chosen.contains("Verify my address"), "{chosen}");
    // Each page offers the other language, pointing back at itself.
    assert!(chosen.contains("hreflang=\"ko\""), "{chosen}");
    let chosen = unescaped(&chosen);
    assert!(
        chosen.contains("/ui/lang?to=ko&return_to=%2Fui%2Fverify-email"),
        "{chosen}"
    );
}

#[tokio::test]
async fn the_picker_never_sends_the_browser_to_another_site() {
    let app = spawn_app().await;
    for hostile in [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\t/evil.example",
        "evil.example",
    ] {
        let picked = app
            .client
            .get(app.url("/ui/lang"))
            .query(&[("to", "ko"), ("return_to", hostile)])
            .send()
            .await
            .unwrap();
        assert_eq!(picked.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        assert_eq!(picked.headers()["location"], "/ui/lang", "{hostile:?}");
    }
    // Without a choice, or with one the pages do not speak: the picker's own page.
    for query in ["", "?to=xx", "?to=%FF"] {
        let page = app.get(&format!("/ui/lang{query}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{query}");
        assert!(page.text().await.unwrap().contains("한국어"));
    }
}

#[tokio::test]
async fn the_stylesheet_is_cached_for_a_year_under_a_name_that_follows_its_content() {
    let app = spawn_app().await;
    let page = app.get("/ui/verify-email").await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    let html = unescaped(&page.text().await.unwrap());
    let href = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no stylesheet: {html}"));
    assert!(href.starts_with("/ui/style.css?v="), "{href}");
    let style = app.get(href).await;
    assert_eq!(style.status(), StatusCode::OK);
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        style.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let css = style.text().await.unwrap();
    assert!(css.contains("prefers-color-scheme: dark"));
    assert!(
        !css.contains("@import") && !css.contains("url("),
        "nothing external"
    );
}

/// An attribute's text as the browser reads it (the templates escape `/` and `&`).
fn unescaped(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&amp;", "&")
}
