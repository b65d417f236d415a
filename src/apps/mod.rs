//! App-scoped JSON profiles: a registry of apps, and for each (user, app) one JSON object
//! document (`jsonb` on PostgreSQL, JSON text on SQLite).
//!
//! - Documents are JSON objects within a size and a depth limit ([`document`]), checked against
//!   the app's optional JSON Schema ([`schema`]); every refusal names the JSON pointer of the
//!   offending value in the request's arguments ([`problems`]).
//! - Access is a capability ([`access`]): a user reaches only their own profiles; an operator
//!   reaches those of the members of its active tenant; only operators granted every tenant
//!   manage the registry.
//! - Operators bulk-create profiles in one transaction, all or nothing ([`bulk`]).

pub mod access;
pub mod bulk;
pub mod document;
pub mod problems;
pub mod profiles;
pub mod registry;
pub mod schema;
pub mod store;

use sea_orm::DatabaseConnection;

pub use access::{GlobalOperator, Operator, OwnProfiles};
pub use bulk::{BulkItem, BulkOutcome, IntoDocument, OnExisting};
pub use document::{Document, DocumentLimits};
pub use registry::{AppChange, DeletedApp, NewApp};

use crate::config::Limits;

/// Most values in one `IN (…)` list: with two values per (user, app) pair that stays far under
/// SQLite's 32766 and PostgreSQL's 65535 bind parameters.
const IN_LIST_CHUNK: usize = 5_000;

/// The app profile domain: the database, the document limits and the compiled schemas.
/// Cheap to clone; one lives in the GraphQL context.
#[derive(Clone)]
pub struct Apps {
    db: DatabaseConnection,
    limits: DocumentLimits,
    validators: schema::Validators,
}

impl Apps {
    /// The domain over `db`, with the document limits of `limits`.
    pub fn new(db: DatabaseConnection, limits: &Limits) -> Apps {
        Apps {
            db,
            limits: DocumentLimits::from(limits),
            validators: schema::Validators::default(),
        }
    }
}
