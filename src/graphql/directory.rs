//! The directory: `profiles`, a Relay connection over the active tenant's cards.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Json, SimpleObject};
use entity::membership::Role;
use sea_orm::Condition;
use serde_json::Value;

use super::guard::RoleGuard;
use super::loaders::Loaders;
use super::profiles::ProfileView;
use super::tenants::Role as RoleInput;
use super::{Display, db, registry};
use crate::core::Member;
use crate::error::Error;
use crate::fields::store::TenantFields;
use crate::profiles::directory::{self, SortKey, SortOrder, Window};
use crate::profiles::filter::{FieldTest, Filter, Test};
use crate::profiles::search::Matching;
use crate::session::Session;

/// What the directory is sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSortKey {
    /// When the member joined the tenant.
    Created,
    /// The card's last save.
    Updated,
    /// The display name (`name`, else given and family name, else username), ignoring case
    /// and accents. Needs read access to those fields.
    DisplayName,
    /// The value of the field named by `field` saved on the card: texts ignoring case and
    /// accents, numbers, dates, switches (off first). Long texts, multiple choices, images and
    /// files do not sort.
    Field,
}

/// A sort order of the directory; ties are broken by user id. Cards without a sort value
/// (no display name, no value in the field) come last, in both directions.
#[derive(InputObject)]
pub struct ProfileOrder {
    /// What to sort by.
    key: ProfileSortKey,
    /// The field's key, with `key: FIELD` (and only then).
    field: Option<String>,
    /// Largest first.
    #[graphql(default)]
    descending: bool,
}

impl ProfileOrder {
    fn domain(
        order: Option<ProfileOrder>,
        member: &Member<'_>,
        fields: &TenantFields,
    ) -> Result<SortOrder, Error> {
        let Some(order) = order else {
            return Ok(SortOrder {
                key: SortKey::Created,
                descending: false,
            });
        };
        let key = match (order.key, order.field) {
            (ProfileSortKey::Field, Some(field)) => SortKey::field(member, fields, &field)?,
            (ProfileSortKey::Field, None) => {
                return Err(Error::bad_input("orderBy: key FIELD needs a field"));
            }
            (_, Some(_)) => {
                return Err(Error::bad_input("orderBy: field goes with key FIELD only"));
            }
            (ProfileSortKey::Created, None) => SortKey::Created,
            (ProfileSortKey::Updated, None) => SortKey::Updated,
            (ProfileSortKey::DisplayName, None) => SortKey::display_name(member, fields)?,
        };
        Ok(SortOrder {
            key,
            descending: order.descending,
        })
    }
}

/// What the directory keeps: all of the conditions given.
#[derive(InputObject)]
pub struct ProfileFilter {
    /// Members with one of these roles.
    roles: Option<Vec<RoleInput>>,
    /// Tests on field values, all of which must pass.
    fields: Option<Vec<FieldFilter>>,
}

/// A test on one field's value: exactly one of its tests.
#[derive(InputObject)]
pub struct FieldFilter {
    /// The field's key.
    key: String,
    /// The value equals this (in the field kind's form: text, number, boolean, option value).
    equals: Option<Json<Value>>,
    /// The value is one of these.
    one_of: Option<Vec<Json<Value>>>,
    /// The card has a value (true) or none (false).
    is_set: Option<bool>,
    /// NUMBER, INTEGER, DATE: at least this.
    min: Option<Json<Value>>,
    /// NUMBER, INTEGER, DATE: at most this.
    max: Option<Json<Value>>,
    /// MULTI_CHOICE: holds at least one of these options.
    contains_any: Option<Vec<String>>,
    /// MULTI_CHOICE: holds every one of these options.
    contains_all: Option<Vec<String>>,
}

