//! `me`: the signed-in user's identity, tenants and roles.

use async_graphql::{Context, ID, Object, SimpleObject};

use tokio::sync::OnceCell;

use super::profiles::ProfileView;
use super::tenants::{Role, Tenant};
use super::{Display, db, registry};
use crate::auth::SignedInUser;
use crate::fields::FieldValue;
use crate::fields::builtin;
use crate::profiles::{self, Card};
use crate::session::Session;

/// Queries about the caller.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The signed-in user: identity, primary tenant and every tenant with its role.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserProfile> {
        Ok(UserProfile {
            user: Session::of(ctx)?.user()?.clone(),
            card: OnceCell::new(),
        })
    }
}

/// The signed-in user's profile.
pub struct UserProfile {
    user: SignedInUser,
    /// The card in the active tenant, read once per request when a field needs it.
    card: OnceCell<Option<Card>>,
}

impl UserProfile {
    /// The user's own card in the active tenant; `None` without one.
    async fn own_card(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&Card>> {
        let card = self
            .card
            .get_or_try_init(|| async {
                let Ok(member) = Session::of(ctx)?.member() else {
                    return Ok::<_, crate::error::Error>(None);
                };
                let Some(membership) = self.user.membership(&member.tenant().slug) else {
                    return Ok(None);
                };
                let (row, user) = (membership.row.clone(), self.user.user.clone());
                Ok(Some(
                    profiles::read_loaded(db(ctx)?, registry(ctx)?, &member, row, user).await?,
                ))
            })
            .await?;
        Ok(card.as_ref())
    }

    /// A text value exactly as the own card in the active tenant shows it: `None` when the
    /// field is hidden from its owner there, or empty, or when the caller is not a member of
    /// the active tenant (a foreign `X-Tenant-Id`). A user of no tenant at all, whom no
    /// tenant's rule covers, sees the identity provider's value.
    async fn card_value(
        &self,
        ctx: &Context<'_>,
        key: &str,
    ) -> async_graphql::Result<Option<FieldValue>> {
        let Some(card) = self.own_card(ctx).await? else {
            if self.user.memberships.is_empty() {
                return Ok(builtin::provider_field_value(&self.user.user, key));
            }
            return Ok(None);
        };
        Ok(card
            .values
            .iter()
            .find(|v| v.field.key.as_str() == key)
            .and_then(|v| v.value.clone()))
    }

    async fn card_text(
        &self,
        ctx: &Context<'_>,
        key: &str,
    ) -> async_graphql::Result<Option<String>> {
        let value = self.card_value(ctx, key).await?;
        Ok(value
            .as_ref()
            .and_then(FieldValue::as_text)
            .map(str::to_owned))
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
impl UserProfile {
    /// Internal user id.
    async fn id(&self) -> ID {
        ID(self.user.user.id.to_string())
    }

    /// Preferred username (`preferred_username`), as on the card in the active tenant; null
    /// when that tenant hides the field from its owner, or to a non-member of that tenant.
    async fn username(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        self.card_text(ctx, "preferred_username").await
    }

    /// Email address (`email`), as on the card in the active tenant; null when that tenant
    /// hides the field from its owner, or to a non-member of that tenant.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        self.card_text(ctx, "email").await
    }

    /// Whether the email address is verified (`email_verified`), as on the card in the active
    /// tenant; null when that tenant hides the field from its owner, or to a non-member.
    async fn email_verified(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(match self.card_value(ctx, "email_verified").await? {
            Some(FieldValue::Bool(verified)) => Some(verified),
            _ => None,
        })
    }

    /// Given name (`given_name`), as on the card in the active tenant (a member's edit wins
    /// over the identity provider's value); null when that tenant hides the field from its
    /// owner, or to a non-member of that tenant.
    async fn first_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        self.card_text(ctx, "given_name").await
    }

    /// Family name (`family_name`), as on the card in the active tenant; null when that tenant
    /// hides the field from its owner, or to a non-member of that tenant.
    async fn last_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        self.card_text(ctx, "family_name").await
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
            None => profiles::read(db(ctx)?, registry(ctx)?, &member, self.user.user.id).await?,
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
