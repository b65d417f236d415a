//! A user's membership of a tenant, with a role; also the header of the user's card there.

use sea_orm::entity::prelude::*;

/// A role in a tenant, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Manages the tenant, its members and their roles.
    #[sea_orm(string_value = "owner")]
    Owner,
    /// Manages fields and every card of the tenant.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Edits their own card and reads what members may read.
    #[sea_orm(string_value = "member")]
    Member,
}

impl Role {
    /// Rank for comparisons: a higher rank includes the rights of every lower one.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
        }
    }

    /// Whether this role has at least the rights of `other`.
    pub fn includes(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
}

/// Who manages a membership. A provider-managed membership was asserted by the member's own
/// issuer (a user's identity is an (issuer, subject) pair, so no other provider can assert it):
/// its sign-ins change and remove it, and the API refuses to. The service manages the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Source {
    /// The member's identity provider, through the tenant claim of their tokens.
    #[sea_orm(string_value = "provider")]
    Provider,
    /// The service: owners and operators through the API, or a first sign-in's claims under
    /// service authority.
    #[sea_orm(string_value = "service")]
    Service,
}

/// A row of `memberships`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    /// The member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Role of the member in the tenant.
    pub role: Role,
    /// Who manages the membership.
    pub source: Source,
    /// Whether this is the user's primary tenant (exactly one per user).
    pub is_primary: bool,
    /// Version of the member's card in this tenant, bumped by every save.
    pub card_version: i32,
    /// When the membership began.
    pub created_at: DateTimeUtc,
    /// Last change of the membership or its card.
    pub updated_at: DateTimeUtc,
    /// The card's display name, folded, for the directory's name order; `None` when it has none.
    pub sort_name: Option<String>,
}

/// Relations of a membership.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The member.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    /// The tenant.
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id",
        on_delete = "Cascade"
    )]
    Tenant,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::tenant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
