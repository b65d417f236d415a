//! The card grid (`/admin/people`): a tile per member of the active tenant with avatar, name,
//! role and a few fields; search as you type, a role filter and filters by field value, a page
//! at a time, through the same directory functions as GraphQL's `profiles` (admins see
//! everyone; members only while the tenant's member directory is open).

mod filters;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use entity::membership::Role;
use sea_orm::sea_query::Condition;
use serde::Deserialize;
use uuid::Uuid;

use self::filters::{FieldFilters, FilterControl};
use super::card::role_text;
use super::controls::{self, Labels};
use super::i18n::Texts;
use super::visit::Visit;
use super::{Chrome, refused, render, signed_in, to_sign_in};
use crate::AppState;
use crate::error::Result;
use crate::fields::labels::{self, Preferences};
use crate::fields::{FieldKind, FieldValue};
use crate::profiles::directory::{self, SortKey, SortOrder, Window};
use crate::profiles::filter::Filter;
use crate::profiles::search::Matching;
use crate::profiles::{self, Card};
use crate::session::Session;

/// Cards per page.
const PAGE: i32 = 24;
/// Fields a tile shows besides the name.
const TILE_FIELDS: usize = 3;
/// Keys a tile leaves out: the name is the title, the avatar the picture.
const NOT_ON_TILES: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "avatar",
    "picture",
];

/// What the grid is asked for.
#[derive(Debug, Default, Deserialize)]
pub struct GridQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    after: Option<String>,
    before: Option<String>,
}

/// The role filter's choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleChoice {
    All,
    One(Role),
}

impl RoleChoice {
    fn parse(text: &str) -> RoleChoice {
        match text {
            "owner" => RoleChoice::One(Role::Owner),
            "admin" => RoleChoice::One(Role::Admin),
            "member" => RoleChoice::One(Role::Member),
            _ => RoleChoice::All,
        }
    }
}

/// One tile.
pub struct Tile {
    /// Where the tile leads.
    pub href: String,
    /// The display name.
    pub name: String,
    /// The role, in the visit's language.
    pub role: String,
    /// The avatar thumbnail's URL.
    pub avatar: Option<String>,
    /// A few (label, value) pairs.
    pub facts: Vec<(String, String)>,
}

/// An option of the role filter.
pub struct RoleOption {
    /// Form value.
    pub value: &'static str,
    /// Text.
    pub label: String,
    /// Whether it is the current filter.
    pub selected: bool,
}

/// The whole grid page.
#[derive(Template)]
#[template(path = "people.html")]
struct GridPage<'a> {
    chrome: Chrome<'a>,
    t: &'a Texts,
    q: String,
    roles: Vec<RoleOption>,
    filters: Vec<FilterControl>,
    tiles: Vec<Tile>,
    next: Option<String>,
    previous: Option<String>,
}

