//! Who may reach which app profiles, as capabilities: the domain functions take one of these,
//! and the only way to get one is through its check.

use uuid::Uuid;

use crate::auth::session::TenantAccess;
use crate::auth::{Actor, Principal, Session, TenantScope};
use crate::error::{Error, Result};

/// The right to manage the app registry. Apps are global, so only operators granted every
/// tenant hold it.
#[derive(Clone, Debug)]
pub struct RegistryAdmin {
    actor: Actor,
}

impl RegistryAdmin {
    /// The caller's right to manage apps, or FORBIDDEN.
    pub fn of(session: &Session) -> Result<RegistryAdmin> {
        let principal = session.principal()?;
        if principal.is_global_operator() {
            return Ok(RegistryAdmin {
                actor: principal.actor(),
            });
        }
        Err(Error::Forbidden(
            "managing apps needs an operator token granted every tenant".into(),
        ))
    }

    /// Who is acting.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// The signed-in user's own app profiles, and nobody else's.
#[derive(Clone, Copy, Debug)]
pub struct OwnProfiles {
    user_id: Uuid,
}

impl OwnProfiles {
    /// The caller's own profiles; operators have none (FORBIDDEN).
    pub fn of(session: &Session) -> Result<OwnProfiles> {
        Ok(OwnProfiles {
            user_id: session.user()?.user.id,
        })
    }

    /// The user whose profiles these are.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
}

/// An operator acting in its active tenant: it may reach the app profiles of that tenant's
/// members, checked per user by the functions that take this.
#[derive(Clone, Copy, Debug)]
pub struct TenantProfiles<'a> {
    scope: &'a TenantScope,
}

impl<'a> TenantProfiles<'a> {
    /// The operator's reach in the active tenant (`X-Tenant-Id`); FORBIDDEN for users, even
    /// admins, since a user never reads another user's app profile.
    pub fn of(session: &'a Session) -> Result<TenantProfiles<'a>> {
        if !matches!(session.principal()?, Principal::Operator(_)) {
            return Err(Error::Forbidden(
                "other users' app profiles are only for operators".into(),
            ));
        }
        let scope = session.active()?;
        match scope.access {
            TenantAccess::Operator => Ok(TenantProfiles { scope }),
            TenantAccess::Member(_) => Err(Error::Forbidden(
                "other users' app profiles are only for operators".into(),
            )),
        }
    }

    /// The active tenant and the acting operator.
    pub fn scope(&self) -> &TenantScope {
        self.scope
    }
}
