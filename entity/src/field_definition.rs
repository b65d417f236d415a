//! An admin-defined field of a tenant's cards.

use sea_orm::entity::prelude::*;

/// A row of `field_definitions`. Kind and access levels are stored as text and parsed by the
/// domain layer (`userprofile::fields`), which reports a bad row as an error.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "field_definitions")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Immutable key, unique in the tenant.
    pub key: String,
    /// Value kind (`SHORT_TEXT`, `IMAGE`, …).
    pub kind: String,
    /// Labels by locale (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub labels: Json,
    /// Help texts by locale (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub help: Json,
    /// Choice options (JSON array).
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    /// Validation rules (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub validation: Json,
    /// Whether a value is required.
    pub required: bool,
    /// Display order within the tenant.
    pub position: i32,
    /// What the card's owner may do: `HIDDEN`, `READ`, `EDIT`.
    pub owner_access: String,
    /// What other members may do: `HIDDEN`, `READ`.
    pub member_access: String,
    /// What admins may do: `READ`, `EDIT`.
    pub admin_access: String,
    /// Whether this is a built-in OpenID Connect claim field.
    pub builtin: bool,
    /// Set while the field is archived.
    pub archived_at: Option<DateTimeUtc>,
    /// Bumped by every change of the definition.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Field definitions have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
