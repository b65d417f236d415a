//! The one access rule: what a viewer may do with a field of a card. Every path that reads or
//! writes card values (me, profile, userinfo, files, and later directory, federation and
//! subscriptions) calls [`field_access`].

use crate::core::{Role, Standing};

pub use entity::field_definition::Access;

/// Who looks at a card, relative to its owner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewer {
    /// Whether the viewer owns the card.
    pub is_owner: bool,
    /// The viewer's standing in the card's tenant.
    pub standing: Standing,
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
        Standing::Operator => return Access::Edit,
        standing if standing.includes(Role::Admin) => Some(field.access.admin),
        Standing::Member(_) => None,
    };
    let as_person = if viewer.is_owner {
        field.access.owner
    } else {
        field.access.member
    };
    as_admin.map_or(as_person, |admin| admin.max(as_person))
}

/// Whether the list of definitions shows `field` to a caller of `standing`: admins (and
/// operators) see every field, archived ones only on request; members see the fields they can
/// read on their own card, so the list never reveals a field hidden from them.
pub fn is_listed(
    field: &super::FieldDefinition,
    standing: Standing,
    include_archived: bool,
) -> bool {
    if standing.includes(Role::Admin) {
        return include_archived || !field.is_archived();
    }
    let own_card = Viewer {
        is_owner: true,
        standing: Standing::Member(Role::Member),
    };
    field_access(field, own_card).can_read()
}

/// The three access levels of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessLevels {
    /// The card owner's.
    pub owner: Access,
    /// Other members'.
    pub member: Access,
    /// Admins'.
    pub admin: Access,
}

impl AccessLevels {
    /// The levels of a new field, with the defaults for those its creator leaves out: the
    /// owner and admins edit, other members read.
    pub fn or_defaults(
        owner: Option<Access>,
        member: Option<Access>,
        admin: Option<Access>,
    ) -> Self {
        AccessLevels {
            owner: owner.unwrap_or(Access::Edit),
            member: member.unwrap_or(Access::Read),
            admin: admin.unwrap_or(Access::Edit),
        }
    }
}
