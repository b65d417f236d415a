//! The directory: a tenant's cards in pages, for a card grid. Admins and operators list every
//! member; members only when the tenant opens its member directory. Pages use keyset cursors
//! (the sort value and the user id of the last card seen), so cards inserted or saved while a
//! client pages neither repeat nor push others out of its pages. The cards themselves are read
//! by the caller through `read_many`, as the viewer may see them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{membership, tenant};
use sea_orm::sea_query::{Expr, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    Order, PaginatorTrait, QueryFilter, QueryResult, QuerySelect, QueryTrait, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::{Member, Role};
use crate::error::{Error, Result};
use crate::fields::store::TenantFields;
use crate::fields::{FieldKind, Viewer, field_access};
use crate::users::names;

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
    /// The card's display name, folded (see [`names`]).
    DisplayName,
    /// A field's value saved on the card.
    Field {
        /// The field.
        id: Uuid,
        /// How its values compare.
        sort: FieldSort,
    },
}

/// How a sortable field's values compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldSort {
    /// Folded text (the value's search text): case and accents ignored.
    Text,
    /// ISO dates, as text.
    Date,
    /// Whole numbers.
    Integer,
    /// A SWITCH: off before on.
    Switch,
    /// Decimal numbers.
    Number,
}

impl FieldSort {
    /// How `kind` sorts; `None` for kinds with no useful order (long text, several choices,
    /// files and images).
    pub fn of(kind: FieldKind) -> Option<FieldSort> {
        use FieldKind::*;
        match kind {
            ShortText | Email | Phone | Url | Country | SingleChoice => Some(FieldSort::Text),
            Date => Some(FieldSort::Date),
            Integer => Some(FieldSort::Integer),
            Switch => Some(FieldSort::Switch),
            Number => Some(FieldSort::Number),
            LongText | MultiChoice | Image | File => None,
        }
    }
}

impl SortKey {
    /// The display-name order, when the viewer may read every field a display name is made
    /// of (else the order would give away a hidden name): FORBIDDEN naming the first it may not.
    pub fn display_name(viewer: &Member<'_>, fields: &TenantFields) -> Result<SortKey> {
        for key in names::NAME_KEYS {
            if let Some(field) = fields.by_key(key)
                && !field_access(field, viewer_class(viewer)).can_read()
            {
                return Err(Error::Forbidden(format!(
                    "orderBy: you may not read {key}, which display names are made of"
                )));
            }
        }
        Ok(SortKey::DisplayName)
    }

    /// The order by the field `key`: BAD_USER_INPUT for an unknown field or one of a kind that
    /// does not sort, FORBIDDEN naming a field the viewer may not read.
    pub fn field(viewer: &Member<'_>, fields: &TenantFields, key: &str) -> Result<SortKey> {
        let field = fields
            .by_key(key)
            .filter(|f| !f.is_archived())
            .ok_or_else(|| Error::bad_input(format!("orderBy: no field {key}")))?;
        if !field_access(field, viewer_class(viewer)).can_read() {
            return Err(Error::Forbidden(format!("orderBy: you may not read {key}")));
        }
        let sort = FieldSort::of(field.kind).ok_or_else(|| {
            Error::bad_input(format!(
                "orderBy: {key} is a {:?} field, which does not sort",
                field.kind
            ))
        })?;
        Ok(SortKey::Field { id: field.id, sort })
    }

    fn tag(self) -> String {
        match self {
            SortKey::Created => "c".into(),
            SortKey::Updated => "u".into(),
            SortKey::DisplayName => "n".into(),
            SortKey::Field { id, .. } => format!("f{}", id.simple()),
        }
    }

    /// Whether cards may lack a sort value (they come last, in both directions).
    fn nullable(self) -> bool {
        !matches!(self, SortKey::Created | SortKey::Updated)
    }

