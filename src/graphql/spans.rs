//! Spans of GraphQL work: one per operation (opened by the gate) and one per root field (the
//! resolvers that reach the database; nested card reads go through the loaders, which have
//! their own span). Fields that only copy data get none, so a page of cards is not thousands
//! of spans.
//!
//! The root fields are traced by wrapping the root types rather than by a schema extension:
//! with any extension, async-graphql sends every field and list item of every answer through
//! the extension chain, which cost `me` a large share of its time (BENCHMARKS.md).

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult,
    Value,
};
use tracing::{Instrument, Span};

use super::operation_metrics::Operation;

/// The span of one operation.
pub fn operation_span((name, _): &Operation) -> Span {
    let name = name.as_deref().unwrap_or("anonymous");
    tracing::info_span!(
        "graphql.execute",
        otel.name = format!("graphql {name}"),
        graphql.operation.name = name,
    )
}

/// A root operation type whose fields each run in a span of their own.
#[derive(Default)]
pub struct Traced<T>(pub T);

impl<T: ObjectType> OutputType for Traced<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        self.0.resolve(ctx, field).await
    }
}

impl<T: ObjectType> ContainerType for Traced<T> {
    fn is_empty() -> bool {
        T::is_empty()
    }

    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        let name = ctx.item.node.name.node.as_str();
        let span = tracing::info_span!(
            "graphql.resolve",
            otel.name = format!("{}.{name}", T::type_name()),
            graphql.field.name = name,
        );
        self.0.resolve_field(ctx).instrument(span).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        self.0.find_entity(ctx, params).await
    }
}

impl<T: ObjectType> ObjectType for Traced<T> {}
