//! The README's settings table is the user's reference: it must name every flag that
//! `sesame serve` takes, and no flag it does not.

use std::collections::BTreeSet;

use clap::CommandFactory;
use sesame::cli::Cli;

#[test]
fn the_readme_settings_table_lists_every_serve_flag() {
    let readme = include_str!("../../README.md");
    let documented: BTreeSet<String> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `--"))
        .filter_map(|rest| rest.split('`').next())
        .map(|flag| format!("--{flag}"))
        .collect();
    let command = Cli::command();
    let serve = command.find_subcommand("serve").unwrap();
    let flags: BTreeSet<String> = serve
        .get_arguments()
        .chain(command.get_arguments())
        .filter_map(|arg| arg.get_long())
        .filter(|long| !matches!(*long, "help" | "version"))
        .map(|long| format!("--{long}"))
        .collect();
    assert_eq!(documented, flags);
}

/// `sesame serve --help` is the other reference: every flag says what it does, once,
/// and no flag carries another's text (two doc comments once ran together).
#[test]
fn every_serve_flag_has_its_own_help() {
    let command = Cli::command();
    let serve = command.find_subcommand("serve").unwrap();
    let mut seen = BTreeSet::new();
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(!help.is_empty(), "--{long} has no help text");
        assert!(
            seen.insert(help.clone()),
            "--{long} repeats another flag's help"
        );
        assert!(
            help.matches("[default:").count() <= 1,
            "--{long} describes more than one setting: {help}"
        );
    }
}
