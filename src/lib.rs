//! Sesame: a login and sign-up server.
//!
//! Requests flow one way: [`http`] parses and authenticates, [`auth`] decides, and
//! [`store`], [`password`] and [`tokens`] do. Nothing below `http` knows about HTTP.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod mail;
pub mod mfa;
pub mod net;
pub mod password;
pub mod store;
pub mod telemetry;
pub mod tokens;
