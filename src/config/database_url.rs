//! The store's URL as a setting: it may hold a password (in its user info or a
//! `?password=` parameter), which its `Debug` never shows.

/// A database URL whose password never reaches a log.
#[derive(Clone, serde::Deserialize)]
#[serde(from = "String")]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Parameters may carry a password (`?password=`): none is shown.
        let (url, query) = match self.0.split_once('?') {
            Some((url, _)) => (url, "?[redacted]"),
            None => (self.0.as_str(), ""),
        };
        // The last `@` ends the user info: a password may itself contain `@`.
        match url.rsplit_once('@') {
            Some((_, host)) => write!(f, "[redacted]@{host}{query}"),
            None => write!(f, "{url}{query}"),
        }
    }
}
