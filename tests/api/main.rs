//! Black-box tests: each starts the real HTTP app on an ephemeral port over a fresh database
//! and drives it over HTTP. Every storage test runs on SQLite and on PostgreSQL.

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

mod apps;
mod auth;
mod compat;
mod database;
mod directory;
mod federation;
mod fields;
mod files;
mod foundation;
mod fuzz;
mod hardening;
mod identity;
mod integrity;
mod keyfiles;
mod live;
mod loaders;
mod metrics;
mod oidc;
mod operations;
mod outage;
mod profiles;
mod ratelimits;
mod seed;
mod signin;
mod telemetry;
mod tenants;
mod web;
mod web_browser;
