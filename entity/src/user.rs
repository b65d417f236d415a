//! A person, identified by the (issuer, subject) of their OpenID Connect identity.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Tenant slugs, as a token's tenant claim names them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct ClaimedTenants(pub Vec<String>);

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Internal id, assigned on first sign-in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Token issuer that vouches for this user.
    pub issuer: String,
    /// Subject (`sub`) at that issuer.
    pub subject: String,
    /// `preferred_username` claim, refreshed on sign-in.
    pub username: Option<String>,
    /// `email` claim, refreshed on sign-in.
    pub email: Option<String>,
    /// `email_verified` claim, refreshed on sign-in.
    pub email_verified: bool,
    /// The other standard claims last received from the identity provider (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub claims: Json,
    /// Slugs of the tenants the provider's tenant claim named at the latest sign-in; `None`
    /// before the first sign-in that recorded them. Sign-in tells a new assertion from an old
    /// one by it, so that a membership an owner removed is not re-created by the same claim.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub claimed_tenants: Option<ClaimedTenants>,
    /// First sign-in.
    pub created_at: DateTimeUtc,
    /// Last change of this row.
    pub updated_at: DateTimeUtc,
    /// Last sign-in (first request with a new token).
    pub last_sign_in_at: DateTimeUtc,
    /// The provider's username, email and names, folded for quick search.
    pub folded_identity: Option<String>,
}

/// Relations of a user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user's memberships.
    #[sea_orm(has_many = "super::membership::Entity")]
    Memberships,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
