//! The card: a member's values in a tenant, read with the access rule applied and written
//! with validation, versions and an audit trail, all in one transaction.

use entity::audit_event::Action;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{field_value, file, membership, tenant, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub mod backfill;
pub mod cache;
pub mod directory;
pub mod filter;
pub mod identity;
pub mod search;
pub mod search_rebuild;

use crate::audit;
use crate::core::{Actor, Admin, Member, Operator, TenantScope};
use crate::error::{Error, InputProblem, Result};
use crate::events::{Change, Events, FieldsChange};
use crate::fields::builtin::provider_value;
use crate::fields::store::{FieldRegistry, TenantFields};
use crate::fields::validation::check_value;
use crate::fields::{
    Access, FieldDefinition, FieldKind, FieldValue, Viewer, field_access, is_text_like,
};
use crate::files::{self, FileStore, Upload};
use crate::integrity::version::{stale, versioned_update};
use crate::users::{names, search_documents};
use cache::CardCache;

/// What writing a card touches: the database, the definitions, the files, and the change feed
/// that tells every instance.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    /// The database pool.
    pub db: &'a DatabaseConnection,
    /// Cached field definitions.
    pub registry: &'a FieldRegistry,
    /// Uploaded files.
    pub files: &'a FileStore,
    /// The change feed.
    pub events: &'a Events,
}

/// A member's card in a tenant, as one viewer may see it: hidden fields are absent.
#[derive(Clone, Debug)]
pub struct Card {
    /// The card's owner.
    pub user: user::Model,
    /// The tenant.
    pub tenant: tenant::Model,
    /// The owner's role in the tenant.
    pub role: membership::Role,
    /// Bumped by every save; send it back as `expectedVersion`.
    pub version: i32,
    /// Last save (or the start of the membership).
    pub updated_at: DateTime<Utc>,
    /// Visible fields in the tenant's order, with values.
    pub values: Vec<CardValue>,
    /// Every locale the tenant's labels are given in.
    pub locales: Arc<[String]>,
    /// The files that visible IMAGE and FILE values refer to, by id.
    pub files: HashMap<Uuid, file::Model>,
}

impl Card {
    /// The name to show for the card's owner, from what the viewer may see: `name`, else the
    /// given and family names, else `preferred_username`.
    pub fn display_name(&self) -> Option<String> {
        names::display_name(|key| self.value(key).and_then(FieldValue::as_text))
    }

    /// The uploaded avatar (an `avatar` IMAGE field) the viewer may see, if any.
    pub fn avatar(&self) -> Option<&file::Model> {
        let id = self.value(AVATAR_KEY)?.file_id()?;
        self.files.get(&id)
    }

    /// The value of the visible field `key`, if it has one.
    pub fn value(&self, key: &str) -> Option<&FieldValue> {
        self.values
            .iter()
            .find(|v| v.field.key.as_str() == key)?
            .value
            .as_ref()
    }
}

/// The key of the field holding a member's photo (the catalogue's `avatar` template).
pub const AVATAR_KEY: &str = "avatar";

/// One visible field of a card.
#[derive(Clone, Debug)]
pub struct CardValue {
    /// The definition.
    pub field: Arc<FieldDefinition>,
    /// The value; `None` when empty.
    pub value: Option<FieldValue>,
    /// What the viewer may do with it (never `HIDDEN` here).
    pub access: Access,
}

/// One requested change: a field key and its new value (`null` clears it).
#[derive(Clone, Debug)]
pub struct ValueChange {
    /// Field key.
    pub key: String,
    /// New value, or `Value::Null` to clear.
    pub value: Value,
}

/// Reads `subject`'s card in the viewer's tenant as the viewer may see it. A user who is
/// not a member of the tenant is NOT_FOUND, whoever asks.
pub async fn read(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    viewer: &Member<'_>,
    subject: Uuid,
) -> Result<Card> {
    read_in(db, registry, viewer.scope(), subject).await
}

async fn read_in(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    scope: &TenantScope,
    subject: Uuid,
) -> Result<Card> {
    let (membership, user) = member_with_user(db, scope, subject).await?;
    read_rows(db, registry, scope, membership, user).await
}

