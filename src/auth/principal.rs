//! The authenticated caller of a request: a signed-in user with memberships, or an operator.

use entity::membership::{self, Role};
use entity::{tenant, user};
use uuid::Uuid;

use super::tokens::TenantGrants;
pub use crate::core::Actor;

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A person (boxed: the user row makes it much larger than an operator).
    User(Box<SignedInUser>),
    /// A service account.
    Operator(Operator),
}

/// A person, with every tenant they belong to.
#[derive(Clone, Debug)]
pub struct SignedInUser {
    /// The user row.
    pub user: user::Model,
    /// Memberships with their tenants, primary first.
    pub memberships: Vec<Membership>,
}

/// One membership of a signed-in user.
#[derive(Clone, Debug)]
pub struct Membership {
    /// The tenant.
    pub tenant: tenant::Model,
    /// The user's role there.
    pub role: Role,
    /// Whether it is the user's primary tenant.
    pub is_primary: bool,
    /// The membership row, which also heads the user's card in the tenant (its version).
    pub row: membership::Model,
}

/// A service account acting through the admin API.
#[derive(Clone, Debug)]
pub struct Operator {
    /// The OAuth2 client id.
    pub client_id: String,
    /// The tenants it may act in.
    pub grants: TenantGrants,
}

impl SignedInUser {
    /// The primary membership, if the user belongs to any tenant.
    pub fn primary(&self) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.is_primary)
            .or(self.memberships.first())
    }

    /// The membership in the tenant named by `id_or_slug`.
    pub fn membership(&self, id_or_slug: &str) -> Option<&Membership> {
        let id = Uuid::parse_str(id_or_slug).ok();
        self.memberships
            .iter()
            .find(|m| Some(m.tenant.id) == id || m.tenant.slug == id_or_slug)
    }
}

impl Principal {
    /// The actor recorded for changes this principal makes.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User(u) => Actor::User(u.user.id),
            Principal::Operator(o) => Actor::Operator(o.client_id.clone()),
        }
    }

    /// Whether this is an operator granted every tenant: the one global-operator rule, behind
    /// [`super::Session::global_operator`].
    pub fn is_global_operator(&self) -> bool {
        matches!(self, Principal::Operator(o) if o.grants == TenantGrants::All)
    }
}
