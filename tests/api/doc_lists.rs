//! The docs' lists are the user's reference, and lists rot: each is checked against
//! the code it describes. Mail templates (docs/operations.md), audit event types and
//! the query parameters refused as credentials (docs/api.md), the CLI subcommands
//! (README's code tour).

use sesame::audit::EventType;
use sesame::http::extract::QUERY_SECRETS;
use sesame::mail::Kind;

const API: &str = include_str!("../../docs/api.md");
const OPERATIONS: &str = include_str!("../../docs/operations.md");
const README: &str = include_str!("../../README.md");

#[test]
fn every_mail_template_is_named_in_the_operations_guide() {
    for kind in Kind::ALL {
        let named = format!("`{}`", kind.name());
        assert!(
            OPERATIONS.contains(&named),
            "docs/operations.md does not name {named}"
        );
    }
    // And no built-in template file is missing from the list of kinds.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/mail/templates");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.split('.').next().unwrap();
        assert!(
            Kind::ALL.iter().any(|kind| kind.name() == stem),
            "{name} is no message kind"
        );
    }
}

#[test]
fn every_audit_event_type_is_in_the_api_reference() {
    for kind in EventType::ALL {
        let named = format!("`{}`", kind.as_str());
        assert!(API.contains(&named), "docs/api.md does not name {named}");
    }
}

#[test]
fn every_query_credential_is_in_the_api_reference() {
    let line = API
        .lines()
        .skip_while(|l| !l.starts_with("- **Credentials in the URL**"))
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    for name in QUERY_SECRETS {
        assert!(
            line.contains(&format!("`{name}`")),
            "docs/api.md omits `{name}`: {line}"
        );
    }
}

#[test]
fn the_code_tour_names_every_subcommand() {
    use clap::CommandFactory;
    let command = sesame::cli::Cli::command();
    let tour = README
        .lines()
        .find(|l| l.starts_with("src/main.rs, cli/"))
        .unwrap();
    let tour = format!(
        "{tour} {}",
        README
            .lines()
            .skip_while(|l| !l.starts_with("src/main.rs, cli/"))
            .nth(1)
            .unwrap()
    );
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        assert!(tour.contains(name), "the code tour omits `{name}`: {tour}");
    }
}

/// The section of docs/api.md under `heading`, up to the next heading of its level.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &doc[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn the_credential_endpoints_named_are_the_ones_the_policy_covers() {
    let listed = section(API, "## Limits on the credential endpoints");
    let named: std::collections::BTreeSet<String> = listed
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|item| item.starts_with(['G', 'P', 'D']) && item.contains(" /"))
        .map(str::to_owned)
        .collect();
    let mut covered: std::collections::BTreeSet<String> =
        sesame::http::routes::credential_endpoints()
            .into_iter()
            .collect();
    // `/token` applies the same policy itself, to answer in RFC 6749's shape.
    covered.insert("POST /token".to_owned());
    assert_eq!(
        named, covered,
        "docs/api.md's list against routes::credential_table"
    );
}
