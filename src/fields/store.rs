//! Field definitions of a tenant: the cached read side and the admin write side (create,
//! update, reorder, archive, restore, purge, add from templates). Every write runs in one
//! transaction, is audited and invalidates the tenant's cached definitions.

use entity::audit_event::Action;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{field_definition, field_value, tenant};
use moka::future::Cache;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::labels::is_locale;
use super::validation::check_definition;
use super::{Access, ChoiceOption, FieldDefinition, FieldSpec, Rules, is_listed};
use crate::audit;
use crate::core::{Admin, Member, Operator, TenantScope};
use crate::error::{Error, InputProblem, Result};
use crate::events::{Change, Events, FieldsChange};
use crate::integrity::nul;
use crate::integrity::version::{stale, versioned_update};
use crate::metrics::CacheCounters;

/// The definitions of one tenant in display order, archived ones included.
#[derive(Debug, Default)]
pub struct TenantFields {
    /// Every definition, by position.
    pub all: Vec<Arc<FieldDefinition>>,
    /// Every locale any label is given in, sorted, once per set rather than per card.
    locales: Arc<[String]>,
}

impl TenantFields {
    /// The set of `all` definitions.
    pub fn new(all: Vec<Arc<FieldDefinition>>) -> TenantFields {
        let mut locales: Vec<String> = all.iter().flat_map(|f| f.labels.keys().cloned()).collect();
        locales.sort();
        locales.dedup();
        TenantFields {
            all,
            locales: locales.into(),
        }
    }

    /// The definition with `key`.
    pub fn by_key(&self, key: &str) -> Option<&Arc<FieldDefinition>> {
        self.all.iter().find(|f| f.key.as_str() == key)
    }

    /// The definition with `id`.
    pub fn by_id(&self, id: Uuid) -> Option<&Arc<FieldDefinition>> {
        self.all.iter().find(|f| f.id == id)
    }

    /// The definitions the field list shows `member`, in order (see [`is_listed`]).
    pub fn listed(&self, member: &Member<'_>, include_archived: bool) -> Vec<Arc<FieldDefinition>> {
        self.all
            .iter()
            .filter(|f| is_listed(f, member.standing(), include_archived))
            .cloned()
            .collect()
    }

    /// Every locale any label is given in, sorted.
    pub fn locales(&self) -> &Arc<[String]> {
        &self.locales
    }
}

/// Caches each tenant's definitions, so card reads cost no definition query.
pub struct FieldRegistry {
    cache: Cache<Uuid, Arc<TenantFields>>,
    counters: CacheCounters,
    events: Option<Arc<Events>>,
}

impl Default for FieldRegistry {
    /// A registry alone, for tests of one process: changes are not announced.
    fn default() -> Self {
        FieldRegistry::new(CacheCounters::default(), None)
    }
}

impl FieldRegistry {
    /// A registry counting its lookups into `counters` and announcing changes on `events`.
    pub fn new(counters: CacheCounters, events: Option<Arc<Events>>) -> FieldRegistry {
        // Other instances' changes arrive through the feed; the lifetime bounds what a lost
        // notice could leave stale.
        FieldRegistry {
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            counters,
            events,
        }
    }

    /// The definitions of `tenant_id`, from the cache or the database.
    pub async fn of_tenant(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
    ) -> Result<Arc<TenantFields>> {
        let cached = self.cache.get(&tenant_id).await;
        self.counters.record(cached.is_some());
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let fields = Arc::new(fresh(db, tenant_id).await?);
        self.cache.insert(tenant_id, fields.clone()).await;
        Ok(fields)
    }

    /// After a committed change of `tenant_id`'s definitions: forgets them here and tells
    /// every instance (and subscribed editors).
    pub async fn changed(&self, tenant_id: Uuid, change: FieldsChange) {
        self.forget(tenant_id).await;
        if let Some(events) = &self.events {
            events
                .publish(Change::Fields {
                    tenant: tenant_id,
                    change,
                })
                .await;
        }
    }

    /// Forgets the cached definitions of `tenant_id` (another instance changed them).
    pub async fn forget(&self, tenant_id: Uuid) {
        self.cache.invalidate(&tenant_id).await;
    }

