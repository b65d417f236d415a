//! Configuration: an optional TOML file, then `USERPROFILE_*` environment variables on top.
//!
//! Nested keys use `__` in variable names: `USERPROFILE_LIMITS__QUERY_DEPTH=12`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The operator scope used when the configuration names none.
pub const DEFAULT_OPERATOR_SCOPE: &str = "userprofile:operator";

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
    /// Sign-in: how long a signed-in token is remembered, who manages development memberships.
    pub auth: AuthConfig,
    /// Trusted OpenID Connect providers.
    pub oidc: OidcConfig,
    /// Where uploaded files live.
    pub storage: StorageConfig,
    /// Where Prometheus reads the metrics.
    pub metrics: MetricsConfig,
    /// Requests per minute each caller may make.
    pub rate_limits: RateLimits,
    /// Log format and trace export.
    pub telemetry: TelemetryConfig,
    /// Limits of GraphQL subscriptions over WebSocket.
    pub live: LiveLimits,
    /// The web UI: its sign-in client at the identity provider and its session cookie.
    pub web: WebConfig,
    /// Counts the service's SQL statements when set (tests of statement counts; not
    /// configurable from a file).
    #[serde(skip)]
    pub statement_counter: Option<crate::db::StatementCounter>,
}

/// Sign-in settings that are not about one issuer.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Seconds a token stays signed in before its next request signs in (provisions) again.
    pub signed_in_cache_seconds: u64,
    /// Who manages the memberships development tokens assert.
    pub dev_memberships: MembershipAuthority,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            signed_in_cache_seconds: 300,
            dev_memberships: MembershipAuthority::default(),
        }
    }
}

/// Who is authoritative for the memberships an issuer's tenant claim asserts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipAuthority {
    /// Every sign-in adds, changes and removes the memberships the claim created; the API
    /// refuses to change those.
    Provider,
    /// The claim seeds memberships at the user's first sign-in only; owners manage them after.
    /// The default: no token can undo an owner's decision, and a provider that leaves the
    /// claim out of some tokens cannot drop memberships by accident.
    #[default]
    Service,
}

/// Rate-limit budgets, per minute and caller (see `crate::ratelimit`); 0 turns one off.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Requests of a signed-in principal.
    pub requests_per_minute: u32,
    /// Requests of one client address without a (valid) token.
    pub anonymous_per_minute: u32,
    /// Requests carrying uploads.
    pub uploads_per_minute: u32,
    /// Bulk writes (`createAppProfiles`, `POST /app/profiles/bulk`).
    pub bulk_per_minute: u32,
    /// Requests with a search (any field given a `search` argument).
    pub search_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            requests_per_minute: 1_200,
            anonymous_per_minute: 120,
            uploads_per_minute: 60,
            bulk_per_minute: 20,
            search_per_minute: 300,
        }
    }
}

/// Limits of subscriptions (`/graphql/ws`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveLimits {
    /// Most subscriptions open on one WebSocket connection.
    pub subscriptions_per_connection: usize,
    /// Most subscriptions one principal holds open on one instance.
    pub subscriptions_per_user: usize,
    /// Seconds a connection may stay silent (graphql-ws clients send `ping`; set the client's
    /// `keepAlive` below this) before it is closed.
    pub idle_seconds: u64,
}

impl Default for LiveLimits {
    fn default() -> Self {
        LiveLimits {
            subscriptions_per_connection: 50,
            subscriptions_per_user: 200,
            idle_seconds: 120,
        }
    }
}

/// The web UI's sign-in at an OpenID provider (authorization code with PKCE) and its
/// session. Without `issuer` the UI offers only the development sign-in (in dev mode).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// The issuer people sign in at; one of `oidc.issuers`, whose rules verify the tokens.
    pub issuer: Option<String>,
    /// The UI's client id at that issuer.
    pub client_id: Option<String>,
    /// The client secret, if the client is confidential (set it from the environment:
    /// `USERPROFILE_WEB__CLIENT_SECRET`).
    pub client_secret: Option<String>,
    /// The callback registered at the provider: `https://<host>/auth/callback`.
    pub redirect_uri: Option<String>,
    /// The resource (audience) to ask access tokens for (RFC 8707), when the provider needs one.
    pub resource: Option<String>,
    /// Hours a web session lasts at most.
    pub session_hours: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            issuer: None,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            resource: None,
            session_hours: 12,
        }
    }
}

