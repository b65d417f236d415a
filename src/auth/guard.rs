//! The GraphQL guard that checks the caller's role in the active tenant.

use async_graphql::{Context, Guard};
use entity::membership::Role;

use super::session::Session;

/// Lets a field run only for callers with at least `min` in the active tenant (or operators
/// granted it): `#[graphql(guard = "RoleGuard::new(Role::Admin)")]`.
pub struct RoleGuard {
    min: Role,
}

impl RoleGuard {
    /// A guard requiring at least `min`.
    pub fn new(min: Role) -> Self {
        RoleGuard { min }
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        Session::of(ctx)?.require(self.min)?;
        Ok(())
    }
}

/// Lets a field run only for operators granted every tenant.
pub struct OperatorGuard;

impl Guard for OperatorGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if Session::of(ctx)?.principal()?.is_global_operator() {
            return Ok(());
        }
        Err(crate::error::Error::Forbidden(
            "this needs an operator token granted every tenant".into(),
        )
        .into())
    }
}
