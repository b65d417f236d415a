//! UserProfile: a GraphQL user-profile service. `main.rs` and the tests both start it
//! through [`AppState::new`] and [`app`].

pub mod apps;
pub mod audit;
pub mod auth;
pub mod config;
pub mod core;
pub mod db;
pub mod error;
pub mod events;
pub mod fields;
pub mod files;
pub mod graphql;
pub mod http;
pub mod integrity;
pub mod keyfile;
pub mod metrics;
pub mod profiles;
pub mod ratelimit;
pub mod seed;
pub mod session;
pub mod signin;
pub mod telemetry;
pub mod tenants;
pub mod users;
pub mod web;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

/// Everything a request handler needs, shared by all requests.
pub struct AppState {
    /// The configuration the service started with.
    pub config: config::Config,
    /// The database pool.
    pub db: DatabaseConnection,
    /// The pool the caller of each request is read from (see [`db::connect_reader`]).
    pub reader: DatabaseConnection,
    /// The GraphQL schema.
    pub schema: graphql::AppSchema,
    /// The compatibility schema of the replaced platform's `me` (`/compat/graphql`).
    pub compat_schema: graphql::compat::CompatSchema,
    /// Token verification and the signed-in cache.
    pub auth: auth::Authenticator,
    /// Sign-in: provisioning and membership sync per issuer.
    pub signin: signin::SignIn,
    /// Cached field definitions per tenant.
    pub fields: Arc<fields::store::FieldRegistry>,
    /// Uploaded files.
    pub files: Arc<files::FileStore>,
    /// Apps and app-scoped profiles (shared with the GraphQL schema).
    pub apps: apps::Apps,
    /// This instance's Prometheus metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// This instance's rate limits.
    pub limiter: Arc<ratelimit::RateLimiter>,
    /// The change feed shared by every instance.
    pub events: Arc<events::Events>,
    /// The web UI's texts, sign-in client and cookie settings.
    pub web: web::Web,
}

impl AppState {
    /// Connects to the database, applies migrations and builds the schema; the identity
    /// providers' keys are fetched in the background.
    pub async fn new(config: config::Config) -> anyhow::Result<Arc<AppState>> {
        let pool = db::PoolSettings {
            statement_timeout: Some(std::time::Duration::from_secs(
                config.limits.statement_seconds,
            )),
            max_connections: Some(config.limits.pool_connections),
        };
        let mut db = db::connect_service(&config.database_url, pool).await?;
        backfill(&db).await?;
        let mut reader = db::connect_reader(&config.database_url, &db).await?;
        if let Some(counter) = &config.statement_counter {
            db::count_statements(&mut db, counter.clone());
            db::count_statements(&mut reader, counter.clone());
        }
        let metrics = Arc::new(metrics::Metrics::new());
        let events = events::Events::start(&db).await?;
        let fields = Arc::new(fields::store::FieldRegistry::new(
            metrics.cache(metrics::CacheName::field_definitions),
            Some(events.clone()),
        ));
        let files = Arc::new(files::FileStore::new(
            &config,
            metrics.cache(metrics::CacheName::file_rows),
            Some(events.clone()),
        )?);
        tokio::spawn(keep_caches_fresh(
            events.subscribe(),
            Arc::downgrade(&fields),
            Arc::downgrade(&files),
        ));
        tokio::spawn(profiles::search_rebuild::keep_documents_fresh(
            db.clone(),
            events.subscribe(),
        ));
        let cards = Arc::new(profiles::cache::CardCache::new(
            metrics.cache(metrics::CacheName::cards),
        ));
        let apps = apps::Apps::new(db.clone(), &config.limits);
        let limiter = Arc::new(ratelimit::RateLimiter::new(
            &config.rate_limits,
            metrics.clone(),
        ));
        tokio::spawn(forget_idle_callers(Arc::downgrade(&limiter)));

        let services = graphql::Services {
            db: db.clone(),
            registry: fields.clone(),
            cards: cards.clone(),
            files: files.clone(),
            apps: apps.clone(),
            metrics: metrics.clone(),
            limiter: limiter.clone(),
            events: events.clone(),
        };
        let schema = graphql::schema(services, &config);
        let compat_schema = graphql::compat::schema(
            db.clone(),
            fields.clone(),
            cards,
            metrics.clone(),
            &config.limits,
        );
        let auth = auth::Authenticator::new(&config, metrics.clone())?;
        let signin = signin::SignIn::new(&config);
        let web = web::Web::new(&config)?;
        let state = Arc::new(AppState {
            config,
            db,
            reader,
            schema,
            compat_schema,
            auth,
            signin,
            fields,
            files,
            apps,
            metrics,
            limiter,
            events,
            web,
        });
        let warming = state.clone();
        tokio::spawn(async move { warming.auth.warm_up().await });
        tokio::spawn(web::sweep_expired_sessions(Arc::downgrade(&state)));
        Ok(state)
    }
}

/// Applies every instance's changes to this instance's caches, until the instance is gone.
impl AppState {
    /// The pools a request's sign-in uses.
    pub fn databases(&self) -> signin::Databases<'_> {
        signin::Databases {
            writer: &self.db,
            reader: &self.reader,
        }
    }

    /// The stores the domain's card functions take.
    pub fn stores(&self) -> profiles::Stores<'_> {
        profiles::Stores {
            db: &self.db,
            registry: &self.fields,
            files: &self.files,
            events: &self.events,
        }
    }
}

async fn keep_caches_fresh(
    mut changes: tokio::sync::broadcast::Receiver<Arc<events::Change>>,
    fields: std::sync::Weak<fields::store::FieldRegistry>,
    files: std::sync::Weak<files::FileStore>,
) {
    use events::Change;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            Err(RecvError::Lagged(_)) => Arc::new(Change::Resync),
            Err(RecvError::Closed) => return,
        };
        let (Some(fields), Some(files)) = (fields.upgrade(), files.upgrade()) else {
            return;
        };
        match &*change {
            Change::Fields { tenant, .. } => fields.forget(*tenant).await,
            Change::FilesReleased { ids } => files.forget_rows(ids).await,
            Change::Resync => {
                fields.forget_all();
                files.forget_all_rows();
            }
            Change::Card { .. } | Change::Membership { .. } => {}
        }
    }
}

/// Once a minute, drops the rate-limit state of callers whose budgets are full again; ends
/// with the instance.
async fn forget_idle_callers(limiter: std::sync::Weak<ratelimit::RateLimiter>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        ticks.tick().await;
        let Some(limiter) = limiter.upgrade() else {
            return;
        };
        limiter.forget_idle();
    }
}

/// The service's router.
pub fn app(state: Arc<AppState>) -> axum::Router {
    http::router(state)
}

/// Installs the process-wide TLS crypto provider; two are linked in, so rustls cannot pick.
pub fn install_crypto_provider() {
    // An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Connects to `url` and brings the database up to date: the migrations, then the backfills
/// that need the service's own rules (see `profiles::backfill`).
pub async fn prepare_database(url: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = db::connect_and_migrate(url).await?;
    backfill(&db).await?;
    Ok(db)
}

async fn backfill(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    profiles::backfill::run_once(db)
        .await
        .map_err(|error| anyhow::anyhow!("backfilling search texts and sort names: {error:?}"))
}
