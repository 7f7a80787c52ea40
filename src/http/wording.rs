//! How errors read: a sentence for people, the whole cause chain for the log.

/// An error and every error under it, for the log: `outer: inner: innermost`.
pub(super) fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` as a sentence: a capital first letter and a full stop.
pub(super) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        format!("{}{}.", first.to_uppercase(), chars.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_from_any_text_never_panics() {
        assert_eq!(sentence(""), "");
        assert_eq!(sentence("élan vital"), "Élan vital.");
        assert_eq!(sentence("ß"), "SS.");
    }
}
