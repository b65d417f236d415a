//! The test harness: a running app over a fresh database, tokens, and a GraphQL client.

pub mod databases;
pub mod oidc;
mod peers;

pub use peers::{Peer, skippable};

use std::sync::Arc;

use serde_json::{Map, Value, json};
use userprofile::AppState;
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::Config;

/// The environment variable holding the PostgreSQL server URL for tests (any database on
/// it; each test creates its own).
pub const POSTGRES_URL_VAR: &str = "PG_TEST_URL";

/// Runs a test body on both databases: `storage_test!(name)` over `async fn name(app: TestApp)`
/// makes the tests `name::sqlite` and `name::postgres`; `storage_test!(backend name)` passes
/// the [`Backend`] instead, for tests that configure the app themselves. A test whose
/// [`Peer`] is missing is skipped (see [`skippable`]).
#[macro_export]
macro_rules! storage_test {
    (backend $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::skippable(super::$name($crate::common::Backend::Sqlite)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::skippable(super::$name($crate::common::Backend::Postgres)).await
            }
        }
    };
    ($name:ident) => {
        mod $name {
            use $crate::common::{Backend, TestApp, skippable};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                skippable(async { super::$name(TestApp::spawn(Backend::Sqlite).await).await }).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                skippable(async { super::$name(TestApp::spawn(Backend::Postgres).await).await })
                    .await
            }
        }
    };
}

/// Runs `async fn name()`, a test that needs a [`Peer`] (PostgreSQL, the OpenID provider, ...),
/// as the test `name::run`: skipped when the peer is missing, like `storage_test!`'s tests.
#[macro_export]
macro_rules! peer_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn run() {
                $crate::common::skippable(super::$name()).await
            }
        }
    };
}

