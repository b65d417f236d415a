//! A JSON document of app-specific settings for one (user, app).

use sea_orm::entity::prelude::*;

/// A row of `app_profiles`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "app_profiles")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The application.
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: String,
    /// The document (a JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// Bumped by every write.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// App profiles have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
