//! A recorded change: who changed what on whose card or schema.

use sea_orm::entity::prelude::*;

/// A row of `audit_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant the change happened in.
    pub tenant_id: Uuid,
    /// Who made the change (`user:<id>` or `operator:<client>`).
    pub actor: String,
    /// Whose card changed, when a card changed.
    pub subject_user_id: Option<Uuid>,
    /// What happened (`membership.add`, `profile.update`, …).
    pub action: String,
    /// Before/after details (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub change: Json,
    /// When it happened.
    pub at: DateTimeUtc,
}

/// Audit events have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
