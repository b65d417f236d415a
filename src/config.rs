//! Configuration: an optional TOML file, then `USERPROFILE_*` environment variables on top.
//!
//! Nested keys use `__` in variable names: `USERPROFILE_LIMITS__QUERY_DEPTH=12`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The default port; the default address is loopback only.
pub const DEFAULT_PORT: u16 = 8470;

/// The whole service configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// SeaORM database URL: `sqlite://…` (default) or `postgres://…`.
    pub database_url: String,
    /// Folder for the SQLite file, local files and the development signing key.
    pub data_dir: PathBuf,
    /// Development mode: enables development tokens and GraphiQL. Never in production.
    pub dev_mode: bool,
    /// Limits on requests.
    pub limits: Limits,
}

/// Limits on what one request may ask for.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body in bytes for users and anonymous callers (uploads have their own limit).
    pub body_bytes: usize,
    /// Largest request body in bytes for operators, whose bulk mutations carry many items.
    pub bulk_body_bytes: usize,
    /// Deepest GraphQL selection.
    pub query_depth: usize,
    /// Highest GraphQL complexity.
    pub query_complexity: usize,
    /// Largest app profile document (and merge patch), in bytes of compact JSON.
    pub app_profile_bytes: usize,
    /// Deepest nesting of objects and arrays in an app profile document (`{}` is depth 1).
    pub app_profile_depth: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            database_url: "sqlite://data/userprofile.db?mode=rwc".to_owned(),
            data_dir: PathBuf::from("data"),
            dev_mode: false,
            limits: Limits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 2 * 1024 * 1024,
            bulk_body_bytes: 64 * 1024 * 1024,
            query_depth: 16,
            query_complexity: 2_000,
            app_profile_bytes: 64 * 1024,
            app_profile_depth: 32,
        }
    }
}

impl Config {
    /// Loads the defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "config file {} not found", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let env = Env::prefixed("USERPROFILE_")
            .split("__")
            .ignore(&["config"]);
        Ok(figment.merge(env).extract()?)
    }
}
