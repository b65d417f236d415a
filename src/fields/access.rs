//! The one access rule: what a viewer may do with a field of a card. Every path that reads or
//! writes card values (me, profile, userinfo, files, and later directory, federation and
//! subscriptions) calls [`field_access`].

use entity::membership::Role;

use crate::auth::session::TenantAccess;

text_enum!(
    /// An access level, weakest first.
    Access {
        /// Not shown at all: absent from responses, not null.
        Hidden = "HIDDEN",
        /// Shown, not editable.
        Read = "READ",
        /// Shown and editable.
        Edit = "EDIT",
    }
);

/// Who looks at a card, relative to its owner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewer {
    /// Whether the viewer owns the card.
    pub is_owner: bool,
    /// The viewer's standing in the card's tenant.
    pub standing: TenantAccess,
}

/// What `viewer` may do with a field: operators everything; the card's owner what
/// `owner_access` says; admins (and tenant owners) what `admin_access` says; other members
/// what `member_access` says. A viewer who is both the card's owner and an admin gets the
/// stronger of the two.
/// Archived fields are hidden from everyone; their values are kept for a restore.
pub fn field_access(field: &super::FieldDefinition, viewer: Viewer) -> Access {
    if field.is_archived() {
        return Access::Hidden;
    }
    let as_admin = match viewer.standing {
        TenantAccess::Operator => return Access::Edit,
        TenantAccess::Member(role) if role.includes(Role::Admin) => Some(field.admin_access),
        TenantAccess::Member(_) => None,
    };
    let as_person = if viewer.is_owner {
        field.owner_access
    } else {
        field.member_access
    };
    as_admin.map_or(as_person, |admin| admin.max(as_person))
}

impl Access {
    /// Whether the value may be read.
    pub fn can_read(self) -> bool {
        self != Access::Hidden
    }

    /// Whether the value may be changed.
    pub fn can_edit(self) -> bool {
        self == Access::Edit
    }
}
