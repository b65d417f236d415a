//! The bottom layer: types every other module shares and that depend on nothing above them —
//! roles, actors, identifiers and the capabilities domain functions take.

pub mod capabilities;
pub mod fold;
pub mod ident;

use uuid::Uuid;

pub use capabilities::{
    Admin, GlobalOperator, Member, Need, Operator, Owner, Standing, TenantScope,
};
pub use entity::field_definition::{Access, FieldKind};
pub use entity::membership::Role;
pub use ident::FieldKey;

/// Who made a change, as recorded in audit events and `updated_by`.
#[derive(Clone, Debug, PartialEq)]
pub enum Actor {
    /// A user, by internal id.
    User(Uuid),
    /// An operator, by client id.
    Operator(String),
    /// Sign-in applying an identity provider's tenant claim, by issuer.
    SignIn(String),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Operator(client) => write!(f, "operator:{client}"),
            Actor::SignIn(issuer) => write!(f, "signin:{issuer}"),
        }
    }
}

/// The lower-case name of a role, as in claims and messages.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
    }
}
