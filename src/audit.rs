//! The audit trail: every change to memberships, definitions and values is recorded.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
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
