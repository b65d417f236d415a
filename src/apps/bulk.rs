//! Operators' bulk create: any number of (user, app) documents in one request, across users
//! and apps, written in one transaction: all or nothing.
//!
//! The checks run before anything is written, in this order, and the first that fails is the
//! answer: documents (shape, depth, size) and pairs named twice (BAD_USER_INPUT or
//! PAYLOAD_TOO_LARGE, listing every offending item by JSON pointer), unknown apps (NOT_FOUND),
//! schema violations (BAD_USER_INPUT), users outside the active tenant (NOT_FOUND). Then rows are
//! inserted in batches of [`store::BATCH_ROWS`] inside one transaction; with
//! [`OnExisting::Fail`] an existing profile rolls everything back with CONFLICT.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use super::access::TenantProfiles;
use super::document::{Document, DocumentLimits};
use super::problems::{self, Problem};
use super::profiles::require_members;
use super::schema::CompiledSchema;
use super::store::{self, NewRow as Row};
use super::{Apps, registry};
use crate::audit;
use crate::auth::TenantScope;
use crate::error::{Error, Result};

/// How many existing pairs a CONFLICT names.
const NAMED_CONFLICTS: usize = 10;

/// One profile to create.
#[derive(Clone, Debug)]
pub struct BulkItem {
    /// The user, who must be a member of the operator's active tenant.
    pub user_id: Uuid,
    /// The app, which must be registered.
    pub app_id: String,
    /// The document: a JSON object.
    pub data: Value,
}

/// What to do when a (user, app) pair already has a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExisting {
    /// Refuse the whole request with CONFLICT, naming the existing pairs.
    Fail,
    /// Replace the stored document and bump its version.
    Replace,
}

/// What a bulk create did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Profiles created.
    pub created: u64,
    /// Existing profiles replaced (only with [`OnExisting::Replace`]).
    pub replaced: u64,
}

type Schemas = HashMap<String, Option<Arc<CompiledSchema>>>;

impl Apps {
    /// Creates many profiles for members of the operator's active tenant, all or nothing.
    pub async fn create_many(
        &self,
        tenant: &TenantProfiles<'_>,
        items: Vec<BulkItem>,
        on_existing: OnExisting,
    ) -> Result<BulkOutcome> {
        if items.is_empty() {
            return Ok(BulkOutcome::default());
        }
        let started = Instant::now();
        check_pairs(&items)?;
        let schemas = self.schemas_of(&items).await?;
        let limits = self.limits;
        // Checking 100 000 documents is CPU work: keep it off the request threads.
        let rows = tokio::task::spawn_blocking(move || check_documents(items, &schemas, limits))
            .await
            .map_err(Error::internal)??;
        require_members(&self.db, tenant.scope(), &distinct_users(&rows)).await?;
        let checked = started.elapsed();
        let outcome = self.write(tenant.scope(), rows, on_existing).await?;
        tracing::info!(
            tenant = %tenant.scope().tenant.slug,
            created = outcome.created,
            replaced = outcome.replaced,
            checks_ms = checked.as_millis() as u64,
            write_ms = (started.elapsed() - checked).as_millis() as u64,
            "app profiles bulk-created"
        );
        Ok(outcome)
    }

    /// The compiled schema (if any) of every app the items name; NOT_FOUND names unknown apps.
    async fn schemas_of(&self, items: &[BulkItem]) -> Result<Schemas> {
        let wanted: Vec<&str> = items
            .iter()
            .map(|item| item.app_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let found = registry::find_many(&self.db, &wanted).await?;
        let mut schemas = Schemas::with_capacity(found.len());
        for app in &found {
            schemas.insert(app.id.clone(), self.validators.of(app).await?);
        }
        let mut unknown: Vec<&str> = wanted
            .into_iter()
            .filter(|id| !schemas.contains_key(*id))
            .collect();
        unknown.sort_unstable();
        match unknown.first() {
            None => Ok(schemas),
            Some(first) => Err(Error::NotFound(format!(
                "no app {first:?}{}",
                more(unknown.len() - 1, "unknown app ids")
            ))),
        }
    }

    async fn write(
        &self,
        scope: &TenantScope,
        rows: Vec<Row>,
        on_existing: OnExisting,
    ) -> Result<BulkOutcome> {
        let total = rows.len() as u64;
        let per_app = per_app(&rows);
        let txn = self.db.begin().await?;
        let replaced = match on_existing {
            OnExisting::Replace => {
                store::existing_among(&txn, &pairs_of(&rows)).await?.len() as u64
            }
            OnExisting::Fail => 0,
        };
        let now = Utc::now();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<Row> = rows.by_ref().take(store::BATCH_ROWS).collect();
            let keys = (on_existing == OnExisting::Fail).then(|| keys_of(&batch));
            let size = batch.len() as u64;
            let written = store::insert(&txn, batch, on_existing, now).await?;
            if let Some(keys) = keys
                && written < size
            {
                txn.rollback().await?;
                return Err(self.conflict(&keys).await?);
            }
        }
        let outcome = BulkOutcome {
            created: total - replaced,
            replaced,
        };
        let change = json!({
            "profiles": total, "created": outcome.created, "replaced": outcome.replaced,
            "onExisting": format!("{on_existing:?}").to_lowercase(), "apps": per_app,
        });
        let action = "app_profiles.bulk_create";
        audit::record(&txn, scope.tenant.id, &scope.actor, None, action, change).await?;
        txn.commit().await?;
        Ok(outcome)
    }

