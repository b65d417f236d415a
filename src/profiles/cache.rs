//! The stored values of recently read cards, by card version: the own card that `me` reads on
//! every page costs no query while it is unchanged.
//!
//! Fresh by construction, on every instance: the key holds the membership's `card_version`,
//! which every save bumps in the transaction that writes the values, and the membership's
//! start (a member removed and added again starts over at version 0). The caller reads the
//! membership row from the database on every request, so a save through any instance is a
//! new key at once, without waiting for a change notice. Field definitions are not part of
//! what is kept: access rules are applied to the values on every read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::membership;
use serde_json::Value;
use uuid::Uuid;

use crate::metrics::CacheCounters;

/// Most cards kept (about 5 KiB each with 30 values).
const CARDS: u64 = 20_000;

/// A card unread this long is dropped.
const IDLE: Duration = Duration::from_secs(10 * 60);

/// The values of one card, by field id.
pub type StoredValues = Arc<HashMap<Uuid, Value>>;

/// One version of one card.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct CardKey {
    tenant: Uuid,
    user: Uuid,
    since: DateTime<Utc>,
    version: i32,
}

impl CardKey {
    fn of(membership: &membership::Model) -> CardKey {
        CardKey {
            tenant: membership.tenant_id,
            user: membership.user_id,
            since: membership.created_at,
            version: membership.card_version,
        }
    }
}

/// Stored values by card version.
pub struct CardCache {
    cards: moka::future::Cache<CardKey, StoredValues>,
    counters: CacheCounters,
}

impl CardCache {
    /// An empty cache counting its lookups into `counters`.
    pub fn new(counters: CacheCounters) -> CardCache {
        CardCache {
            cards: moka::future::Cache::builder()
                .max_capacity(CARDS)
                .time_to_idle(IDLE)
                .build(),
            counters,
        }
    }

    /// The values of the card version `membership` names, if kept.
    pub(super) async fn get(&self, membership: &membership::Model) -> Option<StoredValues> {
        let kept = self.cards.get(&CardKey::of(membership)).await;
        self.counters.record(kept.is_some());
        kept
    }

    /// Keeps the values read for the card version `membership` names.
    pub(super) async fn keep(&self, membership: &membership::Model, values: StoredValues) {
        self.cards.insert(CardKey::of(membership), values).await;
    }
}