/// Reads a card whose membership and user rows the caller has already loaded (the signed-in
/// user's own card: the session holds both), its values from `cache` when this version of the
/// card was read before.
pub async fn read_loaded(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    cache: &CardCache,
    viewer: &Member<'_>,
    membership: membership::Model,
    user: user::Model,
) -> Result<Card> {
    let stored = match cache.get(&membership).await {
        Some(kept) => kept,
        None => {
            let read = Arc::new(stored_values(db, viewer.tenant().id, user.id).await?);
            cache.keep(&membership, read.clone()).await;
            read
        }
    };
    card_of(db, registry, viewer.scope(), membership, user, &stored).await
}

async fn read_rows(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    scope: &TenantScope,
    membership: membership::Model,
    user: user::Model,
) -> Result<Card> {
    let stored = stored_values(db, scope.tenant().id, user.id).await?;
    card_of(db, registry, scope, membership, user, &stored).await
}

/// The card of rows and values already read, with the files its values refer to.
async fn card_of(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    scope: &TenantScope,
    membership: membership::Model,
    user: user::Model,
    stored: &HashMap<Uuid, Value>,
) -> Result<Card> {
    let fields = registry.of_tenant(db, scope.tenant().id).await?;
    let mut card = compose(scope, &fields, membership, user, stored);
    attach_files(db, std::slice::from_mut(&mut card)).await?;
    Ok(card)
}

/// Reads the cards of `subjects` in the viewer's tenant, each as the viewer may see it, in a
/// constant number of queries whatever their number (members with users, values, files): what
/// lists of cards load through. Users who are not members of the tenant are left out.
pub async fn read_many(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    viewer: &Member<'_>,
    subjects: &[Uuid],
) -> Result<HashMap<Uuid, Card>> {
    let scope = viewer.scope();
    if subjects.is_empty() {
        return Ok(HashMap::new());
    }
    let fields = registry.of_tenant(db, scope.tenant().id).await?;
    let members = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(scope.tenant().id))
        .filter(membership::Column::UserId.is_in(subjects.iter().copied()))
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let mut stored = values_of_many(db, scope.tenant().id, subjects).await?;
    let mut cards: Vec<Card> = members
        .into_iter()
        .filter_map(|(membership, user)| {
            let user = user?;
            let values = stored.remove(&user.id).unwrap_or_default();
            Some(compose(scope, &fields, membership, user, &values))
        })
        .collect();
    attach_files(db, &mut cards).await?;
    Ok(cards.into_iter().map(|card| (card.user.id, card)).collect())
}

/// Loads the files that the cards' visible IMAGE and FILE values refer to, in one query.
async fn attach_files(db: &impl ConnectionTrait, cards: &mut [Card]) -> Result<()> {
    let file_ids: Vec<Uuid> = cards
        .iter()
        .flat_map(|card| &card.values)
        .filter_map(|v| v.value.as_ref().and_then(FieldValue::file_id))
        .collect();
    let found = files::by_ids(db, file_ids).await?;
    for card in cards {
        for id in card
            .values
            .iter()
            .filter_map(|v| v.value.as_ref()?.file_id())
        {
            if let Some(file) = found.get(&id) {
                card.files.insert(id, file.clone());
            }
        }
    }
    Ok(())
}

/// Succeeds when `file` is held by a field of its owner's card that the viewer may see;
/// NOT_FOUND otherwise, so file ids reveal nothing.
pub async fn ensure_file_visible(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    viewer: &Member<'_>,
    file: &file::Model,
) -> Result<()> {
    let not_found = || Error::NotFound(format!("no file {}", file.id));
    let card = read(db, registry, viewer, file.owner_id)
        .await
        .map_err(|_| not_found())?;
    if card.files.contains_key(&file.id) {
        return Ok(());
    }
    Err(not_found())
}

async fn member_with_user(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    subject: Uuid,
) -> Result<(membership::Model, user::Model)> {
    let found = membership::Entity::find_by_id((subject, scope.tenant().id))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((membership, Some(user))) => Ok((membership, user)),
        _ => Err(Error::NotFound(format!(
            "no member {subject} in tenant {}",
            scope.tenant().slug
        ))),
    }
}

