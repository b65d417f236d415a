//! A tenant (workspace): the unit of isolation for members, fields and cards.

use sea_orm::entity::prelude::*;

/// A row of `tenants`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique, URL-safe short name; also the id used in token claims.
    #[sea_orm(unique)]
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Locale that labels fall back to (BCP 47).
    pub default_locale: String,
    /// Locales the tenant offers (JSON array of BCP 47 tags).
    #[sea_orm(column_type = "JsonBinary")]
    pub enabled_locales: Json,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Whether members may list the tenant's cards (what member access lets them read).
    pub member_directory: bool,
}

/// Relations of a tenant.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The tenant's memberships.
    #[sea_orm(has_many = "super::membership::Entity")]
    Memberships,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
