//! The pages' languages: one catalogue file per language (`en.toml`, `ko.toml`), flat
//! keys in TOML tables, so that a new language is one file and a translator needs no
//! tool. (Fluent would add plural and gender rules; neither English nor Korean pages
//! here need them, and a keyed TOML file reads more plainly. docs/api.md says so.)
//!
//! The language is the first of: `ui_locales` (from an OpenID Connect request), the
//! `lang` cookie (set by the picker at the foot of every page), `Accept-Language`,
//! English.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::{HeaderMap, header};

use super::guard::cookie;
use crate::http::error::ApiError;

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

/// The cookie the picker sets.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// The BCP 47 tag, for `<html lang>` and the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
        }
    }

    /// What the picker calls the language, in the language itself.
    pub fn own_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Ko => "한국어",
        }
    }

    /// The language a tag such as `ko-KR` or `EN` names, if the pages speak it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Self::ALL
            .into_iter()
            .find(|lang| lang.tag().eq_ignore_ascii_case(primary))
    }

    /// The language for a request: `ui_locales` (space-separated, in order of
    /// preference), then the `lang` cookie, then `Accept-Language`, then English.
    pub fn negotiate(ui_locales: Option<&str>, headers: &HeaderMap) -> Self {
        let from_locales = ui_locales
            .into_iter()
            .flat_map(str::split_whitespace)
            .find_map(Self::from_tag);
        let from_cookie = || cookie(headers, LANG_COOKIE).and_then(Self::from_tag);
        let from_header = || {
            let header = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            accept_language::parse(header)
                .iter()
                .find_map(|tag| Self::from_tag(tag))
        };
        from_locales
            .or_else(from_cookie)
            .or_else(from_header)
            .unwrap_or(Self::En)
    }

    fn catalogue(self) -> &'static HashMap<String, String> {
        match self {
            Self::En => &EN,
            Self::Ko => &KO,
        }
    }

    /// The words for `key` (`"table.name"`). A key missing from a catalogue is a bug
    /// the tests catch; were one to slip through, the English words are shown.
    pub fn text(self, key: &str) -> &'static str {
        self.catalogue()
            .get(key)
            .or_else(|| EN.get(key))
            .map_or("", String::as_str)
    }

    /// `text(key)` with each `{name}` replaced by its value.
    pub fn fill(self, key: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(self.text(key).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// How a page words `problem`: in English, the API's own `detail`; in another
    /// language, the catalogue's sentence for its `code`.
    pub fn problem(self, problem: &ApiError) -> String {
        if self == Self::En {
            return problem.detail().to_owned();
        }
        let key = format!("problem.{}", problem.code());
        let key = if self.catalogue().contains_key(&key) {
            key
        } else {
            "problem.other".to_owned()
        };
        let seconds = problem.retry_after_seconds().unwrap_or(1).to_string();
        self.fill(&key, &[("seconds", &seconds)])
    }
}

static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| load(include_str!("en.toml")));
static KO: LazyLock<HashMap<String, String>> = LazyLock::new(|| load(include_str!("ko.toml")));

/// A catalogue's `table.key = "words"`, flattened. Built in and checked by the tests:
/// it parses, or no page test would pass.
fn load(source: &str) -> HashMap<String, String> {
    let tables: HashMap<String, HashMap<String, String>> =
        toml::from_str(source).unwrap_or_else(|e| panic!("a built-in language catalogue: {e}"));
    tables
        .into_iter()
        .flat_map(|(table, entries)| {
            entries
                .into_iter()
                .map(move |(key, words)| (format!("{table}.{key}"), words))
        })
        .collect()
}

#[cfg(test)]
mod tests;