/// Logs and traces.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Base URL of an OTLP/HTTP collector (`http://collector:4318`); traces are exported only
    /// when set.
    pub otlp_endpoint: Option<String>,
    /// How spans are encoded for the collector.
    pub otlp_protocol: OtlpProtocol,
    /// The traces' `service.name`.
    pub service_name: String,
    /// How log lines are written.
    pub log_format: LogFormat,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::default(),
            service_name: "userprofile".to_owned(),
            log_format: LogFormat::default(),
        }
    }
}

/// OTLP/HTTP encodings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// `application/x-protobuf`, what every collector accepts.
    #[default]
    Protobuf,
    /// `application/json`.
    Json,
}

/// Log line formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the request's `trace_id`.
    Json,
}

/// Where `/metrics` is served: nowhere unless one of these is set, since the figures tell an
/// outsider more than they should.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A separate address serving only `/metrics`, without credentials (keep it internal).
    pub listen: Option<SocketAddr>,
    /// A secret that Prometheus sends as `Authorization: Bearer <secret>` to read `/metrics`
    /// on the service's own address.
    pub bearer_token: Option<String>,
}

/// Object storage for uploads.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `file://<folder>` or `s3://<bucket>`; `file://<data_dir>/files` when absent.
    pub url: Option<String>,
    /// S3 region.
    pub s3_region: Option<String>,
    /// S3 endpoint, for S3-compatible services.
    pub s3_endpoint: Option<String>,
    /// S3 access key id (else `AWS_ACCESS_KEY_ID`).
    pub s3_access_key_id: Option<String>,
    /// S3 secret key (else `AWS_SECRET_ACCESS_KEY`).
    pub s3_secret_access_key: Option<String>,
    /// Key that signs file URLs (hex, at least 32 bytes); generated into the data folder
    /// when absent. Set the same key on every instance.
    pub url_signing_key: Option<String>,
}

/// OpenID Connect: which providers' tokens are trusted, and how their claims are read.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The trusted issuers.
    pub issuers: Vec<IssuerConfig>,
}

/// One trusted issuer.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Issuer URL, exactly as in the tokens' `iss` and the discovery document.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    pub audiences: Vec<String>,
    /// Scope that makes a token an operator's.
    #[serde(default = "default_operator_scope")]
    pub operator_scope: String,
    /// Tenants granted to operator clients by client id (`*` for every tenant), on top of
    /// those in the token's tenant claim.
    #[serde(default)]
    pub operator_tenants: std::collections::BTreeMap<String, Vec<String>>,
    /// Claim holding tenant memberships: a list of `{id, name, role}`, or a Zitadel-style
    /// roles object (`{role: {org id: org name}}`).
    #[serde(default = "default_tenants_claim")]
    pub tenants_claim: String,
    /// Who manages the memberships `tenants_claim` asserts.
    #[serde(default)]
    pub memberships: MembershipAuthority,
    /// Claim mappings: standard claim name → the provider's claim name (`email = "upn"`).
    #[serde(default)]
    pub claim_mappings: std::collections::BTreeMap<String, String>,
    /// Clock leeway for `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Fewest seconds between two key-set fetches for an unknown `kid`.
    #[serde(default = "default_refresh_floor")]
    pub jwks_refresh_floor_seconds: u64,
}

fn default_operator_scope() -> String {
    DEFAULT_OPERATOR_SCOPE.to_owned()
}

fn default_tenants_claim() -> String {
    "tenants".to_owned()
}

/// Clock leeway for `exp` and `nbf` when an issuer names none, and for development tokens.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;

fn default_leeway() -> u64 {
    DEFAULT_LEEWAY_SECONDS
}