impl FieldFilter {
    fn domain(self) -> Result<FieldTest, Error> {
        let FieldFilter {
            key,
            equals,
            one_of,
            is_set,
            min,
            max,
            contains_any,
            contains_all,
        } = self;
        let range = (min.is_some() || max.is_some()).then(|| Test::Range {
            min: min.map(|j| j.0),
            max: max.map(|j| j.0),
        });
        let tests: Vec<Test> = [
            equals.map(|j| Test::OneOf(vec![j.0])),
            one_of.map(|all| Test::OneOf(all.into_iter().map(|j| j.0).collect())),
            is_set.map(Test::IsSet),
            range,
            contains_any.map(Test::ContainsAny),
            contains_all.map(Test::ContainsAll),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[Test; 1]>::try_from(tests) {
            Ok([test]) => Ok(FieldTest { key, test }),
            Err(_) => Err(Error::bad_input(format!(
                "filter on {key}: give exactly one test (min and max together count as one)"
            ))),
        }
    }
}

impl ProfileFilter {
    fn domain(self) -> Result<Filter, Error> {
        let fields = self.fields.unwrap_or_default();
        Ok(Filter {
            roles: self
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            fields: fields
                .into_iter()
                .map(FieldFilter::domain)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Totals of a directory query.
#[derive(SimpleObject)]
pub struct ProfileTotals {
    /// How many cards the query matches, over every page. A search or filter counts at most
    /// 1 000 matches (when more match, this is 1 000), and on PostgreSQL for at most
    /// `limits.count_budget_ms` (then this is what the page saw); `totalCountExact` tells.
    total_count: u64,
    /// Whether `totalCount` counts every match (false: it is a lower bound).
    total_count_exact: bool,
}

/// A page of the directory.
pub type ProfileConnection = Connection<String, ProfileView, ProfileTotals, EmptyFields>;

/// Directory queries.
#[derive(Default)]
pub struct DirectoryQuery;

#[async_graphql::Object]
impl DirectoryQuery {
    /// The cards of the active tenant, a page at a time (at most 100), each as the caller may
    /// see it: admins and operators list every member; members only while the tenant's member
    /// directory is open, with the fields member access lets them read. `search` matches, by
    /// substring and ignoring case and accents, the text-like values the caller may read.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    #[allow(clippy::too_many_arguments)]
    async fn profiles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        order_by: Option<ProfileOrder>,
        search: Option<String>,
        filter: Option<ProfileFilter>,
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileConnection> {
        let member = Session::of(ctx)?.member()?;
        let db = db(ctx)?;
        let reader = directory::reader(db, &member).await?;
        let fields = registry(ctx)?.of_tenant(db, member.tenant().id).await?;
        let order = ProfileOrder::domain(order_by, &member, &fields)?;
        let window = Window::from_relay(order, first, after.as_deref(), last, before.as_deref())?;
        let mut keep = match filter {
            Some(filter) => {
                filter
                    .domain()?
                    .condition(&member, &fields, db.get_database_backend())?
            }
            None => Condition::all(),
        };
        if let Some(text) = search
            && let Some(matching) =
                Matching::new(&member, &fields, &text, db.get_database_backend())?
        {
            keep = keep.add(matching.condition());
        }
        let look_ahead = ctx.look_ahead();
        let counted = ["totalCount", "totalCountExact"]
            .iter()
            .any(|field| look_ahead.field(field).exists());
        let budget = *super::context_data::<directory::CountBudget>(ctx)?;
        let (page, total) =
            directory::list(db, &reader, order, window, &keep, counted, budget).await?;
        let total = total.unwrap_or(directory::Total {
            count: 0,
            exact: true,
        });
        let loaders = super::context_data::<Loaders>(ctx)?;
        let mut cards = loaders
            .cards
            .load_many(page.entries.iter().map(|e| e.user_id))
            .await?;
        let display = Display::of(ctx, locale.as_deref(), &member.tenant().default_locale);
        let mut connection = Connection::with_additional_fields(
            page.has_previous,
            page.has_next,
            ProfileTotals {
                total_count: total.count,
                total_count_exact: total.exact,
            },
        );
        // A member removed between the page and the card reads is left out.
        connection.edges = page
            .entries
            .into_iter()
            .filter_map(|entry| {
                let card = cards.remove(&entry.user_id)?;
                let node = ProfileView {
                    card: Arc::new(card),
                    display: display.clone(),
                };
                Some(Edge::new(entry.cursor.encode(), node))
            })
            .collect();
        Ok(connection)
    }
}
