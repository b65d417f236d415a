//! The audit trail: every change to memberships, definitions and values is recorded.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::Result;

/// Records one change, inside the caller's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    actor: &Actor,
    subject_user_id: Option<Uuid>,
    action: &str,
    change: Value,
) -> Result<()> {
    let row = audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        actor: Set(actor.to_string()),
        subject_user_id: Set(subject_user_id),
        action: Set(action.to_owned()),
        change: Set(change),
        at: Set(Utc::now()),
    };
    audit_event::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The latest events about `user_id`'s card in a tenant, newest first.
pub async fn of_user(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Uuid,
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(tenant_id))
        .filter(audit_event::Column::SubjectUserId.eq(user_id))
        .order_by_desc(audit_event::Column::At)
        .limit(limit)
        .all(db)
        .await?)
}
