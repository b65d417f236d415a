//! Tenants and their memberships. Every function that works inside a tenant takes the
//! capability it needs ([`Admin`], [`Owner`]), which only an access check hands out; sign-in's
//! functions ([`sync`]) take the provider's [`Actor`] instead and change only what that provider
//! manages.

pub mod sync;

use chrono::Utc;
use entity::audit_event::Action;
use entity::membership::{self, Role, Source};
use entity::{tenant, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::audit;
use crate::core::{Actor, Admin, GlobalOperator, Owner, TenantScope, ident, role_name};
use crate::error::{Error, Result};
use crate::events::{Change, Events};

/// The locale labels fall back to when a tenant names none.
pub const DEFAULT_LOCALE: &str = "en";

/// A member of a tenant, as listed to its admins.
#[derive(Clone, Debug)]
pub struct Member {
    /// The user.
    pub user: user::Model,
    /// Role in the tenant.
    pub role: Role,
}

/// What a new tenant starts with.
#[derive(Clone, Debug)]
pub struct NewTenant {
    /// Unique short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Default locale (BCP 47).
    pub default_locale: Option<String>,
    /// The first owner, if one is named.
    pub owner: Option<Uuid>,
}

/// Finds a tenant by its UUID or its slug.
pub async fn find(db: &impl ConnectionTrait, id_or_slug: &str) -> Result<Option<tenant::Model>> {
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => tenant::Entity::find_by_id(id),
        Err(_) => tenant::Entity::find().filter(tenant::Column::Slug.eq(id_or_slug)),
    };
    Ok(query.one(db).await?)
}

/// Checks a tenant slug against [`ident::TENANT_SLUG`], and refuses a UUID: tenants are found
/// by UUID or slug, so such a slug would name another tenant.
pub fn validate_slug(slug: &str) -> Result<()> {
    ident::TENANT_SLUG.check(slug).map_err(Error::bad_input)?;
    if Uuid::parse_str(slug).is_ok() {
        return Err(Error::bad_input(format!(
            "invalid tenant slug {slug:?}: use one that is not a UUID (a UUID would name another tenant)"
        )));
    }
    Ok(())
}

/// Returns the tenant with `slug`, creating it (audited) when a trusted token names it for the
/// first time.
pub async fn ensure(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
    name: Option<&str>,
) -> Result<tenant::Model> {
    validate_slug(slug)?;
    let inserted = tenant::Entity::insert(new_row(slug, name.unwrap_or(slug), None))
        .on_conflict(
            OnConflict::column(tenant::Column::Slug)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let tenant = find(db, slug)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("tenant {slug} vanished after insert")))?;
    if inserted > 0 {
        crate::fields::builtin::install(db, tenant.id).await?;
        audit::record(
            db,
            tenant.id,
            actor,
            None,
            Action::TenantCreate,
            json!({"slug": slug}),
        )
        .await?;
    }
    Ok(tenant)
}

fn new_row(slug: &str, name: &str, default_locale: Option<&str>) -> tenant::ActiveModel {
    let locale = default_locale.unwrap_or(DEFAULT_LOCALE);
    tenant::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        default_locale: Set(locale.to_owned()),
        enabled_locales: Set(json!([locale])),
        created_at: Set(Utc::now()),
        member_directory: Set(false),
    }
}

/// Creates a tenant (operators with a grant on every tenant), with its first owner if named.
pub async fn create(
    db: &DatabaseConnection,
    operator: &GlobalOperator,
    new: NewTenant,
) -> Result<tenant::Model> {
    validate_slug(&new.slug)?;
    validate_name(&new.name)?;
    validate_locale(new.default_locale.as_deref())?;
    let txn = db.begin().await?;
    let inserted = tenant::Entity::insert(new_row(
        &new.slug,
        new.name.trim(),
        new.default_locale.as_deref(),
    ))
    .on_conflict(
        OnConflict::column(tenant::Column::Slug)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        return Err(Error::Conflict(format!(
            "a tenant with slug {} exists",
            new.slug
        )));
    }
    let tenant = find(&txn, &new.slug)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("tenant vanished after insert")))?;
    crate::fields::builtin::install(&txn, tenant.id).await?;
    if let Some(owner) = new.owner {
        crate::users::get(&txn, owner).await?;
        insert_membership(&txn, owner, tenant.id, Role::Owner, Source::Service).await?;
    }
    audit::record(
        &txn,
        tenant.id,
        operator.actor(),
        new.owner,
        Action::TenantCreate,
        json!({"slug": new.slug}),
    )
    .await?;
    txn.commit().await?;
    Ok(tenant)
}

