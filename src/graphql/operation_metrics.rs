//! Counts every GraphQL operation by name and type, with its latency and the codes of its
//! errors (recorded by the gate, around everything a request runs).

use std::time::Duration;

use async_graphql::parser::types::{ExecutableDocument, OperationType as Kind};
use async_graphql::{Response, Value};

use crate::metrics::{Metrics, OperationType};

/// An operation of a document: its name (if any) and type.
pub type Operation = (Option<String>, OperationType);

/// What a request that never reached a document ran.
pub const UNKNOWN: Operation = (None, OperationType::unknown);

/// The operation of `document` that `operation_name` picks (the only one when unnamed).
pub fn picked(document: &ExecutableDocument, operation_name: Option<&str>) -> Operation {
    let mut operations = document
        .operations
        .iter()
        .map(|(name, operation)| (name.map(|n| n.to_string()), kind(operation.node.ty)));
    let picked = match operation_name {
        Some(wanted) => operations.find(|(name, _)| name.as_deref() == Some(wanted)),
        None if document.operations.iter().count() == 1 => operations.next(),
        None => None,
    };
    picked.unwrap_or(UNKNOWN)
}

/// Counts one answered operation.
pub fn record(metrics: &Metrics, (name, r#type): &Operation, took: Duration, response: &Response) {
    let codes: Vec<String> = response.errors.iter().filter_map(code).collect();
    metrics.operation(name.as_deref(), *r#type, took, &codes);
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