    /// The sort value of a `memberships` row.
    fn expr(self, backend: DbBackend) -> SimpleExpr {
        let on_membership = |column: membership::Column| Expr::col((membership::Entity, column));
        match self {
            SortKey::Created => on_membership(membership::Column::CreatedAt),
            SortKey::Updated => on_membership(membership::Column::UpdatedAt),
            SortKey::DisplayName => on_membership(membership::Column::SortName),
            SortKey::Field { id, sort } => {
                let postgres = backend == DbBackend::Postgres;
                let value = match (sort, postgres) {
                    (FieldSort::Text, _) => "fv.folded",
                    (FieldSort::Date, true) => {
                        "CASE WHEN jsonb_typeof(fv.value) = 'string' THEN fv.value #>> '{}' END"
                    }
                    (FieldSort::Date, false) => {
                        "CASE WHEN json_type(fv.value) = 'text' THEN json_extract(fv.value, '$') END"
                    }
                    (FieldSort::Integer, true) => {
                        "CASE WHEN jsonb_typeof(fv.value) = 'number' THEN (fv.value #>> '{}')::bigint END"
                    }
                    (FieldSort::Integer, false) => {
                        "CASE WHEN json_type(fv.value) = 'integer' THEN json_extract(fv.value, '$') END"
                    }
                    (FieldSort::Switch, true) => {
                        "CASE jsonb_typeof(fv.value) WHEN 'boolean' THEN (fv.value #>> '{}')::boolean::int::bigint END"
                    }
                    (FieldSort::Switch, false) => {
                        "CASE json_type(fv.value) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
                    }
                    (FieldSort::Number, true) => {
                        "CASE WHEN jsonb_typeof(fv.value) = 'number' THEN (fv.value #>> '{}')::float8 END"
                    }
                    (FieldSort::Number, false) => {
                        "CASE WHEN json_type(fv.value) IN ('integer', 'real') THEN CAST(json_extract(fv.value, '$') AS REAL) END"
                    }
                };
                let field = if postgres { "$1" } else { "?" };
                Expr::cust_with_values(
                    format!(
                        "(SELECT {value} FROM field_values fv WHERE fv.tenant_id = memberships.tenant_id \
                         AND fv.user_id = memberships.user_id AND fv.field_id = {field})"
                    ),
                    [id],
                )
            }
        }
    }

    /// Reads the sort value `expr` gave in column `s`.
    fn read(self, row: &QueryResult) -> Result<SortValue> {
        let value = match self {
            SortKey::Created | SortKey::Updated => {
                Some(SortValue::Time(row.try_get::<DateTime<Utc>>("", SORT)?))
            }
            SortKey::DisplayName
            | SortKey::Field {
                sort: FieldSort::Text | FieldSort::Date,
                ..
            } => row
                .try_get::<Option<String>>("", SORT)?
                .map(SortValue::Text),
            SortKey::Field {
                sort: FieldSort::Integer | FieldSort::Switch,
                ..
            } => row.try_get::<Option<i64>>("", SORT)?.map(SortValue::Int),
            SortKey::Field {
                sort: FieldSort::Number,
                ..
            } => row.try_get::<Option<f64>>("", SORT)?.map(SortValue::Num),
        };
        Ok(value.unwrap_or(SortValue::Missing))
    }

    /// Whether `value` can be a sort value of this key.
    fn admits(self, value: &SortValue) -> bool {
        match (self, value) {
            (SortKey::Created | SortKey::Updated, SortValue::Time(_)) => true,
            (SortKey::Created | SortKey::Updated, _) => false,
            (_, SortValue::Missing) => true,
            (SortKey::DisplayName, SortValue::Text(_)) => true,
            (SortKey::Field { sort, .. }, value) => matches!(
                (sort, value),
                (FieldSort::Text | FieldSort::Date, SortValue::Text(_))
                    | (FieldSort::Integer | FieldSort::Switch, SortValue::Int(_))
                    | (FieldSort::Number, SortValue::Num(_))
            ),
            _ => false,
        }
    }
}

/// The column the page query names the sort value.
const SORT: &str = "s";

/// How the viewer sees other members' cards.
fn viewer_class(viewer: &Member<'_>) -> Viewer {
    Viewer {
        is_owner: false,
        standing: viewer.standing(),
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

/// A card's sort value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum SortValue {
    #[serde(rename = "t")]
    Time(DateTime<Utc>),
    #[serde(rename = "s")]
    Text(String),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "n")]
    Num(f64),
    /// The card has none: it sorts after every card that has one.
    #[serde(rename = "m")]
    Missing,
}

impl SortValue {
    fn bound(&self) -> sea_orm::Value {
        match self {
            SortValue::Time(at) => (*at).into(),
            SortValue::Text(text) => text.clone().into(),
            SortValue::Int(n) => (*n).into(),
            SortValue::Num(n) => (*n).into(),
            SortValue::Missing => sea_orm::Value::String(None),
        }
    }
}

/// A position in a sort order: the sort value and user id of a card.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    key: SortKey,
    at: SortValue,
    user: Uuid,
}