async fn stored_values(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    subject: Uuid,
) -> Result<HashMap<Uuid, Value>> {
    let rows = field_value::Entity::find()
        .filter(field_value::Column::TenantId.eq(tenant_id))
        .filter(field_value::Column::UserId.eq(subject))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.field_id, row.value))
        .collect())
}

/// Stored values of several cards: user → field → value.
async fn values_of_many(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    subjects: &[Uuid],
) -> Result<HashMap<Uuid, HashMap<Uuid, Value>>> {
    let rows = field_value::Entity::find()
        .filter(field_value::Column::TenantId.eq(tenant_id))
        .filter(field_value::Column::UserId.is_in(subjects.iter().copied()))
        .all(db)
        .await?;
    Ok(by_user(rows))
}

/// Value rows grouped: user → field → value.
fn by_user(rows: Vec<field_value::Model>) -> HashMap<Uuid, HashMap<Uuid, Value>> {
    let mut grouped: HashMap<Uuid, HashMap<Uuid, Value>> = HashMap::new();
    for row in rows {
        grouped
            .entry(row.user_id)
            .or_default()
            .insert(row.field_id, row.value);
    }
    grouped
}

/// How the actor of `scope` looks at `subject`'s card: two viewers alike see the same card.
pub fn viewer(scope: &TenantScope, subject: Uuid) -> Viewer {
    Viewer {
        is_owner: *scope.actor() == Actor::User(subject),
        standing: scope.standing(),
    }
}

fn compose(
    scope: &TenantScope,
    fields: &TenantFields,
    membership: membership::Model,
    user: user::Model,
    stored: &HashMap<Uuid, Value>,
) -> Card {
    let viewer = viewer(scope, user.id);
    let values = fields
        .all
        .iter()
        .filter_map(|field| {
            let access = field_access(field, viewer);
            if !access.can_read() {
                return None;
            }
            Some(CardValue {
                value: effective_value(field, &user, stored),
                field: field.clone(),
                access,
            })
        })
        .collect();
    Card {
        user,
        tenant: scope.tenant().clone(),
        role: membership.role,
        version: membership.card_version,
        updated_at: membership.updated_at,
        values,
        locales: fields.locales().clone(),
        files: HashMap::new(),
    }
}

/// A member's names as their card shows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CardNames {
    /// The card's `given_name`.
    pub given_name: Option<String>,
    /// The card's `family_name`.
    pub family_name: Option<String>,
}

/// The names on the cards of `users` in the viewer's tenant, as the viewer may see them: the
/// values the card itself shows (a member's edit wins over the identity provider, a clear
/// stays cleared). One query for the whole list.
pub async fn names(
    db: &impl ConnectionTrait,
    registry: &FieldRegistry,
    reader: &Member<'_>,
    users: &[user::Model],
) -> Result<HashMap<Uuid, CardNames>> {
    let scope = reader.scope();
    let fields = registry.of_tenant(db, scope.tenant().id).await?;
    let (given, family) = (fields.by_key("given_name"), fields.by_key("family_name"));
    let field_ids: Vec<Uuid> = [given, family]
        .into_iter()
        .flatten()
        .map(|f| f.id)
        .collect();
    let mut stored = HashMap::new();
    if !field_ids.is_empty() {
        let rows = field_value::Entity::find()
            .filter(field_value::Column::TenantId.eq(scope.tenant().id))
            .filter(field_value::Column::FieldId.is_in(field_ids))
            .all(db)
            .await?;
        stored = by_user(rows);
    }
    let none = HashMap::new();
    let text = |field: Option<&Arc<FieldDefinition>>, user: &user::Model| {
        let field = field?;
        let values = stored.get(&user.id).unwrap_or(&none);
        field_access(field, viewer(scope, user.id))
            .can_read()
            .then(|| effective_value(field, user, values))??
            .as_text()
            .map(str::to_owned)
    };
    Ok(users
        .iter()
        .map(|user| {
            let names = CardNames {
                given_name: text(given, user),
                family_name: text(family, user),
            };
            (user.id, names)
        })
        .collect())
}

