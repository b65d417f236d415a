//! Per-request data loaders: every card a list of members asks for is read in one batch
//! (`profiles::read_many`), so a page costs the same number of queries for 10 members as for
//! 100. A loader belongs to one request because what a card shows depends on who asks. Its
//! cache lets a list resolver read the whole page in one batch before the per-item resolvers
//! ask (the loader's own batching window depends on timing, so lists do not rely on it).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::core::TenantScope;
use crate::error::Error;
use crate::fields::store::FieldRegistry;
use crate::profiles::{self, Card};
use crate::session::Session;

/// The request's card loader, with its cache.
pub type Cards = DataLoader<CardLoader, HashMapCache>;

/// Cards of the active tenant, as the request's caller may see them.
pub struct CardLoader {
    db: DatabaseConnection,
    registry: Arc<FieldRegistry>,
    scope: TenantScope,
}

impl Loader<Uuid> for CardLoader {
    type Value = Card;
    type Error = Error;

    #[tracing::instrument(name = "load cards", skip_all, fields(cards = subjects.len()))]
    async fn load(&self, subjects: &[Uuid]) -> Result<HashMap<Uuid, Card>, Error> {
        let viewer = self.scope.member()?;
        profiles::read_many(&self.db, &self.registry, &viewer, subjects).await
    }
}

/// The loaders of one request.
pub struct Loaders {
    /// Cards, cached for the request.
    pub cards: Cards,
    /// Set once the cards of a federation `_entities` batch are loaded.
    entities: OnceCell<()>,
}

impl Loaders {
    /// Loads the cards of every user a federation `_entities` request references, once, in
    /// one batch: the entity resolvers run concurrently, and each would otherwise start its own
    /// batch whenever the loader's batching window closed.
    pub async fn load_entities(&self, users: impl FnOnce() -> Vec<Uuid>) -> Result<(), Error> {
        self.entities
            .get_or_try_init(|| async {
                self.cards.load_many(users()).await?;
                Ok::<(), Error>(())
            })
            .await
            .map(drop)
    }
}

/// The loaders of one request, for a session with an active tenant (none otherwise: nothing
/// could be loaded for it).
pub fn for_session(
    db: &DatabaseConnection,
    registry: &Arc<FieldRegistry>,
    session: &Session,
) -> Option<Loaders> {
    let scope = session.active().ok()?.clone();
    let cards = CardLoader {
        db: db.clone(),
        registry: registry.clone(),
        scope,
    };
    Some(Loaders {
        cards: DataLoader::with_cache(cards, tokio::spawn, HashMapCache::default()),
        entities: OnceCell::new(),
    })
}
