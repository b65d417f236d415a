//! Tenants and memberships: the active tenant, its members, and owners' management.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::membership::Role as DbRole;
use entity::tenant;

use super::db;
use crate::auth::Session;
use crate::auth::guard::{OperatorGuard, RoleGuard};
use crate::error::Error;
use crate::fields::builtin::provider_text;
use crate::tenants::{self, Member as DomainMember, NewTenant};

/// A role in a tenant.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::membership::Role")]
pub enum Role {
    /// Manages the tenant, its members and their roles.
    Owner,
    /// Manages fields and every card of the tenant.
    Admin,
    /// Edits their own card.
    Member,
}

/// A tenant (workspace).
pub struct Tenant(pub tenant::Model);

#[Object]
impl Tenant {
    /// Tenant id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Unique short name, also accepted in `X-Tenant-Id`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Locale labels fall back to.
    async fn default_locale(&self) -> &str {
        &self.0.default_locale
    }
}

/// A member of the active tenant.
#[derive(SimpleObject)]
pub struct Member {
    /// User id.
    user_id: ID,
    /// Preferred username.
    username: Option<String>,
    /// Email address.
    email: Option<String>,
    /// Given name.
    first_name: Option<String>,
    /// Family name.
    last_name: Option<String>,
    /// Role in the tenant.
    role: Role,
}

impl From<DomainMember> for Member {
    fn from(m: DomainMember) -> Self {
        Member {
            user_id: ID(m.user.id.to_string()),
            first_name: provider_text(&m.user, "given_name"),
            last_name: provider_text(&m.user, "family_name"),
            username: m.user.username,
            email: m.user.email,
            role: m.role.into(),
        }
    }
}

/// Input of `createTenant`.
#[derive(InputObject)]
pub struct CreateTenantInput {
    /// Unique short name: 2–64 of a–z, 0–9, `-`.
    slug: String,
    /// Display name.
    name: String,
    /// Default locale (BCP 47); `en` when absent.
    default_locale: Option<String>,
    /// A user (who has signed in before) to make the first owner.
    owner_user_id: Option<ID>,
}

/// Tenant queries.
#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// The active tenant of the request (`X-Tenant-Id`, else the primary tenant).
    #[graphql(guard = "RoleGuard::new(DbRole::Member)")]
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<Tenant> {
        Ok(Tenant(Session::of(ctx)?.active()?.tenant.clone()))
    }

    /// Every member of the active tenant with their role (admins).
    #[graphql(guard = "RoleGuard::new(DbRole::Admin)")]
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Member>> {
        let scope = Session::of(ctx)?.require(DbRole::Admin)?;
        let members = tenants::members(db(ctx)?, scope).await?;
        Ok(members.into_iter().map(Member::from).collect())
    }
}

/// Tenant and membership mutations.
#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates a tenant (operators granted every tenant).
    #[graphql(guard = "OperatorGuard")]
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<Tenant> {
        let principal = Session::of(ctx)?.principal()?;
        let owner = input
            .owner_user_id
            .as_ref()
            .map(parse_user_id)
            .transpose()?;
        let new = NewTenant {
            slug: input.slug,
            name: input.name,
            default_locale: input.default_locale,
            owner,
        };
        Ok(Tenant(
            tenants::create(db(ctx)?, &principal.actor(), new).await?,
        ))
    }

    /// Renames the active tenant (admins).
    #[graphql(guard = "RoleGuard::new(DbRole::Admin)")]
    async fn rename_tenant(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<Tenant> {
        let scope = Session::of(ctx)?.require(DbRole::Admin)?;
        Ok(Tenant(tenants::rename(db(ctx)?, scope, &name).await?))
    }

    /// Adds a user who has signed in before to the active tenant (owners).
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)")]
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<Member> {
        let scope = Session::of(ctx)?.require(DbRole::Owner)?;
        let member = tenants::add_member(db(ctx)?, scope, parse_user_id(&user_id)?, role.into());
        Ok(member.await?.into())
    }

    /// Changes a member's role (owners); the last owner cannot be demoted.
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)")]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<Member> {
        let scope = Session::of(ctx)?.require(DbRole::Owner)?;
        let member = tenants::change_role(db(ctx)?, scope, parse_user_id(&user_id)?, role.into());
        Ok(member.await?.into())
    }

    /// Removes a member from the active tenant (owners); the last owner cannot be removed.
    /// Returns the removed user's id.
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)")]
    async fn remove_member(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<ID> {
        let scope = Session::of(ctx)?.require(DbRole::Owner)?;
        tenants::remove_member(db(ctx)?, scope, parse_user_id(&user_id)?).await?;
        Ok(user_id)
    }
}

/// Parses a user id argument; a malformed one is BAD_USER_INPUT.
pub fn parse_user_id(id: &ID) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{:?} is not a user id", id.0)))
}
