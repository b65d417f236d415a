//! One value of one field on one member's card.

use sea_orm::entity::prelude::*;

/// A row of `field_values`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "field_values")]
pub struct Model {
    /// Tenant of the card.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Owner of the card.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The field.
    #[sea_orm(primary_key, auto_increment = false)]
    pub field_id: Uuid,
    /// The value, typed by the field's kind.
    #[sea_orm(column_type = "JsonBinary")]
    pub value: Json,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Who made the last change.
    pub updated_by: String,
    /// The value's searchable text, folded (lower case, no accents); `None` when it has none.
    pub folded: Option<String>,
}

/// Field values have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
