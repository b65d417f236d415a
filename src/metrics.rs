//! Prometheus metrics of one service instance. Each [`crate::AppState`] has its own registry
//! (no process-wide recorder), so that tests running several instances in one process scrape
//! exactly their own figures. The one exception is the wait for a database connection: sqlx
//! reports it only as a tracing event, and tracing subscribers are process-wide, so
//! [`PoolWaitLayer`] counts the waits of every pool in the process (one per instance in
//! production).

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use sea_orm::{DatabaseBackend, DatabaseConnection};

/// The media type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most distinct GraphQL operation names kept as labels; later names count as `other`, so that
/// clients cannot grow the metrics without bound by inventing names.
const OPERATION_NAMES: usize = 500;

/// Every figure the service exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<HttpLabels, Histogram>,
    operations: Family<OperationLabels, Histogram>,
    operation_errors: Family<OperationErrorLabels, Counter>,
    caches: Family<CacheLabels, Counter>,
    token_refusals: Family<RefusalLabels, Counter>,
    bulk_rows: Counter,
    subscriptions: Gauge,
    rate_limited: Family<BudgetLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    operation_names: Mutex<HashSet<String>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// What kind of GraphQL operation a request ran.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, missing_docs)]
pub enum OperationType {
    query,
    mutation,
    subscription,
    /// The document could not be read, or named no operation it holds.
    unknown,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    r#type: OperationType,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationErrorLabels {
    operation: String,
    r#type: OperationType,
    code: String,
}

/// The caches whose hits and misses are counted.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, missing_docs)]
pub enum CacheName {
    verified_tokens,
    signed_in_tokens,
    field_definitions,
    file_rows,
    cards,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum CacheOutcome {
    hit,
    miss,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: CacheName,
    outcome: CacheOutcome,
}

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, missing_docs)]
pub enum RefusalReason {
    malformed,
    expired,
    not_yet_valid,
    signature,
    issuer,
    audience,
    algorithm,
    missing_claim,
    unknown_key,
    provider_unavailable,
    development_off,
    other,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: RefusalReason,
}

