use std::collections::BTreeSet;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::*;

fn keys(lang: Lang) -> BTreeSet<&'static str> {
    lang.catalogue().keys().map(String::as_str).collect()
}

#[test]
fn every_catalogue_has_every_key_and_no_other() {
    let english = keys(Lang::En);
    for lang in Lang::ALL {
        let theirs = keys(lang);
        let missing: Vec<_> = english.difference(&theirs).collect();
        let extra: Vec<_> = theirs.difference(&english).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
        assert!(
            extra.is_empty(),
            "{} has keys English lacks: {extra:?}",
            lang.tag()
        );
        for key in keys(lang) {
            assert!(
                !lang.text(key).trim().is_empty(),
                "{}: {key} is empty",
                lang.tag()
            );
        }
    }
}

#[test]
fn placeholders_are_the_same_in_every_language() {
    let placeholders = |text: &str| -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}'))
            .map(|(name, _)| name.to_owned())
            .collect()
    };
    for key in keys(Lang::En) {
        let english = placeholders(Lang::En.text(key));
        for lang in Lang::ALL {
            assert_eq!(
                placeholders(lang.text(key)),
                english,
                "{}: {key}",
                lang.tag()
            );
        }
    }
}

fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn ui_locales_then_the_cookie_then_accept_language_choose() {
    let none = HeaderMap::new();
    assert_eq!(Lang::negotiate(None, &none), Lang::En);
    let korean_browser = headers(&[(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9,en;q=0.8")]);
    assert_eq!(Lang::negotiate(None, &korean_browser), Lang::Ko);
    let weighted = headers(&[(header::ACCEPT_LANGUAGE, "fr;q=0.9, en;q=0.5, ko;q=0.7")]);
    assert_eq!(Lang::negotiate(None, &weighted), Lang::Ko);
    let picked = headers(&[
        (header::ACCEPT_LANGUAGE, "ko"),
        (header::COOKIE, "a=b; lang=en"),
    ]);
    assert_eq!(Lang::negotiate(None, &picked), Lang::En);
    assert_eq!(Lang::negotiate(Some("fr-CA ko"), &picked), Lang::Ko);
    // Nothing the pages speak: English, whatever the order of junk.
    let junk = headers(&[
        (header::ACCEPT_LANGUAGE, ";;,q=,*"),
        (header::COOKIE, "lang=xx"),
    ]);
    assert_eq!(Lang::negotiate(Some("de"), &junk), Lang::En);
}

#[test]
fn problems_read_as_the_api_says_in_english_and_from_the_catalogue_otherwise() {
    let problem = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "API words.",
    );
    assert_eq!(Lang::En.problem(&problem), "API words.");
    assert_eq!(
        Lang::Ko.problem(&problem),
        Lang::Ko.text("problem.invalid_credentials")
    );
    let unknown = ApiError::new(StatusCode::BAD_REQUEST, "no_such_code", "x");
    assert_eq!(Lang::Ko.problem(&unknown), Lang::Ko.text("problem.other"));
    assert_eq!(
        Lang::Ko.fill("problem.overloaded", &[("seconds", "7")]),
        "서버가 바쁩니다. 7초 뒤에 다시 시도하세요."
    );
}

/// The pages' sources, whose `text("table.key")` calls must name keys that exist.
const SOURCES: [&str; 5] = [
    include_str!("../mod.rs"),
    include_str!("../links.rs"),
    include_str!("../page.rs"),
    include_str!("../second_step.rs"),
    include_str!("mod.rs"),
];

#[test]
fn every_key_the_pages_ask_for_is_in_the_catalogues() {
    let asked: BTreeSet<&str> = SOURCES
        .iter()
        .flat_map(|source| source.split("text(\"").skip(1))
        .filter_map(|rest| rest.split_once('"'))
        .map(|(key, _)| key)
        .filter(|key| key.contains('.'))
        .collect();
    assert!(asked.len() >= 10, "the scan found {asked:?}");
    // Each link's table holds the four words `Link::text` asks for.
    let tables = include_str!("../links.rs")
        .split("const WORDS: &'static str = \"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"'))
        .map(|(table, _)| table);
    let link_keys: Vec<String> = tables
        .flat_map(|table| {
            ["title", "intro", "button", "done"].map(|part| format!("{table}.{part}"))
        })
        .collect();
    assert_eq!(link_keys.len(), 20, "five kinds of link");
    let english = keys(Lang::En);
    for key in asked
        .iter()
        .copied()
        .chain(link_keys.iter().map(String::as_str))
    {
        assert!(
            english.contains(key),
            "the pages ask for {key}, which en.toml lacks"
        );
    }
}
