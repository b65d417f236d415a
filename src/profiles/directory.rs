//! The directory: a tenant's cards in pages, for a card grid. Admins and operators list every
//! member; members only when the tenant opens its member directory. Pages use keyset cursors
//! (the sort value and the user id of the last card seen), so cards inserted or saved while a
//! client pages neither repeat nor push others out of its pages. The cards themselves are read
//! by the caller through `read_many`, as the viewer may see them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{membership, tenant};
use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::core::{Member, Role};
use crate::error::{Error, Result};

/// The most cards one page holds.
pub const MAX_PAGE: u64 = 100;

/// A page's size when the client names none.
pub const DEFAULT_PAGE: u64 = 20;

/// Proof that the caller may list the active tenant's cards: an admin (or operator), or a
/// member while the tenant's member directory is open.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    member: Member<'a>,
}

impl<'a> Reader<'a> {
    /// The capability the cards are read with.
    pub fn member(&self) -> &Member<'a> {
        &self.member
    }
}

/// Mints a [`Reader`]. The setting is read from the database, not from the session's tenant
/// row, so closing the directory takes effect on the next request everywhere.
pub async fn reader<'a>(db: &impl ConnectionTrait, member: &Member<'a>) -> Result<Reader<'a>> {
    if member.standing().includes(Role::Admin) {
        return Ok(Reader { member: *member });
    }
    let tenant = member.tenant();
    let open = tenant::Entity::find_by_id(tenant.id)
        .select_only()
        .column(tenant::Column::MemberDirectory)
        .into_tuple::<bool>()
        .one(db)
        .await?
        .unwrap_or(false);
    if !open {
        return Err(Error::Forbidden(format!(
            "the member directory of tenant {} is closed; an admin can open it",
            tenant.slug
        )));
    }
    Ok(Reader { member: *member })
}

/// What cards are sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// When the member joined the tenant.
    Created,
    /// The card's last save.
    Updated,
}

impl SortKey {
    fn column(self) -> membership::Column {
        match self {
            SortKey::Created => membership::Column::CreatedAt,
            SortKey::Updated => membership::Column::UpdatedAt,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            SortKey::Created => "c",
            SortKey::Updated => "u",
        }
    }
}

/// A sort order: a key and a direction; the user id breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortOrder {
    /// What to sort by.
    pub key: SortKey,
    /// Whether the largest comes first.
    pub descending: bool,
}

/// A position in a sort order: the sort value and user id of a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    key: SortKey,
    at: DateTime<Utc>,
    user: Uuid,
}

