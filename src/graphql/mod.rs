//! The GraphQL schema: a thin skin over the domain modules, one resolver file per domain.

mod apps;
pub mod compat;
mod cost_budget;
mod directory;
mod expansion;
mod federation;
mod fields;
mod files;
pub mod gate;
mod guard;
pub mod live;
pub mod loaders;
mod me;
mod nesting;
mod nul_guard;
mod operation_metrics;
mod persisted;
mod profiles;
pub mod request_check;
mod spans;
mod tenants;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::error::Error;
use crate::events::Events;
use crate::fields::labels::{self, Localized, Preferences};
use crate::fields::store::FieldRegistry;
use crate::files::FileStore;
use crate::metrics::Metrics;
use crate::profiles::cache::CardCache;
use spans::Traced;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    tenants::TenantQuery,
    fields::FieldQuery,
    profiles::ProfileQuery,
    directory::DirectoryQuery,
    apps::AppQuery,
    federation::EntityQuery,
);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct Mutation(
    tenants::TenantMutation,
    fields::FieldMutation,
    profiles::ProfileMutation,
    files::FileMutation,
    apps::AppMutation,
);

/// The executable schema.
pub type AppSchema = gate::Gated<Traced<Query>, Traced<Mutation>, live::LiveSubscription>;

fn builder() -> SchemaBuilder<Traced<Query>, Traced<Mutation>, live::LiveSubscription> {
    Schema::build(
        Traced(Query::default()),
        Traced(Mutation::default()),
        live::LiveSubscription,
    )
    .enable_federation()
}

/// What the resolvers reach, shared by every request.
pub struct Services {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Cached field definitions.
    pub registry: Arc<FieldRegistry>,
    /// Recently read cards' values, by version.
    pub cards: Arc<CardCache>,
    /// Uploaded files.
    pub files: Arc<FileStore>,
    /// Apps and app profiles.
    pub apps: crate::apps::Apps,
    /// The instance's metrics.
    pub metrics: Arc<Metrics>,
    /// The instance's rate limits.
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
    /// The change feed.
    pub events: Arc<Events>,
}

/// Builds the schema over `services`, under the configured limits.
pub fn schema(services: Services, config: &crate::config::Config) -> AppSchema {
    let limits = &config.limits;
    let subscribers = Arc::new(live::Subscribers::new(config.live.clone()));
    let build = |mode| {
        builder()
            .data(services.events.clone())
            .data(crate::profiles::directory::CountBudget {
                millis: limits.count_budget_ms,
            })
            .data(subscribers.clone())
            .data(services.apps.clone())
            .data(services.db.clone())
            .data(services.registry.clone())
            .data(services.cards.clone())
            .data(services.files.clone())
            .data(services.metrics.clone())
            .limit_depth(limits.query_depth)
            .limit_complexity(limits.query_complexity)
            .validation_mode(mode)
            .finish()
    };
    let check = request_check::RequestCheck::new(limits);
    let gate = gate::Gate::new(
        check,
        Some(services.limiter.clone()),
        services.metrics.clone(),
    );
    gate::Gated::new(build, gate)
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The subgraph SDL a federation gateway composes (what `_service { sdl }` answers), as checked
/// in at `subgraph.graphql`.
pub fn subgraph_sdl() -> String {
    let options = async_graphql::SDLExportOptions::new()
        .federation()
        .compose_directive();
    builder().finish().sdl_with_options(options)
}

/// Something the server put into the GraphQL context.
fn context_data<'a, T: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> Result<&'a T, Error> {
    ctx.data::<T>().map_err(|_| {
        Error::internal(anyhow::anyhow!(
            "no {} in the GraphQL context",
            std::any::type_name::<T>()
        ))
    })
}

/// The database connection from the GraphQL context.
fn db<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a DatabaseConnection, Error> {
    context_data(ctx)
}

/// The field registry from the GraphQL context.
fn registry<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a FieldRegistry, Error> {
    context_data::<Arc<FieldRegistry>>(ctx).map(AsRef::as_ref)
}

/// The card cache from the GraphQL context.
fn card_cache<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a CardCache, Error> {
    context_data::<Arc<CardCache>>(ctx).map(AsRef::as_ref)
}

/// The file store from the GraphQL context.
fn file_store<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a FileStore, Error> {
    context_data::<Arc<FileStore>>(ctx).map(AsRef::as_ref)
}

/// What writing a card touches, from the GraphQL context.
fn stores<'a>(ctx: &async_graphql::Context<'a>) -> Result<crate::profiles::Stores<'a>, Error> {
    Ok(crate::profiles::Stores {
        db: db(ctx)?,
        registry: registry(ctx)?,
        files: file_store(ctx)?,
        events: events(ctx)?,
    })
}

/// The change feed from the GraphQL context.
fn events<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a Events, Error> {
    context_data::<Arc<Events>>(ctx).map(AsRef::as_ref)
}

/// How texts are shown in a response: the caller's locale preferences (a `locale` argument,
/// else `Accept-Language`) and the tenant's default locale.
#[derive(Debug)]
pub struct Display {
    preferences: Preferences,
    default_locale: String,
}

impl Display {
    /// The display of the current request, with an optional explicit locale.
    fn of(
        ctx: &async_graphql::Context<'_>,
        locale: Option<&str>,
        default_locale: &str,
    ) -> Arc<Display> {
        let accept = ctx.data::<AcceptLanguage>().ok().map(|a| a.0.as_str());
        Arc::new(Display {
            preferences: Preferences::from_request(locale, accept),
            default_locale: default_locale.to_owned(),
        })
    }

    fn label(&self, texts: &BTreeMap<String, String>, key: &str) -> Localized {
        labels::label(texts, key, &self.preferences, &self.default_locale)
    }

    fn pick(&self, texts: &BTreeMap<String, String>) -> Option<Localized> {
        labels::pick(texts, &self.preferences, &self.default_locale)
    }

    fn negotiate(&self, available: &[String]) -> String {
        labels::negotiate(
            available.iter().map(String::as_str),
            &self.preferences,
            &self.default_locale,
        )
    }
}

/// The request's `Accept-Language` header, put into the GraphQL request by the HTTP layer.
pub struct AcceptLanguage(pub String);

/// Gives every error of a response an `extensions.code`: errors of the domain carry theirs;
/// the rest come from async-graphql itself: a malformed or invalid document (no path) is
/// `GRAPHQL_VALIDATION_FAILED`, a value that does not fit an argument's type is `BAD_USER_INPUT`.
pub fn ensure_error_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let code = if error.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            extensions.set("code", code);
        }
    }
}

/// The longest `retryAfter` among a response's errors, if any says to retry later.
pub fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response
        .errors
        .iter()
        .filter_map(
            |error| match error.extensions.as_ref()?.get("retryAfter")? {
                async_graphql::Value::Number(seconds) => seconds.as_u64(),
                _ => None,
            },
        )
        .max()
}

/// Whether any error of a response has `code`.
pub fn has_error_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            == Some(&async_graphql::Value::from(code))
    })
}