/// Runs a file test on both databases and both storage backends: `files_test!(name)` over
/// `async fn name(app: TestApp)` makes `name::{sqlite,postgres}_{disk,s3}`.
#[macro_export]
macro_rules! files_test {
    ($name:ident) => {
        mod $name {
            use $crate::common::{Backend, Storage, TestApp, skippable};

            async fn on(backend: Backend, storage: Storage) {
                skippable(async { super::$name(TestApp::spawn_on(backend, storage).await).await })
                    .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_disk() {
                on(Backend::Sqlite, Storage::Disk).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_disk() {
                on(Backend::Postgres, Storage::Disk).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() {
                on(Backend::Sqlite, Storage::S3).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                on(Backend::Postgres, Storage::S3).await
            }
        }
    };
}

/// Where uploads go in a test.
#[derive(Clone, Debug)]
pub enum Storage {
    /// The local disk (the default).
    Disk,
    /// A fresh bucket on the S3 test server (`S3_TEST_ENDPOINT`, moto).
    S3,
}

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running service over its own database.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The service's database, for tests of what the schema itself guarantees.
    pub db: sea_orm::DatabaseConnection,
    /// The database's URL, for a second instance on it.
    pub database_url: String,
    /// The service's configuration, for a second instance on its database and files.
    pub config: Config,
    dev_key: DevKey,
    data_dir: Arc<tempfile::TempDir>,
    bucket: Option<(String, String)>,
    /// The service's process, when it runs as one (stopped when dropped).
    _process: Option<Arc<tokio::process::Child>>,
}

impl TestApp {
    /// Starts the service in development mode on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts the service on a fresh database and a fresh store of `storage`.
    pub async fn spawn_on(backend: Backend, storage: Storage) -> TestApp {
        let Storage::S3 = storage else {
            return Self::spawn(backend).await;
        };
        let endpoint = Peer::S3.require();
        let bucket = format!("test-{}", uuid::Uuid::new_v4().simple());
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "cannot create bucket: {}",
            created.status()
        );
        let mut app = Self::spawn_with(backend, |config| {
            config.storage.url = Some(format!("s3://{bucket}"));
            config.storage.s3_endpoint = Some(endpoint.clone());
            config.storage.s3_region = Some("us-east-1".into());
            config.storage.s3_access_key_id = Some("test".into());
            config.storage.s3_secret_access_key = Some("test".into());
        })
        .await;
        app.bucket = Some((endpoint, bucket));
        app
    }

    /// How many objects the app's store holds.
    pub async fn object_count(&self) -> usize {
        match &self.bucket {
            Some((endpoint, bucket)) => {
                let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                listing.matches("<Key>").count()
            }
            None => count_files(&self.data_dir.path().join("files")),
        }
    }

    /// Starts the service after letting `configure` change the test configuration.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        userprofile::install_crypto_provider();
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            dev_mode: true,
            data_dir: data_dir.path().to_owned(),
            ..Config::default()
        };
        // Every test's requests come from one address, and some send hundreds a second
        // (fuzzing, racing writers): budgets would refuse them. Tests of the rate limits set
        // the budgets they exercise.
        config.rate_limits = userprofile::config::RateLimits {
            requests_per_minute: 0,
            anonymous_per_minute: 0,
            uploads_per_minute: 0,
            bulk_per_minute: 0,
            search_per_minute: 0,
        };
        // Counts are exact up to their limit: a busy test machine must not turn a count into a
        // lower bound.
        config.limits.count_budget_ms = 0;
        config.database_url = match backend {
            Backend::Sqlite => databases::fresh_sqlite(&data_dir.path().join("test.db")).await,
            Backend::Postgres => databases::fresh_postgres(&Peer::Postgres.require()).await,
        };
        configure(&mut config);
        let dev_key = DevKey::load_or_create(&config.data_dir).unwrap();
        let database_url = config.database_url.clone();
        let state = AppState::new(config.clone()).await.unwrap();
        let db = state.db.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let header_seconds = state.config.limits.body_seconds;
        let app = userprofile::app(state);
        let never = std::future::pending();
        tokio::spawn(userprofile::http::server::serve(
            listener,
            app,
            header_seconds,
            never,
        ));
        TestApp {
            base_url: format!("http://{address}"),
            client: reqwest::Client::new(),
            db,
            database_url,
            config,
            dev_key,
            data_dir: Arc::new(data_dir),
            bucket: None,
            _process: None,
        }
    }

    /// A second instance of the service, as a process of the `userprofile` binary, on this
    /// one's database and data folder (so that it trusts the same development tokens), as a
    /// second process behind a load balancer would be.
    pub async fn second_process(&self) -> TestApp {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_userprofile"))
            .args(["serve", "--dev"])
            .env("USERPROFILE_LISTEN", address.to_string())
            .env("USERPROFILE_DATA_DIR", self.data_dir.path())
            .env("USERPROFILE_DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .env_remove("USERPROFILE_CONFIG")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base_url = format!("http://{address}");
        let client = reqwest::Client::new();
        let mut healthy = false;
        for _ in 0..400 {
            let health = client.get(format!("{base_url}/healthz")).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                healthy = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(healthy, "the second process did not start");
        TestApp {
            base_url,
            client,
            db: self.db.clone(),
            database_url: self.database_url.clone(),
            config: self.config.clone(),
            dev_key: self.dev_key.clone(),
            data_dir: self.data_dir.clone(),
            bucket: None,
            _process: Some(Arc::new(child)),
        }
    }

    /// A development token for a user with `(tenant slug, role)` memberships.
    pub fn user_token(&self, subject: &str, tenants: &[(&str, &str)]) -> String {
        self.token(subject, tenants, false, 3600, Map::new())
    }

    /// A development token for an operator granted `tenants` (`*` for all).
    pub fn operator_token(&self, client: &str, tenants: &[&str]) -> String {
        let grants: Vec<(&str, &str)> = tenants.iter().map(|t| (*t, "member")).collect();
        self.token(client, &grants, true, 3600, Map::new())
    }

    /// A development token with every knob.
    pub fn token(
        &self,
        subject: &str,
        tenants: &[(&str, &str)],
        operator: bool,
        ttl_seconds: i64,
        extra_claims: Map<String, Value>,
    ) -> String {
        let request = DevTokenRequest {
            subject: subject.to_owned(),
            tenants: tenants
                .iter()
                .map(|(id, role)| DevTenant {
                    id: (*id).to_owned(),
                    name: None,
                    role: (*role).to_owned(),
                })
                .collect(),
            operator,
            ttl_seconds,
            extra_claims,
        };
        self.dev_key.issue(&request).unwrap()
    }

    /// Sends a GraphQL request and returns the whole response body.
    pub async fn graphql(&self, call: Call<'_>) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({"query": call.query, "variables": call.variables}));
        if let Some(token) = call.token {
            request = request.bearer_auth(token);
        }
        if let Some(tenant) = call.tenant {
            request = request.header("X-Tenant-Id", tenant);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Sends a query as `token` and returns `data`, failing the test on any error.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self
            .graphql(Call {
                token: Some(token),
                tenant: None,
                query,
                variables,
            })
            .await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The user id a token signs in as (signing in on the way).
    pub async fn user_id(&self, token: &str) -> String {
        let data = self.ok(token, "{ me { id } }", json!({})).await;
        data["me"]["id"].as_str().unwrap().to_owned()
    }
}

/// One GraphQL call.
#[derive(Default)]
pub struct Call<'a> {
    pub token: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub query: &'a str,
    pub variables: Value,
}

/// POSTs `{ me { id } }` with `token` and returns the HTTP status and body.
pub async fn me_status(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&json!({"query": "{ me { id } }"}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {body}"))
}

/// The message of the first error of a response.
pub fn error_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

fn count_files(folder: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

/// A connection to the PostgreSQL test server (not to any test's database).
pub async fn postgres_admin() -> sea_orm::DatabaseConnection {
    userprofile::db::connect(&Peer::Postgres.require())
        .await
        .unwrap()
}

/// The name of the database an app runs on.
pub async fn database_name(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT current_database() AS name",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "name").unwrap()
}

/// Lets a test database take connections, or refuses new ones and ends the open ones, as a
/// restarting server does.
pub async fn set_connections(admin: &sea_orm::DatabaseConnection, database: &str, allowed: bool) {
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {allowed}"
        ))
        .await
        .unwrap();
    if !allowed {
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
    }
}
