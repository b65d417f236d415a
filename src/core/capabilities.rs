//! Capabilities: proof that the caller's standing in the active tenant was checked. Domain
//! functions take the capability they need (`tenants::change_role(&Owner, …)`), so code that
//! has not checked cannot call them. They are minted here and only here, from the
//! [`TenantScope`] the session resolved; their fields are private.
//!
//! Each capability implies the lower ones through `Deref`: an [`Operator`] is an [`Owner`] is
//! an [`Admin`] is a [`Member`], so `&owner` passes where `&Admin` is asked for.

use std::ops::Deref;

use entity::tenant;
use uuid::Uuid;

use super::{Actor, Role, role_name};
use crate::error::{Error, Result};

/// The caller's standing in a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Standing {
    /// A member with a role.
    Member(Role),
    /// An operator granted the tenant: full access.
    Operator,
}

impl Standing {
    /// Whether this standing has at least the rights of `role`; operators have every role's.
    pub fn includes(self, role: Role) -> bool {
        match self {
            Standing::Member(own) => own.includes(role),
            Standing::Operator => true,
        }
    }
}

/// A tenant-scoped capability a caller may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any member.
    Member,
    /// An admin or owner.
    Admin,
    /// An owner.
    Owner,
    /// An operator granted the tenant (never a user, whatever the role).
    Operator,
}

impl From<Role> for Need {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => Need::Member,
            Role::Admin => Need::Admin,
            Role::Owner => Need::Owner,
        }
    }
}

/// The one minting rule: whether `standing` earns `need`.
pub fn grants(standing: Standing, need: Need) -> bool {
    match need {
        Need::Member => standing.includes(Role::Member),
        Need::Admin => standing.includes(Role::Admin),
        Need::Owner => standing.includes(Role::Owner),
        Need::Operator => standing == Standing::Operator,
    }
}

/// The active tenant of a request and the caller's standing in it, as the session resolved
/// them. Capabilities are minted from it after a check.
#[derive(Clone, Debug)]
pub struct TenantScope {
    tenant: tenant::Model,
    standing: Standing,
    actor: Actor,
}

impl TenantScope {
    /// A resolved scope. Only the session calls this, after it has found the caller's
    /// membership in `tenant` (or the operator's grant of it).
    pub(crate) fn resolved(tenant: tenant::Model, standing: Standing, actor: Actor) -> Self {
        TenantScope {
            tenant,
            standing,
            actor,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &tenant::Model {
        &self.tenant
    }

    /// The caller's standing in it.
    pub fn standing(&self) -> Standing {
        self.standing
    }

    /// Who is acting.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Any member (or an operator granted the tenant).
    pub fn member(&self) -> Result<Member<'_>> {
        self.check(Need::Member)?;
        Ok(Member { scope: self })
    }

    /// An admin or owner (or an operator granted the tenant).
    pub fn admin(&self) -> Result<Admin<'_>> {
        self.check(Need::Admin)?;
        Ok(Admin(Member { scope: self }))
    }

    /// An owner (or an operator granted the tenant).
    pub fn owner(&self) -> Result<Owner<'_>> {
        self.check(Need::Owner)?;
        Ok(Owner(Admin(Member { scope: self })))
    }

    /// An operator granted the tenant.
    pub fn operator(&self) -> Result<Operator<'_>> {
        self.check(Need::Operator)?;
        Ok(Operator(Owner(Admin(Member { scope: self }))))
    }

    /// Checks `need` without keeping the capability (guards, which refuse before a resolver
    /// runs, use this; it is the same rule the minting functions apply).
    pub fn check(&self, need: Need) -> Result<()> {
        if grants(self.standing, need) {
            return Ok(());
        }
        let slug = &self.tenant.slug;
        Err(Error::Forbidden(match need {
            Need::Member => format!("you have no access to tenant {slug}"),
            Need::Admin => format!(
                "this needs the {} role in tenant {slug}",
                role_name(Role::Admin)
            ),
            Need::Owner => format!(
                "this needs the {} role in tenant {slug}",
                role_name(Role::Owner)
            ),
            Need::Operator => format!("this is for operators granted tenant {slug} only"),
        }))
    }
}

/// A member of the active tenant (any role), or an operator granted it.
#[derive(Clone, Copy, Debug)]
pub struct Member<'a> {
    scope: &'a TenantScope,
}

impl<'a> Member<'a> {
    /// The active tenant.
    pub fn tenant(&self) -> &'a tenant::Model {
        &self.scope.tenant
    }

    /// Who is acting.
    pub fn actor(&self) -> &'a Actor {
        &self.scope.actor
    }

    /// The caller's standing in the tenant.
    pub fn standing(&self) -> Standing {
        self.scope.standing
    }

    /// The scope the capability was minted from.
    pub fn scope(&self) -> &'a TenantScope {
        self.scope
    }

    /// The acting user, whose own card this capability reaches; operators have none.
    pub fn user_id(&self) -> Result<Uuid> {
        match &self.scope.actor {
            Actor::User(id) => Ok(*id),
            Actor::Operator(_) | Actor::SignIn(_) => Err(Error::Forbidden(
                "this is about the signed-in user's own card; operator tokens have none".into(),
            )),
        }
    }
}

