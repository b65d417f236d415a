//! The GraphQL schema: a thin skin over the domain modules, one resolver file per domain.

mod apps;
mod me;
mod tenants;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::Limits;

/// Every query of the API.
#[derive(MergedObject, Default)]
pub struct Query(me::MeQuery, tenants::TenantQuery, apps::AppQuery);

/// Every mutation of the API.
#[derive(MergedObject, Default)]
pub struct Mutation(tenants::TenantMutation, apps::AppMutation);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// Builds the schema with the database and the request limits.
pub fn schema(db: DatabaseConnection, limits: &Limits) -> AppSchema {
    builder()
        .data(crate::apps::Apps::new(db.clone(), limits))
        .data(db)
        .limit_depth(limits.query_depth)
        .limit_complexity(limits.query_complexity)
        .finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The database connection from the GraphQL context.
fn db<'a>(ctx: &async_graphql::Context<'a>) -> Result<&'a DatabaseConnection, crate::error::Error> {
    ctx.data::<DatabaseConnection>().map_err(|_| {
        crate::error::Error::internal(anyhow::anyhow!("no database in the GraphQL context"))
    })
}