/// A stored value wins (a stored `null` is an explicit clear); built-in fields fall back to
/// what the identity provider said, so provider refreshes never overwrite a member's edit.
fn effective_value(
    field: &FieldDefinition,
    user: &user::Model,
    stored: &HashMap<Uuid, Value>,
) -> Option<FieldValue> {
    match stored.get(&field.id) {
        Some(value) => FieldValue::read(field.kind, value),
        None if field.builtin => {
            FieldValue::read(field.kind, &provider_value(user, field.key.as_str())?)
        }
        None => None,
    }
}

/// Applies `changes` to the caller's own card (see [`update`]).
pub async fn update_own(
    stores: Stores<'_>,
    member: &Member<'_>,
    changes: Vec<ValueChange>,
    expected_version: Option<i32>,
) -> Result<Card> {
    let subject = member.user_id()?;
    let scope = member.scope();
    update_card(stores, scope, subject, changes, expected_version).await
}

/// Applies `changes` to another member's card (admins, operators).
pub async fn update(
    stores: Stores<'_>,
    admin: &Admin<'_>,
    subject: Uuid,
    changes: Vec<ValueChange>,
    expected_version: Option<i32>,
) -> Result<Card> {
    let scope = admin.scope();
    update_card(stores, scope, subject, changes, expected_version).await
}

/// Applies `changes` to `subject`'s card: all or nothing, every invalid value reported at
/// once, FORBIDDEN naming any field the actor may not edit, CONFLICT when `expected_version`
/// is stale. Files no value refers to any more are removed after the commit. Returns the
/// saved card.
async fn update_card(
    stores: Stores<'_>,
    scope: &TenantScope,
    subject: Uuid,
    changes: Vec<ValueChange>,
    expected_version: Option<i32>,
) -> Result<Card> {
    let Stores {
        db,
        registry,
        files,
        events,
    } = stores;
    let fields = registry.of_tenant(db, scope.tenant().id).await?;
    let checked = check_changes(&fields, scope, subject, &changes)?;
    let txn = db.begin().await?;
    let replaced = save(&txn, &fields, scope, subject, &checked, expected_version).await?;
    let card = read_in(&txn, registry, scope, subject).await?;
    txn.commit().await?;
    events.publish(card_saved(scope, &card, &checked)).await;
    files.release(db, &replaced).await?;
    Ok(card)
}

/// The change a committed save makes known.
fn card_saved(scope: &TenantScope, card: &Card, checked: &[CheckedChange]) -> Change {
    Change::Card {
        tenant: scope.tenant().id,
        user: card.user.id,
        version: card.version,
        actor: scope.actor().to_string(),
        fields: Some(
            checked
                .iter()
                .map(|c| c.field.key.as_str().to_owned())
                .collect(),
        ),
    }
}

/// Purges a field (`fields::store::purge`) and releases the files its values held, exactly like
/// replaced files: their rows in the purge's transaction, their objects after the commit.
pub async fn purge_field(
    db: &DatabaseConnection,
    registry: &FieldRegistry,
    files: &FileStore,
    operator: &Operator<'_>,
    field_id: Uuid,
    confirm_key: &str,
) -> Result<()> {
    let txn = db.begin().await?;
    let values = crate::fields::store::purge(&txn, operator, field_id, confirm_key).await?;
    let held: Vec<Uuid> = values
        .iter()
        .filter_map(|stored| FieldValue::read(FieldKind::File, stored)?.file_id())
        .collect();
    let released = files.release_rows(&txn, &held).await?;
    txn.commit().await?;
    let tenant = operator.scope().tenant().id;
    registry.changed(tenant, FieldsChange::Purged).await;
    files.forget_released(db, &released).await
}

/// Stores an upload into the caller's own card (see [`upload`]).
pub async fn upload_own(
    stores: Stores<'_>,
    member: &Member<'_>,
    field_key: &str,
    upload: Upload,
) -> Result<(Card, file::Model)> {
    let subject = member.user_id()?;
    store_upload(stores, member.scope(), subject, field_key, upload).await
}

