//! The API test suite: one binary, one module per feature, each test against a real
//! server with its own fresh store.
#![allow(clippy::unwrap_used)]

mod client;
mod conformance;
mod hardening;
mod helpers;

mod admin;
mod audit;
mod audit_gaps;
mod bodies;
mod cluster;
mod discovery;
mod disk;
mod doc_lists;
mod email;
mod factor_key;
mod factor_rules;
mod faults;
mod guesses;
mod key_rotation;
mod layers;
mod limits;
mod link_second_step;
mod login;
mod mail;
mod mail_files;
mod me;
mod mfa;
mod notices;
mod outbox;
mod pages;
mod passkeys;
mod plans;
mod pool;
mod process;
mod readme;
mod recovery;
mod redaction;
mod refresh;
mod register;
mod sealed_keys;
mod server;
mod sessions;
mod shutdown;
mod throttle;
mod token_endpoint;
mod token_forgery;
mod verify;
