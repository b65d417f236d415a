//! GraphQL guards: they refuse before a resolver runs and show the rule on the schema. They
//! apply the same minting rule as the capabilities the resolvers then take, so both hold.

use async_graphql::{Context, Guard};
use entity::membership::Role;

use crate::core::Need;
use crate::session::Session;

/// Lets a field run only for callers with at least `min` in the active tenant (or operators
/// granted it): `#[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]`.
pub struct RoleGuard {
    need: Need,
}

impl RoleGuard {
    /// A guard requiring at least `min`.
    pub fn new(min: Role) -> Self {
        RoleGuard { need: min.into() }
    }

    /// A guard requiring an operator granted the active tenant.
    pub fn operator() -> Self {
        RoleGuard {
            need: Need::Operator,
        }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Session::of(ctx)?.active()?.check(self.need)?;
        Ok(())
    }
}

/// Lets a field run only for operators granted every tenant.
pub struct OperatorGuard;

impl Guard for OperatorGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Session::of(ctx)?.global_operator()?;
        Ok(())
    }
}
