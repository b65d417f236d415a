//! Live pages: a server-sent event stream per open card or grid, fed by the change feed every
//! instance shares (`crate::events`). An event says only that something changed (a card's new
//! version); the page then fetches itself again through the usual handlers, so what it shows
//! is decided by the same access rules as any page load, never by the stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::card::{Whose, member_id, read};
use super::visit::Visit;
use super::{refused, signed_in, to_sign_in};
use crate::AppState;
use crate::events::Change;
use crate::profiles::directory;

/// What a stream watches.
#[derive(Clone, Copy)]
enum Watch {
    /// One member's card in a tenant.
    Card { tenant: Uuid, user: Uuid },
    /// Every card of a tenant (the grid).
    Tenant(Uuid),
}

impl Watch {
    /// The event a change means for the page, if any: a card's version, or a bare notice.
    fn event(self, change: &Change) -> Option<Event> {
        let changed = || Event::default().event("changed");
        match (self, change) {
            (
                Watch::Card { tenant, user },
                Change::Card {
                    tenant: t,
                    user: u,
                    version,
                    ..
                },
            ) if (tenant, user) == (*t, *u) => Some(changed().data(version.to_string())),
            (Watch::Card { tenant, user }, Change::Membership { tenant: t, user: u })
                if (tenant, user) == (*t, *u) =>
            {
                Some(changed().data("0"))
            }
            (Watch::Card { tenant, .. }, Change::Fields { tenant: t, .. }) if tenant == *t => {
                Some(changed().data("0"))
            }
            (Watch::Tenant(tenant), Change::Card { tenant: t, .. })
            | (Watch::Tenant(tenant), Change::Membership { tenant: t, .. })
            | (Watch::Tenant(tenant), Change::Fields { tenant: t, .. })
                if tenant == *t =>
            {
                Some(changed().data("0"))
            }
            (_, Change::Resync) => Some(changed().data("0")),
            _ => None,
        }
    }
}

/// `GET /card/live`: changes of the own card.
pub async fn own_card(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    card_stream(&state, &visit, Whose::Own).await
}

/// `GET /admin/people/{user}/live`: changes of a member's card the viewer may open.
pub async fn member_card(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(user): Path<String>,
) -> Response {
    match member_id(&visit, &user) {
        Ok(whose) => card_stream(&state, &visit, whose).await,
        Err(error) => refused(&state, &visit, error),
    }
}

/// Streams a card's changes once the viewer has shown they may read it.
async fn card_stream(state: &AppState, visit: &Visit, whose: Whose) -> Response {
    let Some(session) = signed_in(visit) else {
        return to_sign_in();
    };
    match read(state, session, whose).await {
        Ok(card) => stream(
            state,
            Watch::Card {
                tenant: card.tenant.id,
                user: card.user.id,
            },
        ),
        Err(error) => refused(state, visit, error),
    }
}

/// `GET /admin/people/live`: changes of the grid's tenant, for viewers of the grid.
pub async fn grid(State(state): State<Arc<AppState>>, visit: Visit) -> Response {
    let Some(session) = signed_in(&visit) else {
        return to_sign_in();
    };
    let opened = async {
        let member = session.member()?;
        directory::reader(&state.db, &member).await?;
        Ok(member.tenant().id)
    };
    match opened.await {
        Ok(tenant) => stream(&state, Watch::Tenant(tenant)),
        Err(error) => refused(&state, &visit, error),
    }
}

/// The event stream of `watch`, until the client goes or the instance stops; a lagging
/// subscriber is told that something changed, which is always true enough to refetch.
fn stream(state: &AppState, watch: Watch) -> Response {
    let mut changes = state.events.subscribe();
    let events = async_stream::stream! {
        loop {
            let event = match changes.recv().await {
                Ok(change) => watch.event(&change),
                Err(RecvError::Lagged(_)) => watch.event(&Change::Resync),
                Err(RecvError::Closed) => break,
            };
            if let Some(event) = event {
                yield Ok::<Event, Infallible>(event);
            }
        }
    };
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}
