//! The change feed: what changed (a card, a tenant's field definitions, a membership, file
//! rows), told to every instance of the service. On PostgreSQL a change is published with
//! `NOTIFY` after its transaction committed, and each instance has one `LISTEN` connection
//! that hands the changes to its subscribers and caches; on SQLite (one process) it is handed
//! over in process. Notices are small (ids and a version): receivers read what they may see.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};
use uuid::Uuid;

/// The PostgreSQL channel of the feed.
const CHANNEL: &str = "userprofile_changes";

/// Changes buffered per receiver: a receiver further behind (a slow subscriber) loses its
/// place and is told so, rather than holding memory without bound.
const BUFFERED: usize = 1_024;

/// `NOTIFY` payloads must stay under 8 000 bytes; a card change naming more fields than fit
/// names none ("any field may have changed").
const MOST_NOTICE_BYTES: usize = 7_000;

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A card was saved.
    Card {
        /// The tenant.
        tenant: Uuid,
        /// The card's owner.
        user: Uuid,
        /// The card's new version.
        version: i32,
        /// Who saved it: `user:<id>`, `operator:<client id>` or `signin:<issuer>`.
        actor: String,
        /// The keys of the fields that changed; `None` when unknown (any may have).
        fields: Option<Vec<String>>,
    },
    /// A tenant's field definitions changed.
    Fields {
        /// The tenant.
        tenant: Uuid,
        /// How.
        change: FieldsChange,
    },
    /// A membership was created, changed or removed.
    Membership {
        /// The tenant.
        tenant: Uuid,
        /// The member.
        user: Uuid,
    },
    /// File rows were deleted.
    FilesReleased {
        /// Their ids.
        ids: Vec<Uuid>,
    },
    /// Changes may have been missed (the listening connection was lost and is back): forget
    /// everything cached.
    Resync,
}

/// How a tenant's field definitions changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum FieldsChange {
    /// A field was added (by hand or from templates).
    Created,
    /// A field's labels, rules, options or access changed.
    Updated,
    /// The order changed.
    Reordered,
    /// A field was archived.
    Archived,
    /// A field was restored.
    Restored,
    /// A field was purged with its values.
    Purged,
}

/// The feed of one instance.
pub struct Events {
    local: broadcast::Sender<Arc<Change>>,
    /// The pool `NOTIFY` is sent on (PostgreSQL only).
    notify: Option<DatabaseConnection>,
    /// Dropped with the feed, which stops the listening task.
    _stop: Option<oneshot::Sender<()>>,
}

impl Events {
    /// A feed for `db`; on PostgreSQL, listening before this returns, so no change committed
    /// afterwards is missed.
    pub async fn start(db: &DatabaseConnection) -> anyhow::Result<Arc<Events>> {
        let (local, _) = broadcast::channel(BUFFERED);
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Arc::new(Events {
                local,
                notify: None,
                _stop: None,
            }));
        }
        let pool = listening_pool(db.get_postgres_connection_pool());
        let listener = listener(&pool).await?;
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(listen(pool, listener, local.clone(), stopped));
        Ok(Arc::new(Events {
            local,
            notify: Some(db.clone()),
            _stop: Some(stop),
        }))
    }

    /// Receives every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.local.subscribe()
    }

    /// Tells every instance about `change`; call it after the change committed. A failure to
    /// tell is logged, never the writer's error: the change itself is saved.
    pub async fn publish(&self, change: Change) {
        let Some(db) = &self.notify else {
            // No receivers is not an error: nobody listens just now.
            let _ = self.local.send(Arc::new(change));
            return;
        };
        let payload = notice(change);
        let statement = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        if let Err(error) = db.execute_raw(statement).await {
            tracing::warn!(%error, "a change could not be announced to the other instances");
        }
    }
}

/// The JSON of `change`, small enough for `NOTIFY`.
fn notice(change: Change) -> String {
    let text = serde_json::to_string(&change).unwrap_or_default();
    if text.len() <= MOST_NOTICE_BYTES {
        return text;
    }
    let shortened = match change {
        Change::Card {
            tenant,
            user,
            version,
            actor,
            ..
        } => Change::Card {
            tenant,
            user,
            version,
            actor,
            fields: None,
        },
        // Only card changes grow with their content; file ids come a few at a time.
        _ => Change::Resync,
    };
    serde_json::to_string(&shortened).unwrap_or_default()
}

type Pool = sea_orm::sqlx::PgPool;
type Listener = sea_orm::sqlx::postgres::PgListener;

/// A pool of one connection for the listener, with the service pool's connect options: a
/// listener holds its connection for good, which would take one from the requests (all of them
/// with `limits.pool_connections = 1`). Kept open for good: no idle timeout, no lifetime.
fn listening_pool(service: &Pool) -> Pool {
    sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with((*service.connect_options()).clone())
}

/// A connection listening on the feed's channel.
async fn listener(pool: &Pool) -> Result<Listener, sea_orm::sqlx::Error> {
    let mut listener = Listener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Hands every notification to the local receivers until the feed is dropped. A lost
/// connection is replaced (retrying every second), after which the receivers are told to
/// resync: notifications sent meanwhile are lost.
async fn listen(
    pool: Pool,
    mut listening: Listener,
    local: broadcast::Sender<Arc<Change>>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let received = tokio::select! {
            received = listening.try_recv() => received,
            _ = &mut stopped => return,
        };
        let change = match received {
            Ok(Some(notification)) => match serde_json::from_str(notification.payload()) {
                Ok(change) => change,
                Err(error) => {
                    tracing::warn!(%error, "an unreadable change notice was ignored");
                    continue;
                }
            },
            // The listener reconnected by itself.
            Ok(None) => Change::Resync,
            Err(error) => {
                tracing::warn!(%error, "the connection listening for changes failed");
                listening = tokio::select! {
                    replaced = replace(&pool) => replaced,
                    _ = &mut stopped => return,
                };
                Change::Resync
            }
        };
        let _ = local.send(Arc::new(change));
    }
}

/// A new listening connection, once the database takes one.
async fn replace(pool: &Pool) -> Listener {
    loop {
        match listener(pool).await {
            Ok(listener) => return listener,
            Err(error) => tracing::warn!(%error, "cannot listen for changes yet; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_change_naming_too_many_fields_names_none() {
        let fields: Vec<String> = (0..2_000).map(|i| format!("field_{i}")).collect();
        let change = Change::Card {
            tenant: Uuid::nil(),
            user: Uuid::nil(),
            version: 3,
            actor: "user:x".into(),
            fields: Some(fields),
        };
        let text = notice(change);
        assert!(text.len() < MOST_NOTICE_BYTES);
        let read: Change = serde_json::from_str(&text).expect("a notice reads back");
        assert!(matches!(
            read,
            Change::Card {
                fields: None,
                version: 3,
                ..
            }
        ));
    }
}