/// Stores an upload into another member's card (admins, operators).
pub async fn upload(
    stores: Stores<'_>,
    admin: &Admin<'_>,
    subject: Uuid,
    field_key: &str,
    upload: Upload,
) -> Result<(Card, file::Model)> {
    store_upload(stores, admin.scope(), subject, field_key, upload).await
}

/// Stores an upload for the IMAGE or FILE field `field_key` of `subject`'s card and sets the
/// field to it, in one transaction; a failure leaves neither a row, nor a value, nor an object.
async fn store_upload(
    stores: Stores<'_>,
    scope: &TenantScope,
    subject: Uuid,
    field_key: &str,
    upload: Upload,
) -> Result<(Card, file::Model)> {
    let Stores {
        db,
        registry,
        files,
        events,
    } = stores;
    let fields = registry.of_tenant(db, scope.tenant().id).await?;
    let field = upload_field(&fields, scope, subject, field_key)?;
    member_with_user(db, scope, subject).await?;
    let txn = db.begin().await?;
    let stored = files.store(&txn, scope, subject, &field, upload).await?;
    let checked = [CheckedChange {
        field,
        value: Some(FieldValue::File(stored.id)),
    }];
    let saved = async {
        let replaced = save(&txn, &fields, scope, subject, &checked, None).await?;
        let card = read_in(&txn, registry, scope, subject).await?;
        txn.commit().await?;
        Ok::<_, Error>((replaced, card))
    };
    match saved.await {
        Ok((replaced, card)) => {
            events.publish(card_saved(scope, &card, &checked)).await;
            files.release(db, &replaced).await?;
            Ok((card, stored))
        }
        Err(error) => {
            files.forget_objects(db, &stored).await?;
            Err(error)
        }
    }
}

fn upload_field(
    fields: &TenantFields,
    scope: &TenantScope,
    subject: Uuid,
    key: &str,
) -> Result<Arc<FieldDefinition>> {
    let field = fields
        .by_key(key)
        .filter(|f| !f.is_archived())
        .ok_or_else(|| Error::bad_input(format!("no field {key}")))?;
    if !field.kind.is_file() {
        return Err(Error::bad_input(format!(
            "{key} is not an IMAGE or FILE field"
        )));
    }
    if !field_access(field, viewer(scope, subject)).can_edit() {
        return Err(Error::Forbidden(format!("you may not edit: {key}")));
    }
    Ok(field.clone())
}

/// Writes checked changes inside `txn`; returns the ids of files the changes replaced.
async fn save(
    txn: &impl ConnectionTrait,
    fields: &TenantFields,
    scope: &TenantScope,
    subject: Uuid,
    checked: &[CheckedChange],
    expected_version: Option<i32>,
) -> Result<Vec<Uuid>> {
    bump_version(txn, scope, subject, expected_version).await?;
    check_files(txn, scope, subject, checked).await?;
    check_unique_email(txn, fields, scope, subject, checked).await?;
    let before = stored_values(txn, scope.tenant().id, subject).await?;
    write_values(txn, scope, subject, checked).await?;
    audit_change(txn, scope, subject, checked, &before).await?;
    Ok(checked
        .iter()
        .filter(|c| c.field.kind.is_file())
        .filter_map(|c| before.get(&c.field.id))
        .filter_map(|stored| FieldValue::read(FieldKind::File, stored)?.file_id())
        .collect())
}

/// A change that passed access and validation: the definition and the value to store.
struct CheckedChange {
    field: Arc<FieldDefinition>,
    /// `None` clears the value.
    value: Option<FieldValue>,
}

