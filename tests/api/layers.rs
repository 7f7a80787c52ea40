//! The floors of docs/architecture.md, checked against the source: a top-level module
//! imports only from the floors below it, and no files of one directory import each
//! other in a circle. An arrow that runs back up fails here, not in a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom, as docs/architecture.md draws them.
const FLOORS: &[&str] = &[
    "cli",
    "app",
    "config",
    "http",
    "auth",
    "mail",
    "password",
    "tokens",
    "store",
    "mfa",
    "audit",
    "telemetry",
    "net",
    "clock",
    "domain",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// A file's module path under `src/` (`store/sql/mfa`; `store/sql` for its mod.rs).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let text = relative.to_string_lossy().replace('\\', "/");
    text.strip_suffix("/mod").unwrap_or(&text).to_owned()
}

fn exists(module: &str) -> bool {
    let base = src().join(module);
    base.with_extension("rs").is_file() || base.join("mod.rs").is_file()
}

/// The modules a file names by `crate::a::b` or `super::x` paths, as the longest
/// prefix that is a file.
fn imports(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let module = module_of(file);
    // `super` of `a/b/c.rs` and of `a/b/c/mod.rs` alike is `a/b`.
    let parent = module.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
    let words = |rest: &str| -> Vec<String> {
        rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .map(str::to_owned)
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut add = |base: &str, parts: Vec<String>| {
        for n in (1..=parts.len()).rev() {
            let candidate = [base.to_owned()]
                .into_iter()
                .chain(parts[..n].iter().cloned())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            if exists(&candidate) {
                found.insert(candidate);
                return;
            }
        }
    };
    for (at, _) in text.match_indices("crate::") {
        add("", words(&text[at + 7..]));
    }
    for (at, _) in text.match_indices("super::") {
        let rest = &text[at + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                add(&parent, words(item.trim()));
            }
        } else {
            add(&parent, words(rest));
        }
    }
    found.remove(&module);
    found
}

#[test]
fn every_top_level_module_imports_only_from_the_floors_below() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let module = module_of(&file);
        let top = module.split('/').next().unwrap();
        let Some(floor) = FLOORS.iter().position(|name| *name == top) else {
            assert!(
                ["lib", "main"].contains(&top),
                "src/{top} is on no floor: add it to docs/architecture.md and FLOORS"
            );
            continue;
        };
        for import in imports(&file) {
            let to = import.split('/').next().unwrap();
            let below = FLOORS.iter().position(|name| *name == to).unwrap();
            assert!(
                to == top || below > floor,
                "{} imports {import}, which is not below {top}",
                file.display()
            );
        }
    }
}

#[test]
fn no_files_of_one_directory_import_each_other_in_a_circle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    // Each module's imports, its files' below it included, as arrows between siblings.
    let mut subtree: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let imported = imports(file);
        let mut ancestor = module.as_str();
        loop {
            subtree
                .entry(ancestor.to_owned())
                .or_default()
                .extend(imported.iter().cloned());
            match ancestor.rsplit_once('/') {
                Some((up, _)) => ancestor = up,
                None => break,
            }
        }
    }
    let parent = |m: &str| m.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
    let sibling_of = |m: &str, import: &str| -> Option<String> {
        let group = parent(m);
        let mut at = import.to_owned();
        while !at.is_empty() && parent(&at) != group {
            at = parent(&at);
        }
        (!at.is_empty() && at != m && subtree.contains_key(&at)).then_some(at)
    };
    let arrows: BTreeMap<&String, BTreeSet<String>> = subtree
        .iter()
        .map(|(m, imports)| (m, imports.iter().filter_map(|i| sibling_of(m, i)).collect()))
        .collect();
    // A circle is a path from a module back to itself.
    for start in arrows.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![((*start).clone(), vec![])];
        while let Some((at, path)) = stack.pop() {
            for next in &arrows[&at] {
                let path = [path.clone(), vec![next.clone()]].concat();
                assert!(
                    next != *start,
                    "an import circle: {start} -> {}",
                    path.join(" -> ")
                );
                if seen.insert(next.clone()) {
                    stack.push((next.clone(), path));
                }
            }
        }
    }
}