fn default_refresh_floor() -> u64 {
    30
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
    /// Most documents kept as automatic persisted queries (APQ).
    pub persisted_queries: u64,
    /// Seconds a GraphQL request may run before it is answered `TIMEOUT` (and its writes
    /// rolled back).
    pub request_seconds: u64,
    /// Seconds one database statement may run (waiting for locks included) before PostgreSQL
    /// cancels it and the request is answered `TIMEOUT`; not enforced on SQLite.
    pub statement_seconds: u64,
    /// Milliseconds PostgreSQL may spend counting the matches of a directory search or filter
    /// before `totalCount` gives way to a lower bound (`totalCountExact: false`); 0 counts
    /// without a bound. Not enforced on SQLite.
    pub count_budget_ms: u64,
    /// Most connections one instance opens to PostgreSQL; several instances together must stay
    /// under the server's `max_connections`. SQLite always uses one.
    pub pool_connections: u32,
    /// Seconds a client may take to send a request's headers and body: a client trickling a
    /// body cannot hold a connection longer (answered 408).
    pub body_seconds: u64,
    /// Largest upload in bytes (fields may set lower limits).
    pub upload_bytes: usize,
    /// Most pixels an uploaded image may have (width × height).
    pub image_pixels: u64,
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
            auth: AuthConfig::default(),
            oidc: OidcConfig::default(),
            storage: StorageConfig::default(),
            metrics: MetricsConfig::default(),
            rate_limits: RateLimits::default(),
            telemetry: TelemetryConfig::default(),
            live: LiveLimits::default(),
            web: WebConfig::default(),
            statement_counter: None,
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
            persisted_queries: 1_000,
            request_seconds: 30,
            statement_seconds: 20,
            count_budget_ms: 20,
            pool_connections: 10,
            body_seconds: 30,
            upload_bytes: 10 * 1024 * 1024,
            image_pixels: 40_000_000,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("userprofile.toml");
        std::fs::write(&file, text)?;
        Config::load(Some(&file))
    }

    #[test]
    fn defaults_need_no_file() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8470");
        assert_eq!(config.database_url, "sqlite://data/userprofile.db?mode=rwc");
        assert!(!config.dev_mode);
    }

    #[test]
    fn a_file_overrides_defaults_and_fills_issuer_defaults() {
        let config = load_text(
            r#"
            listen = "0.0.0.0:9000"
            [limits]
            upload_bytes = 1024
            [[oidc.issuers]]
            issuer = "https://id.example.com"
            audiences = ["urn:userprofile:api"]
            "#,
        )
        .expect("valid file");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.upload_bytes, 1024);
        assert_eq!(config.limits.body_bytes, Limits::default().body_bytes);
        let issuer = &config.oidc.issuers[0];
        assert_eq!(issuer.operator_scope, "userprofile:operator");
        assert_eq!(issuer.tenants_claim, "tenants");
        assert_eq!(issuer.leeway_seconds, 30);
        assert_eq!(issuer.memberships, MembershipAuthority::Service);
        assert_eq!(config.auth.signed_in_cache_seconds, 300);
    }

    #[test]
    fn membership_authority_is_set_per_issuer_and_for_development_tokens() {
        let config = load_text(
            r#"
            [auth]
            signed_in_cache_seconds = 1
            dev_memberships = "provider"
            [[oidc.issuers]]
            issuer = "https://id.example.com"
            audiences = ["urn:userprofile:api"]
            memberships = "provider"
            "#,
        )
        .expect("valid file");
        assert_eq!(config.auth.signed_in_cache_seconds, 1);
        assert_eq!(config.auth.dev_memberships, MembershipAuthority::Provider);
        assert_eq!(
            config.oidc.issuers[0].memberships,
            MembershipAuthority::Provider
        );
        let error = load_text(
            r#"
            [[oidc.issuers]]
            issuer = "https://id.example.com"
            audiences = ["a"]
            memberships = "both"
            "#,
        )
        .expect_err("an unknown authority is an error");
        assert!(error.to_string().contains("both"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = load_text("listne = \"0.0.0.0:1\"").expect_err("a typo is an error");
        assert!(error.to_string().contains("listne"), "{error}");
    }
}
