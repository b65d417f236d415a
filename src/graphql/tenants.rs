//! Tenants and memberships: the active tenant, its members, and owners' management.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::membership::Role as DbRole;
use entity::tenant;
use uuid::Uuid;

use super::guard::{OperatorGuard, RoleGuard};
use super::loaders::Loaders;
use super::profiles::ProfileView;
use super::{Display, db, events, registry};
use crate::core::Admin;
use crate::error::Error;
use crate::profiles::{self, CardNames};
use crate::session::Session;
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

    /// Whether members may list the tenant's cards (`profiles`), seeing what member access lets
    /// them read; admins always may.
    async fn member_directory(&self) -> bool {
        self.0.member_directory
    }
}

/// A member of the active tenant.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Member {
    #[graphql(skip)]
    id: Uuid,
    /// User id.
    user_id: ID,
    /// Preferred username.
    username: Option<String>,
    /// Email address.
    email: Option<String>,
    /// Given name, as on the member's card.
    first_name: Option<String>,
    /// Family name, as on the member's card.
    last_name: Option<String>,
    /// Role in the tenant.
    role: Role,
}

impl Member {
    fn new(m: DomainMember, names: CardNames) -> Self {
        Member {
            id: m.user.id,
            user_id: ID(m.user.id.to_string()),
            first_name: names.given_name,
            last_name: names.family_name,
            username: m.user.username,
            email: m.user.email,
            role: m.role.into(),
        }
    }
}

#[ComplexObject]
impl Member {
    /// The member's card as the caller may see it, with labels in `locale` (else
    /// `Accept-Language`); the cards of a whole list are read in one batch.
    async fn card(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileView> {
        let member = Session::of(ctx)?.member()?;
        let loaders = super::context_data::<Loaders>(ctx)?;
        let card = loaders.cards.load_one(self.id).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "no member {} in tenant {}",
                self.id,
                member.tenant().slug
            ))
        })?;
        Ok(ProfileView {
            card: std::sync::Arc::new(card),
            display: Display::of(ctx, locale.as_deref(), &member.tenant().default_locale),
        })
    }
}

/// Members with the names their cards show the admin.
async fn members_out(
    ctx: &Context<'_>,
    admin: &Admin<'_>,
    members: Vec<DomainMember>,
) -> async_graphql::Result<Vec<Member>> {
    let users: Vec<_> = members.iter().map(|m| m.user.clone()).collect();
    if ctx.look_ahead().field("card").exists() {
        // One batch for every card the list shows, read before the per-member resolvers ask.
        let loaders = super::context_data::<Loaders>(ctx)?;
        loaders.cards.load_many(users.iter().map(|u| u.id)).await?;
    }
    let mut names = profiles::names(db(ctx)?, registry(ctx)?, admin, &users).await?;
    Ok(members
        .into_iter()
        .map(|m| {
            let names = names.remove(&m.user.id).unwrap_or_default();
            Member::new(m, names)
        })
        .collect())
}

async fn member_out(
    ctx: &Context<'_>,
    admin: &Admin<'_>,
    member: DomainMember,
) -> async_graphql::Result<Member> {
    let mut out = members_out(ctx, admin, vec![member]).await?;
    out.pop()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("a member was lost")).into())
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
        Ok(Tenant(Session::of(ctx)?.member()?.tenant().clone()))
    }

    /// Every member of the active tenant with their role (admins).
    #[graphql(guard = "RoleGuard::new(DbRole::Admin)", tag = "admin")]
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Member>> {
        let admin = Session::of(ctx)?.admin()?;
        let members = tenants::members(db(ctx)?, &admin).await?;
        members_out(ctx, &admin, members).await
    }
}

/// Tenant and membership mutations.
#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates a tenant (operators granted every tenant).
    #[graphql(guard = "OperatorGuard", tag = "admin")]
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<Tenant> {
        let operator = Session::of(ctx)?.global_operator()?;
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
        Ok(Tenant(tenants::create(db(ctx)?, &operator, new).await?))
    }

    /// Renames the active tenant (admins).
    #[graphql(guard = "RoleGuard::new(DbRole::Admin)", tag = "admin")]
    async fn rename_tenant(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<Tenant> {
        let admin = Session::of(ctx)?.admin()?;
        Ok(Tenant(tenants::rename(db(ctx)?, &admin, &name).await?))
    }

    /// Opens or closes the active tenant's member directory (admins).
    #[graphql(guard = "RoleGuard::new(DbRole::Admin)", tag = "admin")]
    async fn set_member_directory(
        &self,
        ctx: &Context<'_>,
        enabled: bool,
    ) -> async_graphql::Result<Tenant> {
        let admin = Session::of(ctx)?.admin()?;
        let updated = tenants::set_member_directory(db(ctx)?, &admin, enabled).await?;
        Ok(Tenant(updated))
    }

    /// Adds a user who has signed in before to the active tenant (owners).
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)", tag = "admin")]
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<Member> {
        let owner = Session::of(ctx)?.owner()?;
        let member = tenants::add_member(
            db(ctx)?,
            events(ctx)?,
            &owner,
            parse_user_id(&user_id)?,
            role.into(),
        );
        member_out(ctx, &owner, member.await?).await
    }

    /// Changes a member's role (owners); the last owner cannot be demoted.
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)", tag = "admin")]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<Member> {
        let owner = Session::of(ctx)?.owner()?;
        let member = tenants::change_role(
            db(ctx)?,
            events(ctx)?,
            &owner,
            parse_user_id(&user_id)?,
            role.into(),
        );
        member_out(ctx, &owner, member.await?).await
    }

    /// Removes a member from the active tenant (owners); the last owner cannot be removed.
    /// Returns the removed user's id.
    #[graphql(guard = "RoleGuard::new(DbRole::Owner)", tag = "admin")]
    async fn remove_member(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<ID> {
        let owner = Session::of(ctx)?.owner()?;
        tenants::remove_member(db(ctx)?, events(ctx)?, &owner, parse_user_id(&user_id)?).await?;
        Ok(user_id)
    }
}

/// Parses a user id argument; a malformed one is BAD_USER_INPUT.
pub fn parse_user_id(id: &ID) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::bad_input(format!("{:?} is not a user id", id.0)))
}
