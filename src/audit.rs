//! The audit trail: every change to memberships, definitions and values is recorded.

use chrono::Utc;
use entity::audit_event::{self, Action};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::core::Actor;
use crate::error::Result;

/// Records one change, inside the caller's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    actor: &Actor,
    subject_user_id: Option<Uuid>,
    action: Action,
    change: Value,
) -> Result<()> {
    let row = audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        actor: Set(actor.to_string()),
        subject_user_id: Set(subject_user_id),
        action: Set(action),
        change: Set(change),
        at: Set(Utc::now()),
    };
    audit_event::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The latest events of a tenant, newest first: about `user_id`'s card and membership when
/// given, else every event (field definitions included).
pub async fn latest(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    user_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_event::Model>> {
    let mut query = audit_event::Entity::find().filter(audit_event::Column::TenantId.eq(tenant_id));
    if let Some(user_id) = user_id {
        query = query.filter(audit_event::Column::SubjectUserId.eq(user_id));
    }
    Ok(query
        .order_by_desc(audit_event::Column::At)
        .limit(limit)
        .all(db)
        .await?)
}
