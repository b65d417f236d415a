//! Spans of GraphQL work: one per operation and one per root field (the resolvers that reach
//! the database; nested card reads go through the loaders, which have their own span). Fields
//! that only copy data get none, so a page of cards is not thousands of spans.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerResult, Value};
use tracing::Instrument;

/// The schema extension.
pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Spans)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Spans {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let name = operation_name.unwrap_or("anonymous");
        let span = tracing::info_span!(
            "graphql.execute",
            otel.name = format!("graphql {name}"),
            graphql.operation.name = name,
        );
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            "graphql.resolve",
            otel.name = format!("{}.{}", info.parent_type, info.name),
            graphql.field.name = info.name,
        );
        next.run(ctx, info).instrument(span).await
    }
}