fn check_changes(
    fields: &TenantFields,
    scope: &TenantScope,
    subject: Uuid,
    changes: &[ValueChange],
) -> Result<Vec<CheckedChange>> {
    let viewer = viewer(scope, subject);
    let mut forbidden = Vec::new();
    let mut problems = Vec::new();
    let mut checked: Vec<CheckedChange> = Vec::new();
    for change in changes {
        let field = fields.by_key(&change.key).filter(|f| !f.is_archived());
        let Some(field) = field else {
            problems.push(problem(&change.key, "no such field"));
            continue;
        };
        if !field_access(field, viewer).can_edit() {
            forbidden.push(change.key.clone());
            continue;
        }
        if checked.iter().any(|c| c.field.id == field.id) {
            problems.push(problem(&change.key, "appears twice in one update"));
            continue;
        }
        match checked_value(field, &change.value) {
            Ok(value) => checked.push(CheckedChange {
                field: field.clone(),
                value,
            }),
            Err(message) => problems.push(problem(&change.key, &message)),
        }
    }
    if !forbidden.is_empty() {
        return Err(Error::Forbidden(format!(
            "you may not edit: {}",
            forbidden.join(", ")
        )));
    }
    if !problems.is_empty() {
        let summary: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        return Err(Error::BadUserInput {
            message: format!("invalid values: {}", summary.join("; ")),
            problems,
        });
    }
    Ok(checked)
}

fn checked_value(field: &FieldDefinition, value: &Value) -> Result<Option<FieldValue>, String> {
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        if field.required {
            return Err("a value is required".to_owned());
        }
        return Ok(None);
    }
    check_value(field, value).map(Some)
}

fn problem(key: &str, message: &str) -> InputProblem {
    InputProblem {
        field: key.to_owned(),
        message: message.to_owned(),
    }
}