/// An admin (or owner) of the active tenant, or an operator granted it.
#[derive(Clone, Copy, Debug)]
pub struct Admin<'a>(Member<'a>);

/// An owner of the active tenant, or an operator granted it.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a>(Admin<'a>);

/// An operator granted the active tenant.
#[derive(Clone, Copy, Debug)]
pub struct Operator<'a>(Owner<'a>);

impl<'a> Deref for Admin<'a> {
    type Target = Member<'a>;
    fn deref(&self) -> &Member<'a> {
        &self.0
    }
}

impl<'a> Deref for Owner<'a> {
    type Target = Admin<'a>;
    fn deref(&self) -> &Admin<'a> {
        &self.0
    }
}

impl<'a> Deref for Operator<'a> {
    type Target = Owner<'a>;
    fn deref(&self) -> &Owner<'a> {
        &self.0
    }
}

/// An operator granted every tenant: manages what belongs to no tenant (tenants, apps).
#[derive(Clone, Debug)]
pub struct GlobalOperator {
    actor: Actor,
}

impl GlobalOperator {
    /// Mints the capability for `actor` if it is an operator granted every tenant. Only the
    /// session calls this, with what the caller's token grants.
    pub(crate) fn mint(actor: Actor, granted_every_tenant: bool) -> Result<GlobalOperator> {
        if granted_every_tenant && matches!(actor, Actor::Operator(_)) {
            return Ok(GlobalOperator { actor });
        }
        Err(Error::Forbidden(
            "this needs an operator token granted every tenant".into(),
        ))
    }

    /// Who is acting.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(standing: Standing) -> TenantScope {
        let tenant = tenant::Model {
            id: Uuid::nil(),
            slug: "acme".into(),
            name: "Acme".into(),
            default_locale: "en".into(),
            enabled_locales: serde_json::json!(["en"]),
            created_at: chrono::Utc::now(),
            member_directory: false,
        };
        let actor = match standing {
            Standing::Operator => Actor::Operator("ops".into()),
            Standing::Member(_) => Actor::User(Uuid::nil()),
        };
        TenantScope::resolved(tenant, standing, actor)
    }

    fn minted(scope: &TenantScope, need: Need) -> bool {
        match need {
            Need::Member => scope.member().is_ok(),
            Need::Admin => scope.admin().is_ok(),
            Need::Owner => scope.owner().is_ok(),
            Need::Operator => scope.operator().is_ok(),
        }
    }

    #[test]
    fn each_standing_gets_exactly_its_capabilities() {
        use Need as N;
        let member = Standing::Member(Role::Member);
        let admin = Standing::Member(Role::Admin);
        let owner = Standing::Member(Role::Owner);
        let operator = Standing::Operator;
        #[rustfmt::skip]
        let table = [
            // standing   Member  Admin  Owner  Operator
            (member,   [true,  false, false, false]),
            (admin,    [true,  true,  false, false]),
            (owner,    [true,  true,  true,  false]),
            (operator, [true,  true,  true,  true ]),
        ];
        for (standing, expected) in table {
            let scope = scope(standing);
            for (need, granted) in [N::Member, N::Admin, N::Owner, N::Operator]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(
                    minted(&scope, need),
                    granted,
                    "{standing:?} asking {need:?}"
                );
                assert_eq!(
                    scope.check(need).is_ok(),
                    granted,
                    "{standing:?} checking {need:?}"
                );
            }
        }
    }

    #[test]
    fn a_refusal_is_forbidden() {
        let scope = scope(Standing::Member(Role::Admin));
        let error = scope.owner().map(|_| ()).expect_err("an admin is no owner");
        assert!(matches!(error, Error::Forbidden(_)));
    }

    #[test]
    fn higher_capabilities_give_the_lower_ones() {
        let scope = scope(Standing::Operator);
        let operator = scope.operator().expect("operators are operators");
        let owner: &Owner<'_> = &operator;
        let admin: &Admin<'_> = owner;
        let member: &Member<'_> = admin;
        assert_eq!(member.tenant().slug, "acme");
        assert_eq!(member.actor(), &Actor::Operator("ops".into()));
        assert!(member.user_id().is_err(), "operators have no own card");
    }

    #[test]
    fn only_operators_granted_every_tenant_are_global_operators() {
        let operator = Actor::Operator("ops".into());
        assert!(GlobalOperator::mint(operator.clone(), true).is_ok());
        assert!(GlobalOperator::mint(operator, false).is_err());
        assert!(GlobalOperator::mint(Actor::User(Uuid::nil()), true).is_err());
    }
}