impl Cursor {
    /// The opaque text clients send back.
    pub fn encode(&self) -> String {
        let text = format!(
            "1|{}|{}|{}|{}",
            self.key.tag(),
            self.at.timestamp(),
            self.at.timestamp_subsec_nanos(),
            self.user
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a cursor given back for a page in `key` order; BAD_USER_INPUT when it is not one.
    pub fn decode(text: &str, key: SortKey) -> Result<Cursor> {
        let invalid = || Error::bad_input(format!("invalid cursor {:?}", truncated(text)));
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let parts: Vec<&str> = text.split('|').collect();
        let [version, tag, seconds, nanos, user] = parts[..] else {
            return Err(invalid());
        };
        if version != "1" {
            return Err(invalid());
        }
        if tag != key.tag() {
            return Err(Error::bad_input(
                "the cursor belongs to another order: page from the start",
            ));
        }
        let at = seconds
            .parse()
            .ok()
            .zip(nanos.parse().ok())
            .and_then(|(s, n)| DateTime::from_timestamp(s, n))
            .ok_or_else(invalid)?;
        let user = Uuid::parse_str(user).map_err(|_| invalid())?;
        Ok(Cursor { key, at, user })
    }
}

/// At most 40 characters of a client's text, for messages.
fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Which cards of the order a page holds.
#[derive(Clone, Copy, Debug)]
pub enum Window {
    /// The first `count` cards after `after` (or from the start).
    First {
        /// How many.
        count: u64,
        /// Exclusive start.
        after: Option<Cursor>,
    },
    /// The last `count` cards before `before` (or up to the end).
    Last {
        /// How many.
        count: u64,
        /// Exclusive end.
        before: Option<Cursor>,
    },
}

impl Window {
    /// The window the Relay arguments ask for: `first` with `after`, or `last` with `before`;
    /// BAD_USER_INPUT for mixes, negative counts and counts over [`MAX_PAGE`].
    pub fn from_relay(
        order: SortOrder,
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> Result<Window> {
        let count = |n: i32| match u64::try_from(n) {
            Ok(n) if n <= MAX_PAGE => Ok(n),
            _ => Err(Error::bad_input(format!(
                "first and last take 0 to {MAX_PAGE}, not {n}"
            ))),
        };
        let cursor = |c: Option<&str>| c.map(|c| Cursor::decode(c, order.key)).transpose();
        let backward = last.is_some() || before.is_some();
        if backward && (first.is_some() || after.is_some()) {
            return Err(Error::bad_input(
                "page forward (first, after) or backward (last, before), not both",
            ));
        }
        Ok(match backward {
            false => Window::First {
                count: first.map_or(Ok(DEFAULT_PAGE), count)?,
                after: cursor(after)?,
            },
            true => Window::Last {
                count: last.map_or(Ok(DEFAULT_PAGE), count)?,
                before: cursor(before)?,
            },
        })
    }
}

/// One card of a page.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The card's owner.
    pub user_id: Uuid,
    /// The card's position, for `after`/`before`.
    pub cursor: Cursor,
}

/// A page of cards, in order.
#[derive(Clone, Debug)]
pub struct Page {
    /// The cards.
    pub entries: Vec<Entry>,
    /// Whether cards follow the page.
    pub has_next: bool,
    /// Whether cards precede the page.
    pub has_previous: bool,
}

/// The cards of the reader's tenant that meet `keep` (search and filters), in `window` of `order`: one statement.
pub async fn page(
    db: &impl ConnectionTrait,
    reader: &Reader<'_>,
    order: SortOrder,
    window: Window,
    keep: &Condition,
) -> Result<Page> {
    let (count, from, backward) = match window {
        Window::First { count, after } => (count, after, false),
        Window::Last { count, before } => (count, before, true),
    };
    // Backward pages scan the order reversed, then put the cards back in order.
    let descending = order.descending != backward;
    let column = order.key.column();
    let mut query = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .column(column)
        .filter(membership::Column::TenantId.eq(reader.member.tenant().id));
    if let Some(from) = from {
        query = query.filter(beyond(column, &from, descending));
    }
    query = query.filter(keep.clone());
    let direction = if descending { Order::Desc } else { Order::Asc };
    let mut rows: Vec<(Uuid, DateTime<Utc>)> = query
        .order_by(column, direction.clone())
        .order_by(membership::Column::UserId, direction)
        .limit(count + 1)
        .into_tuple()
        .all(db)
        .await?;
    let more = rows.len() as u64 > count;
    rows.truncate(count as usize);
    if backward {
        rows.reverse();
    }
    let entries = rows
        .into_iter()
        .map(|(user_id, at)| Entry {
            user_id,
            cursor: Cursor {
                key: order.key,
                at,
                user: user_id,
            },
        })
        .collect();
    let (has_next, has_previous) = match backward {
        false => (more, from.is_some()),
        true => (from.is_some(), more),
    };
    Ok(Page {
        entries,
        has_next,
        has_previous,
    })
}

/// Cards strictly past `cursor` in the scan direction.
fn beyond(column: membership::Column, cursor: &Cursor, descending: bool) -> sea_orm::Condition {
    let user = membership::Column::UserId;
    let past = match descending {
        false => column
            .gt(cursor.at)
            .or(column.eq(cursor.at).and(user.gt(cursor.user))),
        true => column
            .lt(cursor.at)
            .or(column.eq(cursor.at).and(user.lt(cursor.user))),
    };
    past.into_condition()
}

/// How many cards of the reader's tenant meet `keep` (search and filters).
pub async fn total(
    db: &impl ConnectionTrait,
    reader: &Reader<'_>,
    keep: &Condition,
) -> Result<u64> {
    let mut query = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(reader.member.tenant().id));
    query = query.filter(keep.clone());
    Ok(query.count(db).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor {
            key: SortKey::Updated,
            at: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
            user: Uuid::new_v4(),
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, SortKey::Updated).unwrap(), cursor);
        assert!(Cursor::decode(&text, SortKey::Created).is_err());
        for junk in ["", "!!", "MXx1fDF8Mnx4", "\0", &"é".repeat(10_000)] {
            assert!(Cursor::decode(junk, SortKey::Updated).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn relay_arguments_pick_one_direction_within_bounds() {
        let order = SortOrder {
            key: SortKey::Created,
            descending: false,
        };
        let window = |f, l| Window::from_relay(order, f, None, l, None);
        assert!(matches!(
            window(None, None).unwrap(),
            Window::First {
                count: DEFAULT_PAGE,
                after: None
            }
        ));
        assert!(matches!(
            window(None, Some(5)).unwrap(),
            Window::Last {
                count: 5,
                before: None
            }
        ));
        assert!(window(Some(1), Some(1)).is_err());
        assert!(window(Some(-1), None).is_err());
        assert!(window(Some(101), None).is_err());
        assert!(window(Some(100), None).is_ok());
    }
}
