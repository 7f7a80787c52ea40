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
