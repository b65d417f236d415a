//! The directory: `profiles`, a Relay connection over the active tenant's cards.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, SimpleObject};
use entity::membership::Role;

use super::guard::RoleGuard;
use super::loaders::Loaders;
use super::profiles::ProfileView;
use super::{Display, db, registry};
use crate::profiles::directory::{self, SortKey, SortOrder, Window};
use crate::profiles::search::Matching;
use crate::session::Session;

/// What the directory is sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSortKey {
    /// When the member joined the tenant.
    Created,
    /// The card's last save.
    Updated,
}

/// A sort order of the directory; ties are broken by user id.
#[derive(InputObject)]
pub struct ProfileOrder {
    /// What to sort by.
    key: ProfileSortKey,
    /// Largest first.
    #[graphql(default)]
    descending: bool,
}

impl ProfileOrder {
    fn domain(order: Option<ProfileOrder>) -> SortOrder {
        let Some(order) = order else {
            return SortOrder {
                key: SortKey::Created,
                descending: false,
            };
        };
        let key = match order.key {
            ProfileSortKey::Created => SortKey::Created,
            ProfileSortKey::Updated => SortKey::Updated,
        };
        SortOrder {
            key,
            descending: order.descending,
        }
    }
}

/// Totals of a directory query.
#[derive(SimpleObject)]
pub struct ProfileTotals {
    /// How many cards the query matches, over every page.
    total_count: u64,
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
        locale: Option<String>,
    ) -> async_graphql::Result<ProfileConnection> {
        let member = Session::of(ctx)?.member()?;
        let db = db(ctx)?;
        let reader = directory::reader(db, &member).await?;
        let order = ProfileOrder::domain(order_by);
        let window = Window::from_relay(order, first, after.as_deref(), last, before.as_deref())?;
        let fields = registry(ctx)?.of_tenant(db, member.tenant().id).await?;
        let search = match search {
            Some(text) => Matching::new(&member, &fields, &text)?,
            None => None,
        };
        let page = directory::page(db, &reader, order, window, search.as_ref()).await?;
        let total_count = match ctx.look_ahead().field("totalCount").exists() {
            true => directory::total(db, &reader, search.as_ref()).await?,
            false => 0,
        };
        let loaders = super::context_data::<Loaders>(ctx)?;
        let mut cards = loaders
            .cards
            .load_many(page.entries.iter().map(|e| e.user_id))
            .await?;
        let display = Display::of(ctx, locale.as_deref(), &member.tenant().default_locale);
        let mut connection = Connection::with_additional_fields(
            page.has_previous,
            page.has_next,
            ProfileTotals { total_count },
        );
        // A member removed between the page and the card reads is left out.
        connection.edges = page
            .entries
            .into_iter()
            .filter_map(|entry| {
                let card = cards.remove(&entry.user_id)?;
                let node = ProfileView {
                    card,
                    display: display.clone(),
                };
                Some(Edge::new(entry.cursor.encode(), node))
            })
            .collect();
        Ok(connection)
    }
}
