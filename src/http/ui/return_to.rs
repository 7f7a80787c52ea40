//! Where a page sends the browser after it is done: `?return_to=`, which anyone can put
//! in a link, so it is an open redirect unless it is held to a path on this origin.
//!
//! The value is resolved against the public URL as a browser would resolve it, and
//! kept only if it stays on the public URL's origin. What is kept is the resolved
//! path and query (never the raw text), so what the browser is sent to is exactly what
//! was checked. Backslashes and control characters are refused outright: browsers read
//! `\` as `/` and drop tabs and newlines, so `/\evil` and `/\t/evil` are `//evil`.

use url::Url;

/// The longest `return_to` kept; longer ones are dropped, not cut.
const MAX_LEN: usize = 2048;

/// A path (with its query) on this server's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// `raw` (already percent-decoded from the query), if it names a path on the
    /// origin of `public_url`; `None` for anything else.
    pub fn parse(raw: &str, public_url: &Url) -> Option<Self> {
        let plain_path = raw.starts_with('/') && !raw.starts_with("//");
        let harmless = raw
            .chars()
            .all(|c| !c.is_control() && c != '\\' && !c.is_whitespace());
        if raw.len() > MAX_LEN || !plain_path || !harmless {
            return None;
        }
        let resolved = public_url.join(raw).ok()?;
        if resolved.origin() != public_url.origin() {
            return None;
        }
        let mut path = resolved.path().to_owned();
        if let Some(query) = resolved.query() {
            path.push('?');
            path.push_str(query);
        }
        Some(Self(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Url {
        Url::parse("https://id.example.com/").unwrap()
    }

    fn kept(raw: &str) -> Option<String> {
        ReturnTo::parse(raw, &base()).map(|to| to.0)
    }

    #[test]
    fn paths_on_this_origin_are_kept() {
        assert_eq!(kept("/ui/account").as_deref(), Some("/ui/account"));
        assert_eq!(kept("/a/b?x=1&y=2").as_deref(), Some("/a/b?x=1&y=2"));
        assert_eq!(kept("/a/../b").as_deref(), Some("/b"));
        // Kept as a path: the browser does not decode %2F into a slash.
        assert_eq!(kept("/%2F%2Fevil.com").as_deref(), Some("/%2F%2Fevil.com"));
    }

    #[test]
    fn every_other_form_is_dropped() {
        for raw in [
            "",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            " /ui",
            "https://evil.com/",
            "https:evil.com",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.com",
            "ui/account",
            "/ui\u{0}x",
            "/ui\u{2028}x",
        ] {
            assert_eq!(kept(raw), None, "{raw:?}");
        }
        assert_eq!(kept(&format!("/{}", "a".repeat(MAX_LEN))), None);
    }

    proptest! {
        /// Whatever is kept resolves, as a browser resolves it, to this origin.
        #[test]
        fn what_is_kept_never_leaves_the_origin(raw in "\\PC{0,40}") {
            if let Some(to) = ReturnTo::parse(&raw, &base()) {
                let resolved = base().join(to.as_str()).unwrap();
                prop_assert_eq!(resolved.origin(), base().origin());
                prop_assert!(to.as_str().starts_with('/') && !to.as_str().starts_with("//"));
            }
        }

        /// A scheme, an authority or a backslash in front is never kept.
        #[test]
        fn hostile_prefixes_are_always_dropped(
            prefix in prop::sample::select(vec![
                "//", "/\\", "\\", "https:", "http:", "javascript:", "/\t/", "/\r\n/", "%2F%2F",
            ]),
            rest in "[a-z0-9./%@:?#-]{0,30}",
        ) {
            prop_assert_eq!(kept(&format!("{prefix}{rest}")), None);
        }

        /// Mixed case and encoded forms of a scheme do not slip through either.
        #[test]
        fn schemes_in_any_case_are_dropped(scheme in "[jJ][aA][vV][aA][sS][cC][rR][iI][pP][tT]:") {
            prop_assert_eq!(kept(&format!("{scheme}alert(1)")), None);
        }
    }
}
