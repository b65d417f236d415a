//! The test harness: a running app over a fresh database, tokens, and a GraphQL client.

pub mod oidc;

use serde_json::{Map, Value, json};
use userprofile::AppState;
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::Config;

/// The environment variable holding the PostgreSQL server URL for tests (any database on
/// it; each test creates its own).
pub const POSTGRES_URL_VAR: &str = "PG_TEST_URL";

/// Runs a test body on both databases: `storage_test!(name)` over `async fn name(app: TestApp)`
/// makes the tests `name::sqlite` and `name::postgres`; `storage_test!(backend name)` passes
/// the [`Backend`] instead, for tests that configure the app themselves.
#[macro_export]
macro_rules! storage_test {
    (backend $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    };
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await)
                    .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(
                    $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await,
                )
                .await
            }
        }
    };
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
    dev_key: DevKey,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts the service in development mode on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
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
        config.database_url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("test.db").display()
            ),
            Backend::Postgres => fresh_postgres_database().await,
        };
        configure(&mut config);
        let dev_key = DevKey::load_or_create(data_dir.path()).unwrap();
        let state = AppState::new(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = userprofile::app(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestApp {
            base_url: format!("http://{address}"),
            client: reqwest::Client::new(),
            dev_key,
            _data_dir: data_dir,
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

async fn fresh_postgres_database() -> String {
    let server = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server \
             (scripts/test.sh sets it; e.g. postgres://postgres@127.0.0.1:5432/test)"
        )
    });
    let admin = userprofile::db::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server}: {e}"));
    let name = format!("userprofile_test_{}", uuid::Uuid::new_v4().simple());
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
