//! Operators' bulk create: any number of (user, app) documents in one request, across users
//! and apps, written in one transaction: all or nothing.
//!
//! The request-wide checks run first, and the first that fails is the answer: pairs named twice
//! (BAD_USER_INPUT, naming every repeat by JSON pointer), unknown apps (NOT_FOUND), users
//! outside the active tenant (NOT_FOUND). Then the documents are checked (shape, depth, size,
//! the app's schema) on a blocking thread while the rows that passed are inserted in batches of
//! [`store::BATCH_ROWS`] inside one transaction, so that checking and writing overlap. Any bad
//! document rolls everything back with BAD_USER_INPUT listing every bad document; else, with
//! [`OnExisting::Fail`], an existing profile rolls everything back with CONFLICT.

use entity::audit_event::Action;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::access::Operator;
use super::document::{Document, DocumentLimits};
use super::problems::{self, Problem};
use super::profiles::require_members;
use super::schema::CompiledSchema;
use super::store::{self, Inserted, NewRow as Row};
use super::{Apps, registry};
use crate::audit;
use crate::auth::TenantScope;
use crate::error::{Error, Result};

/// How many existing pairs a CONFLICT names.
const NAMED_CONFLICTS: usize = 10;

/// Checked batches waiting for the writer: enough to keep it busy, few enough to bound memory.
const QUEUED_BATCHES: usize = 2;

/// One profile to create; its document `D` is turned into JSON on the bulk's worker thread.
#[derive(Clone, Debug)]
pub struct BulkItem<D = Value> {
    /// The user, who must be a member of the operator's active tenant.
    pub user_id: Uuid,
    /// The app, which must be registered.
    pub app_id: String,
    /// The document, to be a JSON object.
    pub data: D,
}

/// A document as a request carried it. Converting 100 000 of them is CPU work, done by the
/// bulk's worker thread while earlier batches are written rather than before the bulk starts.
pub trait IntoDocument: Send + 'static {
    /// The document as JSON, or why it is not JSON.
    fn into_json(self) -> std::result::Result<Value, String>;
}

impl IntoDocument for Value {
    fn into_json(self) -> std::result::Result<Value, String> {
        Ok(self)
    }
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

/// The documents' checker: batches of rows that passed, and its verdict once all are checked.
struct Checker {
    batches: mpsc::Receiver<Vec<Row>>,
    verdict: JoinHandle<Result<()>>,
}

impl Apps {
    /// Creates many profiles for members of the operator's active tenant, all or nothing.
    pub async fn create_many<D: IntoDocument>(
        &self,
        tenant: &Operator<'_>,
        items: Vec<BulkItem<D>>,
        on_existing: OnExisting,
    ) -> Result<BulkOutcome> {
        if items.is_empty() {
            return Ok(BulkOutcome::default());
        }
        let started = Instant::now();
        let scope = tenant.scope();
        check_pairs(&items)?;
        let schemas = self.schemas_of(&items).await?;
        require_members(&self.db, scope, &distinct_users(&items)).await?;
        let pairs = keys_of(&items);
        let change = json!({
            "profiles": items.len(), "apps": per_app(&items),
            "onExisting": format!("{on_existing:?}").to_lowercase(),
        });
        let txn = self.db.begin().await?;
        let replaced = match on_existing {
            OnExisting::Replace => store::existing_among(&txn, &borrowed(&pairs)).await?.len(),
            OnExisting::Fail => 0,
        } as u64;
        let checker = check_in_batches(items, schemas, self.limits);
        if !write(&txn, checker, on_existing).await? {
            txn.rollback().await?;
            return Err(self.conflict(&pairs).await?);
        }
        let outcome = BulkOutcome {
            created: pairs.len() as u64 - replaced,
            replaced,
        };
        record(&txn, scope, change, outcome).await?;
        txn.commit().await?;
        tracing::info!(
            tenant = %scope.tenant().slug,
            created = outcome.created,
            replaced = outcome.replaced,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "app profiles bulk-created"
        );
        Ok(outcome)
    }

