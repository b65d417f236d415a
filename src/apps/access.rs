//! Who may reach which app profiles. The registry takes a [`GlobalOperator`], an operator's
//! reads and bulk writes in its tenant take an [`Operator`] (never a user, even an admin: a
//! user never reads another user's app profile), and a user's own profiles take
//! [`OwnProfiles`]. The tenant-scoped capabilities come from [`crate::core::capabilities`].

use uuid::Uuid;

use crate::auth::SignedInUser;

pub use crate::core::{GlobalOperator, Operator};

/// The signed-in user's own app profiles, and nobody else's.
#[derive(Clone, Copy, Debug)]
pub struct OwnProfiles {
    user_id: Uuid,
}

impl OwnProfiles {
    /// The signed-in user's own profiles (operators have no user, so they cannot get one).
    pub fn of(user: &SignedInUser) -> OwnProfiles {
        OwnProfiles {
            user_id: user.user.id,
        }
    }

    /// The user whose profiles these are.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
}