/// The tiles alone, as the search box and the paging links swap them in.
#[derive(Template)]
#[template(path = "tiles.html")]
struct TilesFragment<'a> {
    t: &'a Texts,
    tiles: Vec<Tile>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /admin/people`: the grid page, or only its tiles for htmx.
pub async fn grid(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    headers: HeaderMap,
    Query(query): Query<GridQuery>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let Some(session) = signed_in(&visit) else {
        return to_sign_in();
    };
    let filters = FieldFilters::from_query(&params);
    let found = match search(&state, &visit, session, &query, &filters).await {
        Ok(found) => found,
        Err(error) => return refused(&state, &visit, error),
    };
    let t = state.web.catalogue.texts(visit.lang);
    if headers.get("hx-target").is_some_and(|v| v == "tiles") {
        return render(&TilesFragment {
            t,
            tiles: found.tiles,
            next: found.next,
            previous: found.previous,
        });
    }
    let chosen = RoleChoice::parse(&query.role);
    let roles = [
        ("", RoleChoice::All, &t.all_roles),
        ("owner", RoleChoice::One(Role::Owner), &t.role_owner),
        ("admin", RoleChoice::One(Role::Admin), &t.role_admin),
        ("member", RoleChoice::One(Role::Member), &t.role_member),
    ]
    .into_iter()
    .map(|(value, choice, label)| RoleOption {
        value,
        label: label.clone(),
        selected: choice == chosen,
    })
    .collect();
    render(&GridPage {
        chrome: Chrome::of(&state, &visit),
        t,
        q: query.q,
        roles,
        filters: found.filters,
        tiles: found.tiles,
        next: found.next,
        previous: found.previous,
    })
}

/// A page of tiles, the links to its neighbours and the filters the viewer may use.
struct Found {
    tiles: Vec<Tile>,
    filters: Vec<FilterControl>,
    next: Option<String>,
    previous: Option<String>,
}

/// Runs the directory query: the reader capability (admins, or an open member directory),
/// display-name order, the role and field filters and the search, then the cards as the viewer
/// may see them.
async fn search(
    state: &AppState,
    visit: &Visit,
    session: &Session,
    query: &GridQuery,
    filters: &FieldFilters,
) -> Result<Found> {
    let db = &state.db;
    let member = session.member()?;
    let reader = directory::reader(db, &member).await?;
    let fields = state.fields.of_tenant(db, member.tenant().id).await?;
    let order = SortOrder {
        key: SortKey::display_name(&member, &fields)?,
        descending: false,
    };
    let window = match (&query.after, &query.before) {
        (_, Some(before)) => Window::from_relay(order, None, None, Some(PAGE), Some(before))?,
        (after, None) => Window::from_relay(order, Some(PAGE), after.as_deref(), None, None)?,
    };
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let roles = match RoleChoice::parse(&query.role) {
        RoleChoice::All => Vec::new(),
        RoleChoice::One(role) => vec![role],
    };
    let filter = Filter {
        roles,
        fields: Vec::new(),
    };
    let mut keep: Condition = filter.condition(&member, &fields, backend)?;
    keep = keep.add(filters.condition(&member, &fields, backend)?);
    if let Some(matching) = Matching::new(&member, &fields, &query.q, backend)? {
        keep = keep.add(matching.condition());
    }
    let budget = directory::CountBudget {
        millis: state.config.limits.count_budget_ms,
    };
    let (page, _) = directory::list(db, &reader, order, window, &keep, false, budget).await?;
    let ids: Vec<Uuid> = page.entries.iter().map(|e| e.user_id).collect();
    let mut cards = profiles::read_many(db, &state.fields, &member, &ids).await?;
    let t = state.web.catalogue.texts(visit.lang);
    let labels = Labels {
        preferences: Preferences(vec![visit.lang.code().to_owned()]),
        default_locale: &member.tenant().default_locale,
    };
    let link = |cursor: &str, direction: &str| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("q", &query.q)
            .append_pair("role", &query.role);
        for (name, value) in filters.params() {
            url.append_pair(&name, value);
        }
        url.append_pair(direction, cursor);
        format!("/admin/people?{}", url.finish())
    };
    let next = page
        .has_next
        .then(|| {
            page.entries
                .last()
                .map(|e| link(&e.cursor.encode(), "after"))
        })
        .flatten();
    let previous = page
        .has_previous
        .then(|| {
            page.entries
                .first()
                .map(|e| link(&e.cursor.encode(), "before"))
        })
        .flatten();
    // A member removed between the page and the card reads is left out.
    let tiles = ids
        .iter()
        .filter_map(|id| cards.remove(id))
        .map(|card| tile(state, t, &labels, &card))
        .collect();
    Ok(Found {
        filters: FilterControl::offered(&member, &fields, filters, t, &labels),
        tiles,
        next,
        previous,
    })
}

fn tile(state: &AppState, t: &Texts, labels: &Labels<'_>, card: &Card) -> Tile {
    let facts = card
        .values
        .iter()
        .filter(|v| !NOT_ON_TILES.contains(&v.field.key.as_str()))
        .filter_map(|v| {
            let text = match v.value.as_ref()? {
                FieldValue::Text(text) if v.field.kind != FieldKind::LongText => text.clone(),
                FieldValue::Choice(choice) => v
                    .field
                    .options
                    .iter()
                    .find(|option| &option.value == choice)
                    .map_or_else(
                        || choice.clone(),
                        |option| {
                            labels::label(
                                &option.labels,
                                &option.value,
                                &labels.preferences,
                                labels.default_locale,
                            )
                            .text
                        },
                    ),
                _ => return None,
            };
            let label = labels::label(
                &v.field.labels,
                v.field.key.as_str(),
                &labels.preferences,
                labels.default_locale,
            );
            Some((label.text, text))
        })
        .take(TILE_FIELDS)
        .collect();
    Tile {
        href: format!("/admin/people/{}", card.user.id),
        name: card.display_name().unwrap_or_else(|| t.no_name.clone()),
        role: role_text(t, card.role).to_owned(),
        avatar: card
            .avatar()
            .and_then(|file| controls::preview(&state.files, file).thumbnail),
        facts,
    }
}