    /// CONFLICT naming the pairs of `keys` that have a profile (read after the rollback).
    async fn conflict(&self, keys: &[(Uuid, String)]) -> Result<Error> {
        let pairs: Vec<(Uuid, &str)> = keys.iter().map(|(u, a)| (*u, a.as_str())).collect();
        let existing = store::existing_among(&self.db, &pairs).await?;
        let named: Vec<String> = existing
            .iter()
            .take(NAMED_CONFLICTS)
            .map(|(user, app)| format!("user {user} in app {app:?}"))
            .collect();
        Ok(Error::Conflict(format!(
            "profiles exist already for {}{}; nothing was written: send onExisting: REPLACE to replace them",
            named.join(", "),
            more(existing.len().saturating_sub(NAMED_CONFLICTS), "pairs")
        )))
    }
}

/// Refuses pairs named more than once: which of two documents should win is the caller's call.
fn check_pairs(items: &[BulkItem]) -> Result<()> {
    let mut first_at: HashMap<(Uuid, &str), usize> = HashMap::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(first) = first_at.insert((item.user_id, &item.app_id), index) {
            first_at.insert((item.user_id, &item.app_id), first);
            problems.push(Problem::invalid(
                format!("/profiles/{index}"),
                format!(
                    "names the same userId and appId as /profiles/{first}: name each pair once"
                ),
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems::into_error(problems)),
    }
}

/// Checks every document (shape, depth, size, then the app's schema), reporting every problem.
fn check_documents(
    items: Vec<BulkItem>,
    schemas: &Schemas,
    limits: DocumentLimits,
) -> Result<Vec<Row>> {
    let mut rows = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let prefix = || format!("/profiles/{index}/data");
        let document = match Document::parse(item.data, limits, "") {
            Ok(document) => document,
            Err(problem) => {
                problems.push(problem.under(&prefix()));
                continue;
            }
        };
        if let Some(Some(schema)) = schemas.get(&item.app_id) {
            let violations = schema.violations(&document, "");
            problems.extend(violations.into_iter().map(|p| p.under(&prefix())));
        }
        rows.push(Row {
            user_id: item.user_id,
            app_id: item.app_id,
            data: document.into_value(),
        });
    }
    match problems.is_empty() {
        true => Ok(rows),
        false => Err(problems::into_error(problems)),
    }
}

fn distinct_users(rows: &[Row]) -> Vec<Uuid> {
    let users: HashSet<Uuid> = rows.iter().map(|row| row.user_id).collect();
    users.into_iter().collect()
}

/// How many profiles each app gets (for the audit event; at most 100 apps are named).
fn per_app(rows: &[Row]) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for row in rows {
        *counts.entry(&row.app_id).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .take(100)
        .map(|(app, count)| (app.to_owned(), count))
        .collect()
}

fn pairs_of(rows: &[Row]) -> Vec<(Uuid, &str)> {
    rows.iter()
        .map(|row| (row.user_id, row.app_id.as_str()))
        .collect()
}

fn keys_of(rows: &[Row]) -> Vec<(Uuid, String)> {
    rows.iter()
        .map(|row| (row.user_id, row.app_id.clone()))
        .collect()
}

fn more(count: usize, what: &str) -> String {
    match count {
        0 => String::new(),
        n => format!(" and {n} more {what}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn item(user: u128, app: &str, data: Value) -> BulkItem {
        BulkItem {
            user_id: Uuid::from_u128(user),
            app_id: app.to_owned(),
            data,
        }
    }

    #[test]
    fn pairs_named_twice_are_refused_with_both_pointers() {
        let items = vec![
            item(1, "crm", json!({})),
            item(2, "crm", json!({})),
            item(1, "crm", json!({})),
            item(1, "crm", json!({})),
        ];
        let Err(Error::BadUserInput { problems, .. }) = check_pairs(&items) else {
            panic!("expected BAD_USER_INPUT");
        };
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].field, "/profiles/2");
        assert!(problems[0].message.contains("/profiles/0"));
        assert!(problems[1].message.contains("/profiles/0"));
    }

    #[test]
    fn every_bad_document_is_reported() {
        let limits = DocumentLimits {
            max_bytes: 100,
            max_depth: 2,
        };
        let schema =
            CompiledSchema::compile(&json!({"properties": {"n": {"type": "integer"}}}), "");
        let mut schemas = Schemas::new();
        schemas.insert("crm".into(), Some(Arc::new(schema.unwrap())));
        schemas.insert("web".into(), None);
        let items = vec![
            item(1, "crm", json!([1])),
            item(2, "crm", json!({"n": "x"})),
            item(3, "web", json!({"n": "x"})),
            item(4, "web", json!({"a": {"b": {}}})),
        ];
        let Err(Error::BadUserInput { problems, .. }) = check_documents(items, &schemas, limits)
        else {
            panic!("expected BAD_USER_INPUT");
        };
        let pointers: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            pointers,
            ["/profiles/0/data", "/profiles/1/data/n", "/profiles/3/data"]
        );
    }
}