    /// The compiled schema (if any) of every app the items name; NOT_FOUND names unknown apps.
    async fn schemas_of<D>(&self, items: &[BulkItem<D>]) -> Result<Schemas> {
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

    /// CONFLICT naming the pairs among `pairs` that have a profile (read after the rollback).
    async fn conflict(&self, pairs: &[(Uuid, String)]) -> Result<Error> {
        let existing = store::existing_among(&self.db, &borrowed(pairs)).await?;
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
fn check_pairs<D>(items: &[BulkItem<D>]) -> Result<()> {
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

/// Inserts the checker's batches as they come; then waits for its verdict, so that a bad
/// document anywhere refuses the whole request. `false` when, with [`OnExisting::Fail`], a pair
/// has a profile already (the caller rolls back).
async fn write(
    txn: &DatabaseTransaction,
    mut checker: Checker,
    on_existing: OnExisting,
) -> Result<bool> {
    let now = crate::db::now();
    let mut written = true;
    while let Some(batch) = checker.batches.recv().await {
        if store::insert(txn, batch, on_existing, now).await? == Inserted::ExistingPair {
            written = false;
            break;
        }
    }
    // Bad documents come before existing pairs: the checker goes on without the writer.
    drop(checker.batches);
    checker.verdict.await.map_err(Error::internal)??;
    Ok(written)
}

/// Starts checking the documents on a blocking thread (checking 100 000 documents is CPU work),
/// handing over batches of rows that passed. After the first problem no batch is sent, but
/// every document is still checked, so that every problem is reported.
fn check_in_batches<D: IntoDocument>(
    items: Vec<BulkItem<D>>,
    schemas: Schemas,
    limits: DocumentLimits,
) -> Checker {
    let (sender, batches) = mpsc::channel(QUEUED_BATCHES);
    let verdict = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        let mut batch = Vec::with_capacity(store::BATCH_ROWS);
        let mut sending = true;
        for (index, item) in items.into_iter().enumerate() {
            match check_document(index, item, &schemas, limits) {
                Ok(row) if sending && problems.is_empty() => {
                    batch.push(row());
                    if batch.len() == store::BATCH_ROWS {
                        sending = sender.blocking_send(std::mem::take(&mut batch)).is_ok();
                    }
                }
                Ok(_) => {}
                Err(found) => problems.extend(found),
            }
        }
        if !problems.is_empty() {
            return Err(problems::into_error(problems));
        }
        if sending && !batch.is_empty() {
            // The writer may have stopped at an existing pair: nothing is lost then.
            let _ = sender.blocking_send(batch);
        }
        Ok(())
    });
    Checker { batches, verdict }
}

/// Checks one document (shape, depth, size, then the app's schema); on success, returns how to
/// make its row (serialising only documents that will be written).
fn check_document<D: IntoDocument>(
    index: usize,
    item: BulkItem<D>,
    schemas: &Schemas,
    limits: DocumentLimits,
) -> std::result::Result<impl FnOnce() -> Row, Vec<Problem>> {
    let prefix = || format!("/profiles/{index}/data");
    let data = item
        .data
        .into_json()
        .map_err(|why| vec![Problem::invalid(prefix(), format!("is not JSON: {why}"))])?;
    let document = Document::parse(data, limits, "").map_err(|p| vec![p.under(&prefix())])?;
    if let Some(Some(schema)) = schemas.get(&item.app_id) {
        let violations = schema.violations(&document, "");
        if !violations.is_empty() {
            return Err(violations.into_iter().map(|p| p.under(&prefix())).collect());
        }
    }
    Ok(move || Row {
        user_id: item.user_id,
        app_id: item.app_id,
        data: document.to_json_text(),
    })
}

/// Records the bulk in the tenant's audit trail.
async fn record(
    txn: &DatabaseTransaction,
    scope: &TenantScope,
    mut change: Value,
    outcome: BulkOutcome,
) -> Result<()> {
    change["created"] = outcome.created.into();
    change["replaced"] = outcome.replaced.into();
    let action = Action::AppProfilesBulkCreate;
    audit::record(txn, scope.tenant().id, scope.actor(), None, action, change).await
}

fn distinct_users<D>(items: &[BulkItem<D>]) -> Vec<Uuid> {
    let users: HashSet<Uuid> = items.iter().map(|item| item.user_id).collect();
    users.into_iter().collect()
}

/// How many profiles each app gets (for the audit event; at most 100 apps are named).
fn per_app<D>(items: &[BulkItem<D>]) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for item in items {
        *counts.entry(&item.app_id).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .take(100)
        .map(|(app, count)| (app.to_owned(), count))
        .collect()
}

fn keys_of<D>(items: &[BulkItem<D>]) -> Vec<(Uuid, String)> {
    items
        .iter()
        .map(|item| (item.user_id, item.app_id.clone()))
        .collect()
}

fn borrowed(pairs: &[(Uuid, String)]) -> Vec<(Uuid, &str)> {
    pairs
        .iter()
        .map(|(user, app)| (*user, app.as_str()))
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
        let problems: Vec<Problem> = items
            .into_iter()
            .enumerate()
            .filter_map(|(index, item)| check_document(index, item, &schemas, limits).err())
            .flatten()
            .collect();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/profiles/0/data", "/profiles/1/data/n", "/profiles/3/data"]
        );
    }
}
