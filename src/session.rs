//! The per-request session: the principal and the active tenant, resolved once per request.

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::auth::{Actor, Operator, Principal, SignedInUser};
use crate::core::capabilities::{self as caps, GlobalOperator, Standing, TenantScope};
use crate::error::Error;
use crate::ratelimit::Caller;

/// What a request may do, handed to resolvers through the GraphQL context. It resolves the
/// active tenant once and mints capabilities from it on request (see [`crate::core::capabilities`]).
pub struct Session {
    principal: Option<Principal>,
    active: Result<TenantScope, Error>,
}

impl Session {
    /// A session without credentials.
    pub fn anonymous() -> Session {
        Session {
            principal: None,
            active: Err(unauthenticated()),
        }
    }

    /// Resolves the active tenant (`X-Tenant-Id`, else the primary tenant) for `principal`.
    pub async fn resolve(
        db: &DatabaseConnection,
        principal: Principal,
        requested_tenant: Option<&str>,
    ) -> Result<Session, Error> {
        let active = match &principal {
            Principal::User(user) => user_scope(user, requested_tenant),
            Principal::Operator(operator) => {
                operator_scope(db, operator, principal.actor(), requested_tenant).await?
            }
        };
        Ok(Session {
            principal: Some(principal),
            active,
        })
    }

    /// The session of the current GraphQL request.
    pub fn of<'a>(ctx: &Context<'a>) -> Result<&'a Session, Error> {
        ctx.data::<Session>()
            .map_err(|_| Error::internal(anyhow::anyhow!("no session in the GraphQL context")))
    }

    /// The caller, or UNAUTHENTICATED.
    pub fn principal(&self) -> Result<&Principal, Error> {
        self.principal.as_ref().ok_or_else(unauthenticated)
    }

    /// Whose rate-limit budgets this session spends: its principal's (a costly operation
    /// needs one, so anonymous sessions have none).
    pub fn caller(&self) -> Result<Caller, Error> {
        Ok(match self.principal()? {
            Principal::User(user) => Caller::Principal(format!("user {}", user.user.id)),
            Principal::Operator(operator) => {
                Caller::Principal(format!("operator {}", operator.client_id))
            }
        })
    }

    /// The signed-in person; operators have no card of their own and get FORBIDDEN.
    pub fn user(&self) -> Result<&SignedInUser, Error> {
        match self.principal()? {
            Principal::User(user) => Ok(user),
            Principal::Operator(_) => Err(Error::Forbidden(
                "this field is about the signed-in user; operator tokens have none".into(),
            )),
        }
    }

    /// The caller's scope in a tenant other than (or equal to) the active one, for resources
    /// that name their tenant themselves (file URLs).
    pub async fn scope_in(
        &self,
        db: &DatabaseConnection,
        tenant_id: uuid::Uuid,
    ) -> Result<TenantScope, Error> {
        let wanted = tenant_id.to_string();
        match self.principal()? {
            Principal::User(user) => user_scope(user, Some(&wanted)),
            principal @ Principal::Operator(operator) => {
                operator_scope(db, operator, principal.actor(), Some(&wanted)).await?
            }
        }
    }

    /// The active tenant, whatever the caller's role there.
    pub fn active(&self) -> Result<&TenantScope, Error> {
        self.active.as_ref().map_err(Clone::clone)
    }

    /// A member of the active tenant (any role), or an operator granted it; FORBIDDEN otherwise.
    pub fn member(&self) -> Result<caps::Member<'_>, Error> {
        self.active()?.member()
    }

    /// An admin or owner of the active tenant, or an operator granted it.
    pub fn admin(&self) -> Result<caps::Admin<'_>, Error> {
        self.active()?.admin()
    }

    /// An owner of the active tenant, or an operator granted it.
    pub fn owner(&self) -> Result<caps::Owner<'_>, Error> {
        self.active()?.owner()
    }

    /// An operator granted the active tenant.
    pub fn operator(&self) -> Result<caps::Operator<'_>, Error> {
        self.active()?.operator()
    }

    /// An operator granted every tenant; the one rule for the registry and tenant creation,
    /// used by the GraphQL operator guard too.
    pub fn global_operator(&self) -> Result<GlobalOperator, Error> {
        let principal = self.principal()?;
        GlobalOperator::mint(principal.actor(), principal.is_global_operator())
    }
}

/// An operator's scope; the outer error is a database failure, the inner one a refusal.
async fn operator_scope(
    db: &DatabaseConnection,
    operator: &Operator,
    actor: Actor,
    requested: Option<&str>,
) -> Result<Result<TenantScope, Error>, Error> {
    let Some(wanted) = requested else {
        return Ok(Err(Error::bad_input(
            "operators must name the tenant in the X-Tenant-Id header",
        )));
    };
    Ok(match crate::tenants::find(db, wanted).await? {
        Some(tenant) if operator.grants.covers(&tenant.slug) => {
            Ok(TenantScope::resolved(tenant, Standing::Operator, actor))
        }
        _ => Err(not_member(wanted)),
    })
}

fn user_scope(user: &SignedInUser, requested: Option<&str>) -> Result<TenantScope, Error> {
    let membership = match requested {
        Some(wanted) => user.membership(wanted).ok_or_else(|| not_member(wanted))?,
        None => user
            .primary()
            .ok_or_else(|| Error::Forbidden("you are not a member of any tenant".into()))?,
    };
    Ok(TenantScope::resolved(
        membership.tenant.clone(),
        Standing::Member(membership.role),
        Actor::User(user.user.id),
    ))
}

fn not_member(tenant: &str) -> Error {
    // Same answer whether the tenant exists or not, so tenants cannot be enumerated.
    Error::Forbidden(format!("you have no access to tenant {tenant}"))
}

fn unauthenticated() -> Error {
    Error::Unauthenticated("sign in first: send a bearer token in the Authorization header".into())
}