/// A cursor as clients hold it (base64 of this JSON).
#[derive(Serialize, Deserialize)]
struct WireCursor {
    /// The order's tag.
    k: String,
    /// The sort value.
    v: SortValue,
    /// The user id.
    u: Uuid,
}

impl Cursor {
    /// The opaque text clients send back.
    pub fn encode(&self) -> String {
        let wire = WireCursor {
            k: self.key.tag(),
            v: self.at.clone(),
            u: self.user,
        };
        // Serializing plain data to JSON cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Reads a cursor given back for a page in `key` order; BAD_USER_INPUT when it is not one.
    pub fn decode(text: &str, key: SortKey) -> Result<Cursor> {
        let invalid = || Error::bad_input(format!("invalid cursor {:?}", truncated(text)));
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let wire: WireCursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if wire.k != key.tag() {
            return Err(Error::bad_input(
                "the cursor belongs to another order: page from the start",
            ));
        }
        if !key.admits(&wire.v) {
            return Err(invalid());
        }
        Ok(Cursor {
            key,
            at: wire.v,
            user: wire.u,
        })
    }
}

/// At most 40 characters of a client's text, for messages.
fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Which cards of the order a page holds.
#[derive(Clone, Debug)]
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

/// The two runs of an order: cards with a sort value, then cards without one (by user id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Valued,
    Missing,
}

/// The cards of the reader's tenant that meet `keep` (search and filters), in `window` of
/// `order`: one statement per run of the order the page reaches (cards without a sort value
/// form a second run, after the others in both directions), each served by a keyset index.
async fn page(
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
    let mut runs = match order.key.nullable() {
        true => vec![Run::Valued, Run::Missing],
        false => vec![Run::Valued],
    };
    if backward {
        runs.reverse();
    }
    let start = from.as_ref().map(|c| match c.at {
        SortValue::Missing => Run::Missing,
        _ => Run::Valued,
    });
    if let Some(start) = start {
        // Runs scanned before the cursor's run are behind it.
        while runs.first().is_some_and(|run| *run != start) {
            runs.remove(0);
        }
    }
    let backend = db.get_database_backend();
    let mut rows: Vec<(Uuid, SortValue)> = Vec::new();
    for run in runs {
        let wanted = count + 1 - rows.len() as u64;
        let cursor = from.as_ref().filter(|_| Some(run) == start);
        let scan = SortOrder {
            key: order.key,
            descending,
        };
        let statement = run_query(backend, reader, scan, run, cursor, keep, wanted);
        for row in db.query_all_raw(backend.build(&statement)).await? {
            let user: Uuid = row.try_get("", "user_id")?;
            rows.push((user, order.key.read(&row)?));
        }
        if rows.len() as u64 > count {
            break;
        }
    }
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

/// The statement reading up to `limit` cards of one run, past `cursor` when it lies in it.
fn run_query(
    backend: DbBackend,
    reader: &Reader<'_>,
    scan: SortOrder,
    run: Run,
    cursor: Option<&Cursor>,
    keep: &Condition,
    limit: u64,
) -> SelectStatement {
    let SortOrder { key, descending } = scan;
    let cards = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .expr_as(key.expr(backend), SORT)
        .filter(membership::Column::TenantId.eq(reader.member.tenant().id))
        .filter(keep.clone())
        .into_query();
    let (sort, user) = (Expr::col(SORT), Expr::col("user_id"));
    let mut query = Query::select();
    query
        .column("user_id")
        .column(SORT)
        .from_subquery(cards, "cards");
    let direction = if descending { Order::Desc } else { Order::Asc };
    match run {
        Run::Valued => {
            if key.nullable() {
                query.and_where(sort.clone().is_not_null());
            }
            if let Some(cursor) = cursor {
                // A row comparison, which both databases serve as one index range (the
                // spelled-out OR makes PostgreSQL read and sort everything past the value).
                let row = Expr::tuple([sort.clone(), user.clone()]);
                let at = Expr::tuple([Expr::val(cursor.at.bound()), Expr::val(cursor.user)]);
                query.and_where(match descending {
                    false => row.gt(at),
                    true => row.lt(at),
                });
            }
            query.order_by(SORT, direction.clone());
        }
        Run::Missing => {
            query.and_where(sort.is_null());
            if let Some(cursor) = cursor {
                query.and_where(match descending {
                    false => user.gt(cursor.user),
                    true => user.lt(cursor.user),
                });
            }
        }
    }
    query.order_by("user_id", direction).limit(limit);
    query.to_owned()
}

/// How long a PostgreSQL count of a search or filter may take before it gives way to a lower
/// bound (`limits.count_budget_ms`; none when zero): the matches of two common conditions (a
/// frequent name among the members of a large country) are few but costly to collect past the
/// page among a million cards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountBudget {
    /// Milliseconds; 0 for no bound.
    pub millis: u64,
}

