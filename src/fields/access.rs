//! The one access rule: what a viewer may do with a field of a card. Every path that reads or
//! writes card values (me, profile, userinfo, files, and later directory, federation and
//! subscriptions) calls [`field_access`].

use crate::core::{Role, Standing};

pub use entity::field_definition::Access;

/// Who looks at a card, relative to its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::fields::{FieldDefinition, FieldKey, FieldKind, FieldSpec};

    fn field(owner: Access, member: Access, admin: Access, archived: bool) -> FieldDefinition {
        FieldDefinition {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            spec: FieldSpec {
                key: FieldKey::parse("x").unwrap(),
                kind: FieldKind::ShortText,
                labels: Default::default(),
                help: Default::default(),
                options: Vec::new(),
                rules: Default::default(),
                required: false,
                access: AccessLevels {
                    owner,
                    member,
                    admin,
                },
            },
            position: 0,
            builtin: false,
            archived_at: archived.then(chrono::Utc::now),
            version: 1,
        }
    }

    use Access::{Edit as E, Hidden as H, Read as R};
    const MEMBER: Standing = Standing::Member(Role::Member);
    const ADMIN: Standing = Standing::Member(Role::Admin);
    const OWNER: Standing = Standing::Member(Role::Owner);
    const OPERATOR: Standing = Standing::Operator;

    #[test]
    fn the_access_function_follows_the_table() {
        // (owner, member, admin access), archived, viewer standing, viewer owns the card → access
        #[rustfmt::skip]
        let table = [
            ((E, R, E), false, MEMBER,   true,  E), // own card: owner access
            ((H, R, E), false, MEMBER,   true,  H), // hidden from the owner, whatever members see
            ((R, R, E), false, MEMBER,   false, R), // another member: member access
            ((E, H, E), false, MEMBER,   false, H), // hidden from other members
            ((E, H, R), false, ADMIN,    false, R), // admins: admin access
            ((E, H, E), false, OWNER,    false, E), // tenant owners count as admins
            ((E, R, R), false, ADMIN,    true,  E), // an admin on their own card: the stronger
            ((H, H, R), false, ADMIN,    true,  R), // ... of owner and admin access
            ((H, H, R), false, OPERATOR, false, E), // operators: everything
            ((E, R, E), true,  MEMBER,   true,  H), // archived: hidden from everyone
            ((E, R, E), true,  ADMIN,    false, H),
            ((E, R, E), true,  OPERATOR, false, H),
        ];
        for ((owner, member, admin), archived, standing, is_owner, expected) in table {
            let field = field(owner, member, admin, archived);
            let viewer = Viewer { is_owner, standing };
            assert_eq!(
                field_access(&field, viewer),
                expected,
                "{owner:?}/{member:?}/{admin:?} archived={archived} {standing:?} owner={is_owner}"
            );
        }
    }

    #[test]
    fn members_list_only_the_fields_they_can_read_on_their_own_card() {
        #[rustfmt::skip]
        let table = [
            ((E, R, E), false, MEMBER, false, true),
            ((H, R, E), false, MEMBER, false, false), // hidden from owners: not listed to members
            ((H, H, E), false, ADMIN,  false, true),  // admins list every field
            ((E, R, E), true,  ADMIN,  false, false), // archived: only on request
            ((E, R, E), true,  ADMIN,  true,  true),
            ((E, R, E), true,  MEMBER, true,  false), // members never see archived fields
        ];
        for ((owner, member, admin), archived, standing, include_archived, expected) in table {
            let field = field(owner, member, admin, archived);
            assert_eq!(
                is_listed(&field, standing, include_archived),
                expected,
                "{owner:?}/{member:?}/{admin:?} archived={archived} {standing:?}"
            );
        }
    }
}
