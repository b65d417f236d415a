//! Membership changes that sign-in makes for an identity provider: the same tenant lock,
//! last-owner rule and audit trail as owners' changes, but only on memberships that provider
//! manages, and a claim that would take a tenant's last owner is kept back, not refused.

use chrono::Utc;
use entity::audit_event::Action;
use entity::membership::{self, Role, Source};
use entity::tenant;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::{insert_membership, lock_tenant, takes_last_owner, write_removal, write_role};
use crate::audit;
use crate::core::{Actor, role_name};
use crate::error::Result;

/// Every membership of a user with its tenant, oldest first.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<(membership::Model, tenant::Model)>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(tenant::Entity)
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, tenant)| Some((m, tenant?)))
        .collect())
}

/// Adds the membership a claim asserts, managed by `source`; nothing when the user is a
/// member of the tenant already (whoever manages that membership).
pub async fn join(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user_id: Uuid,
    role: Role,
    source: Source,
    actor: &Actor,
) -> Result<()> {
    if !insert_membership(db, user_id, tenant.id, role, source).await? {
        return Ok(());
    }
    let change = json!({"role": role_name(role), "source": source.to_value()});
    audit::record(
        db,
        tenant.id,
        actor,
        Some(user_id),
        Action::MembershipAdd,
        change,
    )
    .await
}

/// Gives a provider-managed membership the role its claim now asserts.
pub async fn claim_role(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user_id: Uuid,
    role: Role,
    actor: &Actor,
) -> Result<()> {
    let Some(current) = provider_managed(db, tenant, user_id).await? else {
        return Ok(());
    };
    if current.role == role {
        return Ok(());
    }
    if takes_last_owner(db, &current, Some(role)).await? {
        return keep_last_owner(db, tenant, &current, Some(role), actor).await;
    }
    write_role(db, &current, role, actor).await
}

/// Removes a provider-managed membership that its claim no longer names.
pub async fn drop_claim(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user_id: Uuid,
    actor: &Actor,
) -> Result<()> {
    let Some(current) = provider_managed(db, tenant, user_id).await? else {
        return Ok(());
    };
    if takes_last_owner(db, &current, None).await? {
        return keep_last_owner(db, tenant, &current, None, actor).await;
    }
    write_removal(db, &current, actor).await
}

/// Hands a provider-managed membership to the service, once its issuer no longer manages
/// memberships, so that owners can change it again.
pub async fn hand_over(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user_id: Uuid,
    actor: &Actor,
) -> Result<()> {
    let Some(current) = provider_managed(db, tenant, user_id).await? else {
        return Ok(());
    };
    let mut row: membership::ActiveModel = current.into();
    row.source = Set(Source::Service);
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    let change =
        json!({"before": Source::Provider.to_value(), "after": Source::Service.to_value()});
    audit::record(
        db,
        tenant.id,
        actor,
        Some(user_id),
        Action::MembershipSource,
        change,
    )
    .await
}

/// The membership under the tenant's lock, if the provider manages it.
async fn provider_managed(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    user_id: Uuid,
) -> Result<Option<membership::Model>> {
    lock_tenant(db, tenant.id).await?;
    let current = membership::Entity::find_by_id((user_id, tenant.id))
        .one(db)
        .await?;
    Ok(current.filter(|m| m.source == Source::Provider))
}

/// Records (and logs) a claimed change that was not applied because it would leave the
/// tenant without an owner.
async fn keep_last_owner(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    current: &membership::Model,
    claimed: Option<Role>,
    actor: &Actor,
) -> Result<()> {
    let claimed = claimed.map(role_name);
    tracing::warn!(
        tenant = %tenant.slug,
        user = %current.user_id,
        claimed,
        "sign-in kept the tenant's last owner: the provider's claim would demote or remove them"
    );
    let change = json!({"role": role_name(current.role), "claimed": claimed});
    audit::record(
        db,
        tenant.id,
        actor,
        Some(current.user_id),
        Action::MembershipKeepLastOwner,
        change,
    )
    .await
}