fn validate_name(name: &str) -> Result<()> {
    let length = name.trim().chars().count();
    if (1..=200).contains(&length) {
        return Ok(());
    }
    Err(Error::bad_input("a tenant name needs 1 to 200 characters"))
}

/// A default locale is a language tag: anything else would be stored (and, past the column's
/// 35 characters, fail on PostgreSQL) and then fall back for every label.
fn validate_locale(locale: Option<&str>) -> Result<()> {
    match locale {
        Some(tag) if !crate::fields::labels::is_locale(tag) => Err(Error::bad_input(format!(
            "invalid default locale {tag:?}: use a language tag such as en or pt-BR"
        ))),
        _ => Ok(()),
    }
}

/// Renames the active tenant (admins).
pub async fn rename(
    db: &DatabaseConnection,
    admin: &Admin<'_>,
    name: &str,
) -> Result<tenant::Model> {
    validate_name(name)?;
    let name = name.trim().to_owned();
    let change = json!({"before": admin.tenant().name, "after": name});
    let mut row: tenant::ActiveModel = admin.tenant().clone().into();
    row.name = Set(name);
    save_audited(db, admin, row, Action::TenantRename, change).await
}

/// Opens or closes the active tenant's member directory (admins): when open, members may list
/// the tenant's cards with what member access lets them read.
pub async fn set_member_directory(
    db: &DatabaseConnection,
    admin: &Admin<'_>,
    open: bool,
) -> Result<tenant::Model> {
    let before = admin.tenant().member_directory;
    let change = json!({"memberDirectory": {"before": before, "after": open}});
    let mut row: tenant::ActiveModel = admin.tenant().clone().into();
    row.member_directory = Set(open);
    save_audited(db, admin, row, Action::TenantSettings, change).await
}

/// Saves a changed row of the active tenant and its audit event in one transaction.
async fn save_audited(
    db: &DatabaseConnection,
    admin: &Admin<'_>,
    row: tenant::ActiveModel,
    action: Action,
    change: serde_json::Value,
) -> Result<tenant::Model> {
    let txn = db.begin().await?;
    let updated = row.update(&txn).await?;
    audit::record(&txn, updated.id, admin.actor(), None, action, change).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Every member of the active tenant, oldest first.
pub async fn members(db: &DatabaseConnection, admin: &Admin<'_>) -> Result<Vec<Member>> {
    let scope = admin.scope();
    let rows = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(scope.tenant().id))
        .find_also_related(user::Entity)
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, user)| {
            Some(Member {
                user: user?,
                role: m.role,
            })
        })
        .collect())
}

/// Adds a user who has signed in before to the active tenant (owners).
pub async fn add_member(
    db: &DatabaseConnection,
    events: &Events,
    owner: &Owner<'_>,
    user_id: Uuid,
    role: Role,
) -> Result<Member> {
    let scope = owner.scope();
    let txn = db.begin().await?;
    let user = crate::users::get(&txn, user_id).await?;
    let inserted =
        insert_membership(&txn, user_id, scope.tenant().id, role, Source::Service).await?;
    if !inserted {
        return Err(Error::Conflict(format!(
            "user {user_id} is already a member of tenant {}",
            scope.tenant().slug
        )));
    }
    let change = json!({"role": role_name(role)});
    audit::record(
        &txn,
        scope.tenant().id,
        scope.actor(),
        Some(user_id),
        Action::MembershipAdd,
        change,
    )
    .await?;
    txn.commit().await?;
    membership_changed(events, scope, user_id).await;
    Ok(Member { user, role })
}

/// Makes `user_id` a member of `tenant_id` with `role`, primary if the user has no primary
/// tenant yet; the one way a membership row is written. Returns whether a row was inserted.
pub async fn insert_membership(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
    role: Role,
    source: Source,
) -> Result<bool> {
    let has_primary = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::IsPrimary.eq(true))
        .count(db)
        .await?
        > 0;
    let now = Utc::now();
    let row = membership::ActiveModel {
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        role: Set(role),
        source: Set(source),
        is_primary: Set(!has_primary),
        card_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        sort_name: Set(None),
    };
    let mut conflict =
        OnConflict::columns([membership::Column::UserId, membership::Column::TenantId]);
    conflict.do_nothing();
    let inserted = membership::Entity::insert(row)
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await?;
    if inserted > 0 {
        crate::users::names::refresh(db, user_id, Some(tenant_id)).await?;
        crate::users::search_documents::refresh(db, user_id, Some(tenant_id)).await?;
    }
    Ok(inserted > 0)
}

