//! `me`: the signed-in user's identity, tenants and roles.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};

use tokio::sync::OnceCell;

use super::profiles::ProfileView;
use super::tenants::{Role, Tenant};
use super::{Display, card_cache, db, registry};
use crate::auth::SignedInUser;
use crate::profiles::identity::{self, Identity};
use crate::profiles::{self, Card};
use crate::session::Session;

/// Queries about the caller.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The signed-in user: identity, primary tenant and every tenant with its role.
    async fn me<'a>(&self, ctx: &Context<'a>) -> async_graphql::Result<UserProfile<'a>> {
        Ok(UserProfile {
            user: Session::of(ctx)?.user()?,
            card: OnceCell::new(),
        })
    }
}

/// The signed-in user's profile, borrowed from the request's session.
pub struct UserProfile<'a> {
    user: &'a SignedInUser,
    /// The card in the active tenant, read once per request when a field needs it.
    card: OnceCell<Option<Arc<Card>>>,
}

impl UserProfile<'_> {
    /// The user's own card in the active tenant; `None` without one.
    async fn own_card(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&Arc<Card>>> {
        let card = self
            .card
            .get_or_try_init(|| async {
                let Ok(member) = Session::of(ctx)?.member() else {
                    return Ok::<_, crate::error::Error>(None);
                };
                let card = identity::own_card(
                    db(ctx)?,
                    registry(ctx)?,
                    card_cache(ctx)?,
                    &member,
                    self.user,
                )
                .await?;
                Ok(card.map(Arc::new))
            })
            .await?;
        Ok(card.as_ref())
    }

    /// The identity as the own card in the active tenant shows it (see [`Identity::of`]).
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Identity> {
        let card = self.own_card(ctx).await?.map(AsRef::as_ref);
        Ok(Identity::of(card, self.user))
    }
}

/// A tenant the user belongs to, with the user's role there.
#[derive(SimpleObject)]
pub struct TenantMembership {
    /// Tenant id.
    id: ID,
    /// Tenant slug.
    slug: String,
    /// Tenant name.
    name: String,
    /// The user's role in the tenant.
    role: Role,
    /// Whether it is the user's primary tenant.
    is_primary: bool,
}

/// A (role, tenant) pair, as the seed API listed them.
#[derive(SimpleObject)]
pub struct AssignedRole {
    /// The role.
    role: Role,
    /// Tenant id.
    tenant_id: ID,
    /// Tenant name.
    tenant_name: String,
}

#[Object]
impl UserProfile<'_> {
    /// Internal user id.
    async fn id(&self) -> ID {
        ID(self.user.user.id.to_string())
    }

    /// Preferred username (`preferred_username`), as on the card in the active tenant; null
    /// when that tenant hides the field from its owner, or to a non-member of that tenant.
    async fn username(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.identity(ctx).await?.username)
    }

    /// Email address (`email`), as on the card in the active tenant; null when that tenant
    /// hides the field from its owner, or to a non-member of that tenant.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.identity(ctx).await?.email)
    }

    /// Whether the email address is verified (`email_verified`), as on the card in the active
    /// tenant; null when that tenant hides the field from its owner, or to a non-member.
    async fn email_verified(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(self.identity(ctx).await?.email_verified)
    }

    /// Given name (`given_name`), as on the card in the active tenant (a member's edit wins
    /// over the identity provider's value); null when that tenant hides the field from its
    /// owner, or to a non-member of that tenant.
    async fn first_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.identity(ctx).await?.first_name)
    }

    /// Family name (`family_name`), as on the card in the active tenant; null when that tenant
    /// hides the field from its owner, or to a non-member of that tenant.
    async fn last_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.identity(ctx).await?.last_name)
    }

    /// The card in the active tenant, with labels in `locale` (else `Accept-Language`).
    async fn profile(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileView> {
        let member = Session::of(ctx)?.member()?;
        let card = match self.own_card(ctx).await? {
            Some(card) => card.clone(),
            None => Arc::new(
                profiles::read(db(ctx)?, registry(ctx)?, &member, self.user.user.id).await?,
            ),
        };
        Ok(ProfileView {
            card,
            display: Display::of(ctx, locale.as_deref(), &member.tenant().default_locale),
        })
    }

    /// Id of the primary tenant.
    async fn primary_tenant_id(&self) -> Option<ID> {
        self.user.primary().map(|m| ID(m.tenant.id.to_string()))
    }

    /// Name of the primary tenant.
    async fn primary_tenant_name(&self) -> Option<&str> {
        self.user.primary().map(|m| m.tenant.name.as_str())
    }

    /// The primary tenant.
    async fn primary_tenant(&self) -> Option<Tenant> {
        self.user.primary().map(|m| Tenant(m.tenant.clone()))
    }

    /// Every tenant of the user with the user's role there, primary first.
    async fn tenants(&self) -> Vec<TenantMembership> {
        self.user
            .memberships
            .iter()
            .map(|m| TenantMembership {
                id: ID(m.tenant.id.to_string()),
                slug: m.tenant.slug.clone(),
                name: m.tenant.name.clone(),
                role: m.role.into(),
                is_primary: m.is_primary,
            })
            .collect()
    }

    /// Role-tenant pairs of the user.
    #[graphql(deprecation = "use `tenants { id name role }`")]
    async fn assigned_roles(&self) -> Vec<AssignedRole> {
        self.user
            .memberships
            .iter()
            .map(|m| AssignedRole {
                role: m.role.into(),
                tenant_id: ID(m.tenant.id.to_string()),
                tenant_name: m.tenant.name.clone(),
            })
            .collect()
    }
}