/// Takes the card's write lock and bumps its version, checking `expected` atomically: the
/// row lock (PostgreSQL) or write lock (SQLite) makes concurrent saves queue, never lose.
async fn bump_version(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    subject: Uuid,
    expected: Option<i32>,
) -> Result<()> {
    let update = membership::Entity::update_many()
        .col_expr(membership::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(membership::Column::UserId.eq(subject))
        .filter(membership::Column::TenantId.eq(scope.tenant().id));
    if versioned_update(db, update, membership::Column::CardVersion, expected).await? {
        return Ok(());
    }
    let (membership, _) = member_with_user(db, scope, subject).await?;
    let version = membership.card_version;
    Err(stale("the card", version, expected.unwrap_or(version)))
}

/// A file value must name a file of this card's owner in this tenant, of an allowed type
/// and size.
async fn check_files(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    subject: Uuid,
    checked: &[CheckedChange],
) -> Result<()> {
    let mut problems = Vec::new();
    for change in checked {
        let Some(id) = change.value.as_ref().and_then(FieldValue::file_id) else {
            continue;
        };
        let found = file::Entity::find_by_id(id)
            .filter(file::Column::TenantId.eq(scope.tenant().id))
            .filter(file::Column::OwnerId.eq(subject))
            .one(db)
            .await?;
        let key = change.field.key.as_str();
        match found {
            None => problems.push(problem(key, "no such file on this card")),
            Some(file) => {
                if let Some(message) = file_rule_problem(&change.field, &file) {
                    problems.push(problem(key, &message));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::BadUserInput {
        message: "invalid file values".to_owned(),
        problems,
    })
}

/// Why `file` does not fit `field`'s content-type and size rules, if it does not.
pub fn file_rule_problem(field: &FieldDefinition, file: &file::Model) -> Option<String> {
    let rules = &field.rules;
    if !files::accepts(field, &file.content_type) {
        return Some(format!(
            "files of type {} are not accepted here",
            file.content_type
        ));
    }
    match rules.max_bytes {
        Some(max) if file.byte_size as u64 > max => {
            Some(format!("the file is larger than {max} bytes"))
        }
        _ => None,
    }
}

/// An email opened for editing must stay unique among the tenant's members.
async fn check_unique_email(
    db: &impl ConnectionTrait,
    fields: &TenantFields,
    scope: &TenantScope,
    subject: Uuid,
    checked: &[CheckedChange],
) -> Result<()> {
    let Some(new_email) = checked
        .iter()
        .find(|c| c.field.builtin && c.field.key.as_str() == "email")
        .and_then(|c| c.value.as_ref()?.as_text())
    else {
        return Ok(());
    };
    let Some(email_field) = fields.by_key("email") else {
        return Ok(());
    };
    let members = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(scope.tenant().id))
        .filter(membership::Column::UserId.ne(subject))
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let overrides: HashMap<Uuid, Value> = field_value::Entity::find()
        .filter(field_value::Column::TenantId.eq(scope.tenant().id))
        .filter(field_value::Column::FieldId.eq(email_field.id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, row.value))
        .collect();
    let taken = members
        .iter()
        .filter_map(|(_, user)| user.as_ref())
        .any(|user| {
            let stored = overrides.get(&user.id).map(|v| (email_field.id, v.clone()));
            let effective = effective_value(email_field, user, &stored.into_iter().collect());
            effective
                .as_ref()
                .and_then(FieldValue::as_text)
                .is_some_and(|e| e.eq_ignore_ascii_case(new_email))
        });
    if taken {
        return Err(Error::Conflict(format!(
            "{new_email} is already used by another member of this tenant"
        )));
    }
    Ok(())
}

/// A value as stored: JSON, `null` for a cleared built-in.
fn stored_form(value: &Option<FieldValue>) -> Value {
    value.as_ref().map_or(Value::Null, FieldValue::to_json)
}

async fn write_values(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    subject: Uuid,
    checked: &[CheckedChange],
) -> Result<()> {
    let now = Utc::now();
    for change in checked {
        // Clearing a custom field deletes its row; clearing a built-in one stores an explicit
        // null, so the identity provider's value does not come back.
        if change.value.is_none() && !change.field.builtin {
            field_value::Entity::delete_by_id((scope.tenant().id, subject, change.field.id))
                .exec(db)
                .await?;
            continue;
        }
        let row = field_value::ActiveModel {
            tenant_id: Set(scope.tenant().id),
            user_id: Set(subject),
            field_id: Set(change.field.id),
            value: Set(stored_form(&change.value)),
            updated_at: Set(now),
            updated_by: Set(scope.actor().to_string()),
            folded: Set(change
                .value
                .as_ref()
                .and_then(|v| search::searchable(&change.field, v))),
        };
        field_value::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    field_value::Column::TenantId,
                    field_value::Column::UserId,
                    field_value::Column::FieldId,
                ])
                .update_columns([
                    field_value::Column::Value,
                    field_value::Column::UpdatedAt,
                    field_value::Column::UpdatedBy,
                    field_value::Column::Folded,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let renamed = checked
        .iter()
        .any(|c| c.field.builtin && names::NAME_KEYS.contains(&c.field.key.as_str()));
    if renamed {
        names::refresh(db, subject, Some(scope.tenant().id)).await?;
    }
    if checked.iter().any(|c| is_text_like(c.field.kind)) {
        search_documents::refresh(db, subject, Some(scope.tenant().id)).await?;
    }
    Ok(())
}

async fn audit_change(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    subject: Uuid,
    checked: &[CheckedChange],
    before: &HashMap<Uuid, Value>,
) -> Result<()> {
    let mut old = Map::new();
    let mut new = Map::new();
    for change in checked {
        let key = change.field.key.as_str().to_owned();
        old.insert(
            key.clone(),
            before.get(&change.field.id).cloned().unwrap_or(Value::Null),
        );
        new.insert(key, stored_form(&change.value));
    }
    let change = json!({"before": old, "after": new});
    audit::record(
        db,
        scope.tenant().id,
        scope.actor(),
        Some(subject),
        Action::ProfileUpdate,
        change,
    )
    .await
}

/// The card as OIDC-style userinfo: `sub`, the standard claims the viewer may read, and the
/// tenant's own fields under `custom_attributes`. Empty values are left out.
pub fn userinfo(card: &Card) -> Value {
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(card.user.subject.clone()));
    claims.insert("user_id".into(), Value::String(card.user.id.to_string()));
    claims.insert("tenant".into(), Value::String(card.tenant.slug.clone()));
    let mut custom = Map::new();
    for item in &card.values {
        let Some(value) = &item.value else { continue };
        let target = if item.field.builtin {
            &mut claims
        } else {
            &mut custom
        };
        target.insert(item.field.key.as_str().to_owned(), value.to_json());
    }
    claims.insert("custom_attributes".into(), Value::Object(custom));
    Value::Object(claims)
}