    /// Forgets every tenant's definitions (changes may have been missed).
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }
}

/// Bumps the tenant's search version, in the transaction of a change of its field rules: the
/// directory stops trusting every search document built under the old rules at once, and
/// matches those cards by their stored values until the documents are rebuilt (see
/// `crate::users::search_documents`).
async fn stale_search_documents(txn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<()> {
    let update = Query::update()
        .table(tenant::Entity)
        .value("search_version", Expr::col("search_version").add(1))
        .and_where(tenant::Column::Id.eq(tenant_id))
        .to_owned();
    txn.execute_raw(txn.get_database_backend().build(&update))
        .await?;
    Ok(())
}

/// The definitions of `tenant_id` as stored now, past the cache: for what must match the
/// rules of its own transaction.
pub async fn fresh(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<TenantFields> {
    let rows = field_definition::Entity::find()
        .filter(field_definition::Column::TenantId.eq(tenant_id))
        .order_by_asc(field_definition::Column::Position)
        .order_by_asc(field_definition::Column::CreatedAt)
        .all(db)
        .await?;
    let all = rows
        .into_iter()
        .map(|row| FieldDefinition::from_row(row).map(Arc::new))
        .collect::<Result<_>>()?;
    Ok(TenantFields::new(all))
}

/// Changes to a definition; `None` leaves a part as it is. Key and kind never change.
#[derive(Clone, Debug, Default)]
pub struct FieldChanges {
    /// New labels (replacing all).
    pub labels: Option<BTreeMap<String, String>>,
    /// New help texts (replacing all).
    pub help: Option<BTreeMap<String, String>>,
    /// New options.
    pub options: Option<Vec<ChoiceOption>>,
    /// New rules.
    pub rules: Option<Rules>,
    /// New required flag.
    pub required: Option<bool>,
    /// New owner access.
    pub owner_access: Option<Access>,
    /// New member access.
    pub member_access: Option<Access>,
    /// New admin access.
    pub admin_access: Option<Access>,
    /// The version the change was made against; CONFLICT when stale.
    pub expected_version: Option<i32>,
}

/// Outcome of adding templates.
#[derive(Debug, Default)]
pub struct TemplateReport {
    /// Fields created.
    pub added: Vec<FieldDefinition>,
    /// Template keys not added, with why.
    pub skipped: Vec<(String, String)>,
}

/// Creates a field at the end of the tenant's order.
pub async fn create(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    admin: &Admin<'_>,
    new: FieldSpec,
) -> Result<FieldDefinition> {
    let scope = admin.scope();
    check_new(&new)?;
    let txn = db.begin().await?;
    let fields = fresh(&txn, scope.tenant().id).await?;
    if fields.by_key(new.key.as_str()).is_some() {
        return Err(Error::Conflict(format!(
            "a field with key {} exists in this tenant",
            new.key.as_str()
        )));
    }
    let position = next_position(&fields);
    let created = insert(&txn, scope, &new, position).await?;
    txn.commit().await?;
    registry
        .changed(scope.tenant().id, FieldsChange::Created)
        .await;
    Ok(created)
}

/// Adds fields from the catalogue; keys that exist (or are unknown) are skipped and reported.
pub async fn add_templates(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    admin: &Admin<'_>,
    keys: &[String],
) -> Result<TemplateReport> {
    let scope = admin.scope();
    let txn = db.begin().await?;
    let fields = fresh(&txn, scope.tenant().id).await?;
    let mut position = next_position(&fields);
    let mut report = TemplateReport::default();
    for key in keys {
        let Some(template) = super::templates::find(key) else {
            report
                .skipped
                .push((key.clone(), "no template has this key".into()));
            continue;
        };
        let taken =
            fields.by_key(key).is_some() || report.added.iter().any(|f| f.key.as_str() == key);
        if taken {
            report
                .skipped
                .push((key.clone(), "a field with this key exists".into()));
            continue;
        }
        report
            .added
            .push(insert(&txn, scope, &template.spec, position).await?);
        position += 1;
    }
    txn.commit().await?;
    registry
        .changed(scope.tenant().id, FieldsChange::Created)
        .await;
    Ok(report)
}

fn next_position(fields: &TenantFields) -> i32 {
    fields.all.iter().map(|f| f.position + 1).max().unwrap_or(0)
}

fn check_new(new: &FieldSpec) -> Result<()> {
    let mut problems = check_texts(&new.labels, &new.help);
    problems.extend(check_nul(&new.labels, &new.help, &new.options, &new.rules));
    problems.extend(check_definition(new.kind, &new.options, &new.rules));
    problems.extend(check_access(new.access.member, new.access.admin));
    fail_on(new.key.as_str(), problems)
}

fn check_texts(labels: &BTreeMap<String, String>, help: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (kind, texts, max) in [("label", labels, 200), ("help text", help, 1000)] {
        for (locale, text) in texts {
            if !is_locale(locale) {
                problems.push(format!(
                    "{locale:?} is not a locale (BCP 47, like en or pt-BR)"
                ));
            }
            let length = text.trim().chars().count();
            if length == 0 || length > max {
                problems.push(format!(
                    "the {kind} in {locale} needs 1 to {max} characters"
                ));
            }
        }
    }
    problems
}

/// Every text of a definition is stored, so none may hold NUL; each is named by its JSON pointer
/// in the stored definition (`/labels/en`, `/options/0/labels/fr`).
fn check_nul(
    labels: &BTreeMap<String, String>,
    help: &BTreeMap<String, String>,
    options: &[ChoiceOption],
    rules: &Rules,
) -> Vec<String> {
    let stored = json!({"labels": labels, "help": help, "options": options, "validation": rules});
    nul::nul_pointers(&stored, "")
        .into_iter()
        .map(|pointer| format!("{pointer} {}", nul::REFUSAL))
        .collect()
}

fn check_access(member: Access, admin: Access) -> Vec<String> {
    let mut problems = Vec::new();
    if member == Access::Edit {
        problems.push("other members can at most READ a field".to_owned());
    }
    if admin == Access::Hidden {
        problems.push("admins can at least READ a field".to_owned());
    }
    problems
}

fn fail_on(key: &str, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::BadUserInput {
        message: format!(
            "the definition of field {key} is invalid: {}",
            problems.join("; ")
        ),
        problems: problems
            .into_iter()
            .map(|message| InputProblem {
                field: key.to_owned(),
                message,
            })
            .collect(),
    })
}

async fn insert(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    new: &FieldSpec,
    position: i32,
) -> Result<FieldDefinition> {
    let now = Utc::now();
    let row = field_definition::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(scope.tenant().id),
        key: Set(new.key.as_str().to_owned()),
        kind: Set(new.kind),
        labels: Set(json!(new.labels)),
        help: Set(json!(new.help)),
        options: Set(json!(new.options)),
        validation: Set(json!(new.rules)),
        required: Set(new.required),
        position: Set(position),
        owner_access: Set(new.access.owner),
        member_access: Set(new.access.member),
        admin_access: Set(new.access.admin),
        builtin: Set(false),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = row.insert(db).await?;
    let change = json!({"after": definition_json(&inserted)});
    audit::record(
        db,
        scope.tenant().id,
        scope.actor(),
        None,
        Action::FieldCreate,
        change,
    )
    .await?;
    FieldDefinition::from_row(inserted)
}

fn definition_json(row: &field_definition::Model) -> Value {
    json!({
        "key": row.key, "kind": row.kind, "labels": row.labels, "help": row.help,
        "options": row.options, "validation": row.validation, "required": row.required,
        "position": row.position, "ownerAccess": row.owner_access,
        "memberAccess": row.member_access, "adminAccess": row.admin_access,
        "archived": row.archived_at.is_some(),
    })
}

async fn find_row(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<field_definition::Model> {
    field_definition::Entity::find_by_id(id)
        .filter(field_definition::Column::TenantId.eq(scope.tenant().id))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no field {id} in tenant {}", scope.tenant().slug)))
}

/// Bumps the version of definition `id` (checking `expected` in the same statement) and returns
/// the row as bumped. Run first in a write transaction: the bump holds the row's write lock
/// until the commit, so concurrent changes queue, and of several based on one version only the
/// first succeeds.
async fn claim(
    txn: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
    expected: Option<i32>,
) -> Result<field_definition::Model> {
    let update = field_definition::Entity::update_many()
        .col_expr(field_definition::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(field_definition::Column::Id.eq(id))
        .filter(field_definition::Column::TenantId.eq(scope.tenant().id));
    let bumped = versioned_update(txn, update, field_definition::Column::Version, expected).await?;
    let row = find_row(txn, scope, id).await?;
    if !bumped {
        let field = format!("field {}", row.key);
        return Err(stale(&field, row.version, expected.unwrap_or(row.version)));
    }
    Ok(row)
}

/// Applies changes to a definition.
pub async fn update(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    admin: &Admin<'_>,
    id: Uuid,
    changes: FieldChanges,
) -> Result<FieldDefinition> {
    let scope = admin.scope();
    let txn = db.begin().await?;
    let before = claim(&txn, scope, id, changes.expected_version).await?;
    let current = FieldDefinition::from_row(before.clone())?;
    if current.builtin && (changes.options.is_some() || changes.rules.is_some()) {
        return Err(Error::bad_input(format!(
            "{} is a built-in field: relabel, reorder, hide or lock it, but its options and rules are fixed",
            current.key.as_str()
        )));
    }
    let current = current.spec;
    let labels = changes.labels.unwrap_or(current.labels);
    let help = changes.help.unwrap_or(current.help);
    let options = changes.options.unwrap_or(current.options);
    let rules = changes.rules.unwrap_or(current.rules);
    let member = changes.member_access.unwrap_or(current.access.member);
    let admin = changes.admin_access.unwrap_or(current.access.admin);
    let mut problems = check_texts(&labels, &help);
    problems.extend(check_nul(&labels, &help, &options, &rules));
    problems.extend(check_definition(current.kind, &options, &rules));
    problems.extend(check_access(member, admin));
    fail_on(current.key.as_str(), problems)?;

    let mut row: field_definition::ActiveModel = before.clone().into();
    row.labels = Set(json!(labels));
    row.help = Set(json!(help));
    row.options = Set(json!(options));
    row.validation = Set(json!(rules));
    row.required = Set(changes.required.unwrap_or(current.required));
    row.owner_access = Set(changes.owner_access.unwrap_or(current.access.owner));
    row.member_access = Set(member);
    row.admin_access = Set(admin);
    let after = row.update(&txn).await?;
    stale_search_documents(&txn, scope.tenant().id).await?;
    let change = json!({"key": after.key, "before": definition_json(&before), "after": definition_json(&after)});
    audit::record(
        &txn,
        scope.tenant().id,
        scope.actor(),
        None,
        Action::FieldUpdate,
        change,
    )
    .await?;
    txn.commit().await?;
    registry
        .changed(scope.tenant().id, FieldsChange::Updated)
        .await;
    FieldDefinition::from_row(after)
}

/// Sets the order of the tenant's fields; `ids` must list every unarchived field once.
pub async fn reorder(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    admin: &Admin<'_>,
    ids: &[Uuid],
) -> Result<()> {
    let scope = admin.scope();
    let txn = db.begin().await?;
    let fields = fresh(&txn, scope.tenant().id).await?;
    let active: Vec<Uuid> = fields
        .all
        .iter()
        .filter(|f| !f.is_archived())
        .map(|f| f.id)
        .collect();
    let mut sorted_given = ids.to_vec();
    sorted_given.sort();
    sorted_given.dedup();
    let mut sorted_active = active.clone();
    sorted_active.sort();
    if sorted_given.len() != ids.len() || sorted_given != sorted_active {
        return Err(Error::bad_input(format!(
            "list every unarchived field of the tenant exactly once ({} fields, got {} ids)",
            active.len(),
            ids.len()
        )));
    }
    for (position, id) in ids.iter().enumerate() {
        field_definition::Entity::update_many()
            .col_expr(
                field_definition::Column::Position,
                Expr::value(position as i32),
            )
            .filter(field_definition::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
    }
    let change = json!({"order": ids});
    audit::record(
        &txn,
        scope.tenant().id,
        scope.actor(),
        None,
        Action::FieldReorder,
        change,
    )
    .await?;
    txn.commit().await?;
    registry
        .changed(scope.tenant().id, FieldsChange::Reordered)
        .await;
    Ok(())
}

/// Archives (hides, keeping values) or restores a field; built-in fields are never archived.
pub async fn set_archived(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    admin: &Admin<'_>,
    id: Uuid,
    archived: bool,
    expected_version: Option<i32>,
) -> Result<FieldDefinition> {
    let scope = admin.scope();
    let txn = db.begin().await?;
    let before = claim(&txn, scope, id, expected_version).await?;
    if before.builtin {
        return Err(Error::bad_input(format!(
            "{} is a built-in field and cannot be archived; hide it with its access settings",
            before.key
        )));
    }
    let mut row: field_definition::ActiveModel = before.clone().into();
    row.archived_at = Set(archived.then(Utc::now));
    let after = row.update(&txn).await?;
    stale_search_documents(&txn, scope.tenant().id).await?;
    let action = if archived {
        Action::FieldArchive
    } else {
        Action::FieldRestore
    };
    audit::record(
        &txn,
        scope.tenant().id,
        scope.actor(),
        None,
        action,
        json!({"key": after.key}),
    )
    .await?;
    txn.commit().await?;
    let change = match archived {
        true => FieldsChange::Archived,
        false => FieldsChange::Restored,
    };
    registry.changed(scope.tenant().id, change).await;
    FieldDefinition::from_row(after)
}

/// Deletes a field and every value of it, for good (operators, with the key as confirmation),
/// inside `txn`; returns the values of an IMAGE or FILE field (none of other kinds), for the
/// caller to release their files in the same transaction (`crate::profiles::purge_field`).
/// Invalidate the registry after the commit.
pub async fn purge(
    txn: &DatabaseTransaction,
    operator: &Operator<'_>,
    id: Uuid,
    confirm_key: &str,
) -> Result<Vec<Value>> {
    let scope = operator.scope();
    let row = find_row(txn, scope, id).await?;
    if row.builtin {
        return Err(Error::bad_input(format!(
            "{} is a built-in field and cannot be purged",
            row.key
        )));
    }
    if row.key != confirm_key {
        return Err(Error::bad_input(
            "confirmKey must repeat the key of the field being purged",
        ));
    }
    let held_files = held_files(txn, &row).await?;
    let values = field_value::Entity::delete_many()
        .filter(field_value::Column::FieldId.eq(id))
        .exec(txn)
        .await?
        .rows_affected;
    field_definition::Entity::delete_by_id(id).exec(txn).await?;
    stale_search_documents(txn, scope.tenant().id).await?;
    let change = json!({"before": definition_json(&row), "valuesDeleted": values});
    audit::record(
        txn,
        scope.tenant().id,
        scope.actor(),
        None,
        Action::FieldPurge,
        change,
    )
    .await?;
    Ok(held_files)
}

/// The values of an IMAGE or FILE field: the files they hold.
async fn held_files(
    db: &impl ConnectionTrait,
    row: &field_definition::Model,
) -> Result<Vec<Value>> {
    if !row.kind.is_file() {
        return Ok(Vec::new());
    }
    let values = field_value::Entity::find()
        .filter(field_value::Column::FieldId.eq(row.id))
        .all(db)
        .await?;
    Ok(values.into_iter().map(|v| v.value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_name_every_text_holding_nul() {
        let labels = BTreeMap::from([("en".to_owned(), "De\u{0}sk".to_owned())]);
        let options = vec![ChoiceOption {
            value: "a".into(),
            labels: BTreeMap::from([("fr".to_owned(), "\u{0}".to_owned())]),
        }];
        let problems = check_nul(&labels, &BTreeMap::new(), &options, &Rules::default());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("/labels/en contains U+0000"));
        assert!(problems[1].starts_with("/options/0/labels/fr"));
    }
}