/// A page of cards and, when `counted`, how many match: in one transaction whose statements
/// PostgreSQL plans for their own values (the generic plans it falls back to for prepared
/// statements ignore how common the searched text or filtered value is, and were ten times
/// slower at a million cards), the count of a search or filter bounded by `budget`.
pub async fn list(
    db: &DatabaseConnection,
    reader: &Reader<'_>,
    order: SortOrder,
    window: Window,
    keep: &Condition,
    counted: bool,
    budget: CountBudget,
) -> Result<(Page, Option<Total>)> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let txn = db.begin().await?;
    if postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    let page = page(&txn, reader, order, window, keep).await?;
    if !counted {
        txn.commit().await?;
        return Ok((page, None));
    }
    if postgres && !keep.is_empty() && budget.millis > 0 {
        let millis = budget.millis;
        txn.execute_unprepared(&format!("SET LOCAL statement_timeout = {millis}"))
            .await?;
    }
    match total(&txn, reader, keep).await {
        Ok(total) => {
            txn.commit().await?;
            Ok((page, Some(total)))
        }
        Err(Error::Timeout(_)) => {
            txn.rollback().await?;
            let seen = page.entries.len() as u64 + u64::from(page.has_next);
            let at_least = Total {
                count: seen,
                exact: false,
            };
            Ok((page, Some(at_least)))
        }
        Err(other) => Err(other),
    }
}

/// The most matches of a search or filter that are counted: counting every match of a common
/// text among a million cards would cost more than the page itself, and a grid shows "1 000+".
pub const COUNT_LIMIT: u64 = 1_000;

/// How many cards a directory query matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Total {
    /// The count: of every match; [`COUNT_LIMIT`] when more match a search or filter; or, when
    /// counting ran out of its budget, the matches the page saw.
    pub count: u64,
    /// Whether `count` is every match (else more match).
    pub exact: bool,
}

/// How many cards of the reader's tenant meet `keep` (search and filters): all of them when
/// nothing is kept out, else up to [`COUNT_LIMIT`].
async fn total(db: &impl ConnectionTrait, reader: &Reader<'_>, keep: &Condition) -> Result<Total> {
    let cards = membership::Entity::find()
        .filter(membership::Column::TenantId.eq(reader.member.tenant().id));
    if keep.is_empty() {
        let count = cards.count(db).await?;
        return Ok(Total { count, exact: true });
    }
    let matches = cards
        .filter(keep.clone())
        .select_only()
        .column(membership::Column::UserId)
        .limit(COUNT_LIMIT + 1)
        .into_query();
    let query = Query::select()
        .expr_as(Expr::cust("count(*)"), "n")
        .from_subquery(matches, "matches")
        .to_owned();
    let backend = db.get_database_backend();
    let count = match db.query_one_raw(backend.build(&query)).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    let count = u64::try_from(count).unwrap_or(0);
    Ok(Total {
        count: Ord::min(count, COUNT_LIMIT),
        exact: count <= COUNT_LIMIT,
    })
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor {
            key: SortKey::Updated,
            at: SortValue::Time(DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap()),
            user: Uuid::new_v4(),
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, SortKey::Updated).unwrap(), cursor);
        assert!(Cursor::decode(&text, SortKey::Created).is_err());
        let field = SortKey::Field {
            id: Uuid::new_v4(),
            sort: FieldSort::Number,
        };
        for at in [SortValue::Num(0.1 + 0.2), SortValue::Missing] {
            let cursor = Cursor {
                key: field,
                at,
                user: Uuid::new_v4(),
            };
            assert_eq!(Cursor::decode(&cursor.encode(), field).unwrap(), cursor);
            assert!(Cursor::decode(&cursor.encode(), SortKey::DisplayName).is_err());
        }
        // A value of the wrong type for the order, or a missing one where every card has one.
        for (key, at) in [
            (field, SortValue::Text("x".into())),
            (SortKey::Created, SortValue::Missing),
        ] {
            let text = Cursor {
                key,
                at,
                user: Uuid::new_v4(),
            }
            .encode();
            assert!(Cursor::decode(&text, key).is_err());
        }
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