/// The budgets of the rate limiter.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, missing_docs)]
pub enum Budget {
    requests,
    uploads,
    bulk,
    search,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    budget: Budget,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum PoolState {
    idle,
    in_use,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: PoolState,
}

/// Counters of one cache, handed to it at construction.
#[derive(Clone, Debug, Default)]
pub struct CacheCounters {
    hits: Counter,
    misses: Counter,
}

impl CacheCounters {
    /// Counts a lookup.
    pub fn record(&self, hit: bool) {
        if hit {
            self.hits.inc();
        } else {
            self.misses.inc();
        }
    }
}

/// Latency buckets from 1 ms to about 16 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        let http_seconds = Family::new_with_constructor(latency as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by method, route and status",
            Unit::Seconds,
            http_seconds.clone(),
        );
        let operations = Family::new_with_constructor(latency as fn() -> Histogram);
        registry.register_with_unit(
            "graphql_operation_duration",
            "GraphQL operations by operation name and type, with their latency",
            Unit::Seconds,
            operations.clone(),
        );
        let operation_errors = Family::default();
        registry.register(
            "graphql_errors",
            "GraphQL errors by operation name, type and extensions.code",
            operation_errors.clone(),
        );
        let caches = Family::default();
        registry.register(
            "cache_lookups",
            "Cache lookups by cache and outcome (hit or miss)",
            caches.clone(),
        );
        let token_refusals = Family::default();
        registry.register(
            "token_verification_failures",
            "Bearer tokens refused, by reason",
            token_refusals.clone(),
        );
        let bulk_rows = Counter::default();
        registry.register(
            "bulk_rows_written",
            "Rows written by bulk mutations",
            bulk_rows.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "graphql_subscriptions_open",
            "GraphQL subscriptions open now",
            subscriptions.clone(),
        );
        let rate_limited = Family::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused by a rate limit, by budget",
            rate_limited.clone(),
        );
        let pool_connections = Family::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Most connections the database pool opens",
            pool_max.clone(),
        );
        registry.register_with_unit(
            "db_pool_acquire_duration",
            "Time each statement waited for a database pool connection (every pool of the process)",
            Unit::Seconds,
            POOL_WAITS.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_seconds,
            operations,
            operation_errors,
            caches,
            token_refusals,
            bulk_rows,
            subscriptions,
            rate_limited,
            pool_connections,
            pool_max,
            operation_names: Mutex::new(HashSet::new()),
        }
    }

    /// The counters of the cache `name`.
    pub fn cache(&self, name: CacheName) -> CacheCounters {
        let counter = |outcome| {
            self.caches
                .get_or_create(&CacheLabels {
                    cache: name,
                    outcome,
                })
                .clone()
        };
        CacheCounters {
            hits: counter(CacheOutcome::hit),
            misses: counter(CacheOutcome::miss),
        }
    }

    /// Counts one answered HTTP request of a routed path (the route's pattern, never the
    /// concrete path, so that ids do not become labels).
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = HttpLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts one GraphQL operation with the codes of its errors.
    pub fn operation(
        &self,
        name: Option<&str>,
        r#type: OperationType,
        took: Duration,
        codes: &[String],
    ) {
        let operation = self.operation_label(name);
        self.operations
            .get_or_create(&OperationLabels {
                operation: operation.clone(),
                r#type,
            })
            .observe(took.as_secs_f64());
        for code in codes {
            self.operation_errors
                .get_or_create(&OperationErrorLabels {
                    operation: operation.clone(),
                    r#type,
                    code: code.clone(),
                })
                .inc();
        }
    }

    fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "anonymous".to_owned();
        };
        let mut seen = self
            .operation_names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(name) || seen.len() < OPERATION_NAMES {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// Counts a refused bearer token.
    pub fn token_refused(&self, reason: RefusalReason) {
        self.token_refusals
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Counts rows written by a bulk mutation.
    pub fn bulk_rows_written(&self, rows: u64) {
        self.bulk_rows.inc_by(rows);
    }

    /// Counts a request refused by the rate limiter.
    pub fn rate_limited(&self, budget: Budget) {
        self.rate_limited
            .get_or_create(&BudgetLabels { budget })
            .inc();
    }

    /// The gauge of open subscriptions.
    pub fn subscriptions(&self) -> &Gauge {
        &self.subscriptions
    }

    /// The exposition text, with the pool's figures read now.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        self.read_pool(db);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn read_pool(&self, db: &DatabaseConnection) {
        let (size, idle, max) = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => return,
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        let state = |state| PoolLabels { state };
        self.pool_connections
            .get_or_create(&state(PoolState::idle))
            .set(idle);
        self.pool_connections
            .get_or_create(&state(PoolState::in_use))
            .set(i64::from(size) - idle);
        self.pool_max.set(i64::from(max));
    }
}

/// Waits for a pool connection, from 100 µs (an idle connection at hand) to the 10 s acquire
/// timeout.
static POOL_WAITS: LazyLock<Histogram> =
    LazyLock::new(|| Histogram::new(exponential_buckets(0.0001, 4.0, 9)));

/// The target of sqlx's event after each connection acquisition.
const POOL_ACQUIRE_TARGET: &str = "sqlx::pool::acquire";

/// A tracing layer that records sqlx's `acquired_after_secs` of every connection acquisition
/// into `db_pool_acquire_duration`. Installed by [`crate::telemetry::init`]; its filter lets
/// those TRACE events through whatever the log filter is.
pub struct PoolWaitLayer;

impl PoolWaitLayer {
    /// The layer with the filter it needs.
    pub fn filtered<S>() -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer;
        let targets = tracing_subscriber::filter::Targets::new()
            .with_target(POOL_ACQUIRE_TARGET, tracing::Level::TRACE);
        PoolWaitLayer.with_filter(targets)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PoolWaitLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != POOL_ACQUIRE_TARGET {
            return;
        }
        let mut waited = AcquiredAfter(None);
        event.record(&mut waited);
        if let Some(seconds) = waited.0 {
            POOL_WAITS.observe(seconds);
        }
    }
}

/// Reads the `acquired_after_secs` field of an acquisition event.
struct AcquiredAfter(Option<f64>);

impl tracing::field::Visit for AcquiredAfter {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "acquired_after_secs" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}
