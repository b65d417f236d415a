//! The multi-tenant `me` of the platform this service replaces, verbatim
//! (shared/seeds/004-multitenant-me-type.txt): its own small schema at `/compat/graphql`, so
//! its clients keep working unchanged while the main API keeps its own conventions. The values
//! come through the same session and access rule as the main `me`
//! ([`crate::profiles::identity`]); non-null fields the card leaves empty or hides read `""`.

use std::sync::Arc;

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::gate::{Gate, Gated};
use super::request_check::RequestCheck;
use super::{card_cache, db, registry};
use crate::auth::{Membership, SignedInUser};
use crate::config::Limits;
use crate::core::role_name;
use crate::error::Error;
use crate::fields::store::FieldRegistry;
use crate::profiles::cache::CardCache;
use crate::profiles::identity::{self, Identity};
use crate::session::Session;

/// The compatibility schema.
pub type CompatSchema = Gated<CompatQuery, EmptyMutation, EmptySubscription>;

/// Builds the compatibility schema over the same database and field registry as the main one,
/// behind the same request checks and limits.
pub fn schema(
    db: DatabaseConnection,
    registry: Arc<FieldRegistry>,
    cards: Arc<CardCache>,
    metrics: Arc<crate::metrics::Metrics>,
    limits: &Limits,
) -> CompatSchema {
    let build = |mode| {
        builder()
            .data(db.clone())
            .data(registry.clone())
            .data(cards.clone())
            .limit_depth(limits.query_depth)
            .limit_complexity(limits.query_complexity)
            .validation_mode(mode)
            .finish()
    };
    let gate = Gate::new(RequestCheck::new(limits), None, metrics);
    Gated::new(build, gate)
}

fn builder() -> async_graphql::SchemaBuilder<CompatQuery, EmptyMutation, EmptySubscription> {
    Schema::build(CompatQuery, EmptyMutation, EmptySubscription)
}

/// The SDL of the compatibility schema, as checked in at `compat.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The compatibility query root.
pub struct CompatQuery;

#[Object(name = "Query")]
impl CompatQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserProfile> {
        let session = Session::of(ctx)?;
        let user = session.user()?;
        let card = match session.member() {
            Ok(member) => {
                identity::own_card(db(ctx)?, registry(ctx)?, card_cache(ctx)?, &member, user)
                    .await?
            }
            Err(_) => None,
        };
        let identity = Identity::of(card.as_ref(), user);
        let primary = user
            .primary()
            .ok_or_else(|| Error::Forbidden("you are not a member of any tenant".into()))?;
        Ok(UserProfile::new(user, identity, primary))
    }
}

/// A user with their tenants and roles, field for field as documented.
#[derive(SimpleObject)]
#[graphql(name = "UserProfile")]
pub struct UserProfile {
    /// Internal user identifier.
    #[graphql(name = "UserID")]
    user_id: Uuid,
    /// Username (`preferred_username`); `""` when the card has none or hides it.
    #[graphql(name = "Username")]
    username: String,
    /// Email address; `""` when the card has none or hides it from its owner.
    #[graphql(name = "Email")]
    email: String,
    /// First name (`given_name`); `""` when empty or hidden.
    #[graphql(name = "FirstName")]
    first_name: String,
    /// Last name (`family_name`); `""` when empty or hidden.
    #[graphql(name = "LastName")]
    last_name: String,
    /// Primary tenant identifier.
    #[graphql(name = "TenantID")]
    tenant_id: Uuid,
    /// Name of the primary tenant.
    #[graphql(name = "TenantName")]
    tenant_name: String,
    /// Role-tenant tuples.
    #[graphql(name = "AssignedRoles", deprecation = "Use Tenants instead")]
    assigned_roles: Vec<UserRoleTuple>,
    /// Every tenant of the user, with the user's role there.
    #[graphql(name = "Tenants")]
    tenants: Vec<UserTenants>,
}

impl UserProfile {
    fn new(user: &SignedInUser, identity: Identity, primary: &Membership) -> UserProfile {
        UserProfile {
            user_id: user.user.id,
            username: identity.username.unwrap_or_default(),
            email: identity.email.unwrap_or_default(),
            first_name: identity.first_name.unwrap_or_default(),
            last_name: identity.last_name.unwrap_or_default(),
            tenant_id: primary.tenant.id,
            tenant_name: primary.tenant.name.clone(),
            assigned_roles: user.memberships.iter().map(UserRoleTuple::from).collect(),
            tenants: user.memberships.iter().map(UserTenants::from).collect(),
        }
    }
}

/// A role in a tenant.
#[derive(SimpleObject)]
#[graphql(name = "UserRoleTuple")]
pub struct UserRoleTuple {
    /// The role: `owner`, `admin` or `member`.
    #[graphql(name = "Role")]
    role: String,
    /// The tenant.
    #[graphql(name = "TenantID")]
    tenant_id: Uuid,
}

impl From<&Membership> for UserRoleTuple {
    fn from(membership: &Membership) -> Self {
        UserRoleTuple {
            role: role_name(membership.role).to_owned(),
            tenant_id: membership.tenant.id,
        }
    }
}

/// A tenant the user may access, with their role there.
#[derive(SimpleObject)]
#[graphql(name = "UserTenants")]
pub struct UserTenants {
    /// Tenant identifier.
    #[graphql(name = "ID")]
    id: Uuid,
    /// Tenant name.
    #[graphql(name = "Name")]
    name: String,
    /// The user's role there: `owner`, `admin` or `member`.
    #[graphql(name = "Role")]
    role: String,
}

impl From<&Membership> for UserTenants {
    fn from(membership: &Membership) -> Self {
        UserTenants {
            id: membership.tenant.id,
            name: membership.tenant.name.clone(),
            role: role_name(membership.role).to_owned(),
        }
    }
}