/// Changes a member's role in the active tenant (owners); the last owner cannot be demoted,
/// and memberships the member's provider manages are changed there, not here.
pub async fn change_role(
    db: &DatabaseConnection,
    events: &Events,
    owner: &Owner<'_>,
    user_id: Uuid,
    role: Role,
) -> Result<Member> {
    let scope = owner.scope();
    let txn = db.begin().await?;
    lock_tenant(&txn, scope.tenant().id).await?;
    let current = membership_of(&txn, scope, user_id).await?;
    ensure_service_managed(&txn, scope, &current).await?;
    if takes_last_owner(&txn, &current, Some(role)).await? {
        return Err(last_owner(scope));
    }
    write_role(&txn, &current, role, scope.actor()).await?;
    let user = crate::users::get(&txn, user_id).await?;
    txn.commit().await?;
    membership_changed(events, scope, user_id).await;
    Ok(Member { user, role })
}

/// Removes a member from the active tenant (owners); the last owner cannot be removed, and
/// memberships the member's provider manages are removed there, not here.
pub async fn remove_member(
    db: &DatabaseConnection,
    events: &Events,
    owner: &Owner<'_>,
    user_id: Uuid,
) -> Result<()> {
    let scope = owner.scope();
    let txn = db.begin().await?;
    lock_tenant(&txn, scope.tenant().id).await?;
    let current = membership_of(&txn, scope, user_id).await?;
    ensure_service_managed(&txn, scope, &current).await?;
    if takes_last_owner(&txn, &current, None).await? {
        return Err(last_owner(scope));
    }
    write_removal(&txn, &current, scope.actor()).await?;
    txn.commit().await?;
    membership_changed(events, scope, user_id).await;
    Ok(())
}

/// Tells every instance that `user_id`'s membership of the active tenant changed, so that
/// their open subscriptions check it again.
async fn membership_changed(events: &Events, scope: &TenantScope, user_id: Uuid) {
    let change = Change::Membership {
        tenant: scope.tenant().id,
        user: user_id,
    };
    events.publish(change).await;
}

async fn membership_of(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    user_id: Uuid,
) -> Result<membership::Model> {
    membership::Entity::find_by_id((user_id, scope.tenant().id))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "user {user_id} is not a member of tenant {}",
                scope.tenant().slug
            ))
        })
}

/// Refuses to let the API change a membership that the member's identity provider manages:
/// the provider's next sign-in would set it back.
async fn ensure_service_managed(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    current: &membership::Model,
) -> Result<()> {
    if current.source == Source::Service {
        return Ok(());
    }
    let user = crate::users::get(db, current.user_id).await?;
    Err(Error::Conflict(format!(
        "the membership of user {} in tenant {} is managed by the identity provider {}: \
         change it there",
        current.user_id,
        scope.tenant().slug,
        user.issuer
    )))
}

/// Whether changing `current` to `role` (or removing it, `None`) would leave its tenant
/// without an owner. Callers hold the tenant's lock.
async fn takes_last_owner(
    db: &impl ConnectionTrait,
    current: &membership::Model,
    role: Option<Role>,
) -> Result<bool> {
    if current.role != Role::Owner || role == Some(Role::Owner) {
        return Ok(false);
    }
    let owners = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(current.tenant_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(db)
        .await?;
    Ok(owners <= 1)
}

fn last_owner(scope: &TenantScope) -> Error {
    Error::Conflict(format!(
        "tenant {} must keep at least one owner: make someone else owner first",
        scope.tenant().slug
    ))
}

async fn write_role(
    db: &impl ConnectionTrait,
    current: &membership::Model,
    role: Role,
    actor: &Actor,
) -> Result<()> {
    let mut row: membership::ActiveModel = current.clone().into();
    row.role = Set(role);
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    let change = json!({"before": role_name(current.role), "after": role_name(role)});
    audit::record(
        db,
        current.tenant_id,
        actor,
        Some(current.user_id),
        Action::MembershipRole,
        change,
    )
    .await
}

async fn write_removal(
    db: &impl ConnectionTrait,
    current: &membership::Model,
    actor: &Actor,
) -> Result<()> {
    membership::Entity::delete_by_id((current.user_id, current.tenant_id))
        .exec(db)
        .await?;
    let change = json!({"role": role_name(current.role)});
    audit::record(
        db,
        current.tenant_id,
        actor,
        Some(current.user_id),
        Action::MembershipRemove,
        change,
    )
    .await
}

/// Serialises membership changes of one tenant: a no-op write takes the row lock on
/// PostgreSQL and the write lock on SQLite, so two owners cannot demote each other at once.
async fn lock_tenant(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<()> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::Slug, Expr::col(tenant::Column::Slug))
        .filter(tenant::Column::Id.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}
