//! A registered application that keeps app-scoped JSON profiles.

use sea_orm::entity::prelude::*;

/// A row of `apps`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "apps")]
pub struct Model {
    /// Stable application id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Domain the application runs on.
    pub domain: Option<String>,
    /// Free description.
    pub description: Option<String>,
    /// Optional JSON Schema that every profile document must satisfy.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub json_schema: Option<Json>,
    /// Registration time.
    pub created_at: DateTimeUtc,
}

/// Apps have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
