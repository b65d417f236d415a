//! `me`: the signed-in user's identity, tenants and roles.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::tenants::{Role, Tenant};
use crate::auth::{Session, SignedInUser};
use crate::users;

/// Queries about the caller.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The signed-in user: identity, primary tenant and every tenant with its role.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserProfile> {
        Ok(UserProfile(Session::of(ctx)?.user()?.clone()))
    }
}

/// The signed-in user's profile.
pub struct UserProfile(SignedInUser);

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
        ID(self.0.user.id.to_string())
    }

    /// Preferred username from the identity provider.
    async fn username(&self) -> Option<&str> {
        self.0.user.username.as_deref()
    }

    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.user.email.as_deref()
    }

    /// Whether the identity provider verified the email address.
    async fn email_verified(&self) -> bool {
        self.0.user.email_verified
    }

    /// Given name.
    async fn first_name(&self) -> Option<String> {
        users::first_name(&self.0.user)
    }

    /// Family name.
    async fn last_name(&self) -> Option<String> {
        users::last_name(&self.0.user)
    }

    /// Id of the primary tenant.
    async fn primary_tenant_id(&self) -> Option<ID> {
        self.0.primary().map(|m| ID(m.tenant.id.to_string()))
    }

    /// Name of the primary tenant.
    async fn primary_tenant_name(&self) -> Option<&str> {
        self.0.primary().map(|m| m.tenant.name.as_str())
    }

    /// The primary tenant.
    async fn primary_tenant(&self) -> Option<Tenant> {
        self.0.primary().map(|m| Tenant(m.tenant.clone()))
    }

    /// Every tenant of the user with the user's role there, primary first.
    async fn tenants(&self) -> Vec<TenantMembership> {
        self.0
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
        self.0
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
