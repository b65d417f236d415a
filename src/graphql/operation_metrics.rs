//! Counts every GraphQL operation by name and type, with its latency and the codes of its
//! errors, on every path into the schema (the outermost extension, so it times all the rest).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType as Kind};
use async_graphql::{Response, ServerResult, Value, Variables};

use crate::metrics::{Metrics, OperationType};

/// An operation of a document: its name (if any) and type.
type Operation = (Option<String>, OperationType);

/// The schema extension; one instance per request holds what the request ran.
pub struct OperationMetrics {
    metrics: Arc<Metrics>,
    document: Mutex<Option<Vec<Operation>>>,
    ran: Mutex<Option<Operation>>,
}

impl OperationMetrics {
    /// Counts into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        OperationMetrics {
            metrics,
            document: Mutex::new(None),
            ran: Mutex::new(None),
        }
    }
}

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationMetrics::new(self.metrics.clone()))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OperationMetrics {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut response = next.run(ctx).await;
        super::ensure_error_codes(&mut response);
        let (name, r#type) = take(&self.ran).unwrap_or((None, OperationType::unknown));
        let codes: Vec<String> = response.errors.iter().filter_map(code).collect();
        self.metrics
            .operation(name.as_deref(), r#type, started.elapsed(), &codes);
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations = document
            .operations
            .iter()
            .map(|(name, operation)| (name.map(|n| n.to_string()), kind(operation.node.ty)))
            .collect();
        put(&self.document, operations);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let operations = take(&self.document).unwrap_or_default();
        let ran = match operation_name {
            Some(wanted) => operations
                .into_iter()
                .find(|(name, _)| name.as_deref() == Some(wanted)),
            None if operations.len() == 1 => operations.into_iter().next(),
            None => None,
        };
        put(&self.ran, ran.unwrap_or((None, OperationType::unknown)));
        next.run(ctx, operation_name).await
    }
}

fn kind(ty: Kind) -> OperationType {
    match ty {
        Kind::Query => OperationType::query,
        Kind::Mutation => OperationType::mutation,
        Kind::Subscription => OperationType::subscription,
    }
}

fn code(error: &async_graphql::ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(value);
}
