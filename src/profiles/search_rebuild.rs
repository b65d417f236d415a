//! Rebuilds the search documents a change of field rules made stale (see
//! `crate::users::search_documents`): at start-up for every tenant, and after each change of a
//! tenant's fields announced on the change feed, by every instance (the writes are conditional,
//! so instances rebuilding at once never undo each other or a save). Until a card's document is
//! rebuilt, searches match it by its stored values, so results stay complete meanwhile.

use std::sync::Arc;

use entity::{membership, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, JoinType,
    QueryFilter, QuerySelect, RelationTrait, TransactionTrait,
};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::error::Result;
use crate::events::Change;
use crate::fields::store;
use crate::users::search_documents::{self, DocumentRules};

/// Cards rebuilt per transaction.
const BATCH: u64 = 500;

/// Rebuilds every stale document at once, then after each change of fields; ends when the
/// feed closes. Failures are logged and retried at the next change or start-up.
pub async fn keep_documents_fresh(db: DatabaseConnection, mut changes: Receiver<Arc<Change>>) {
    rebuild_all(&db).await;
    loop {
        match changes.recv().await {
            Ok(change) => {
                if let Change::Fields { tenant, .. } = &*change {
                    log_failure(rebuild(&db, *tenant).await);
                }
            }
            Err(RecvError::Lagged(_)) => rebuild_all(&db).await,
            Err(RecvError::Closed) => return,
        }
    }
}

async fn rebuild_all(db: &DatabaseConnection) {
    match stale_tenants(db).await {
        Ok(tenants) => {
            for tenant in tenants {
                log_failure(rebuild(db, tenant).await);
            }
        }
        Err(error) => log_failure(Err(error)),
    }
}

fn log_failure(outcome: Result<u64>) {
    match outcome {
        Ok(0) => {}
        Ok(rebuilt) => tracing::info!(rebuilt, "search documents rebuilt"),
        Err(error) => tracing::warn!(?error, "rebuilding search documents failed; retried later"),
    }
}

/// The tenants holding a document older than their search version.
pub async fn stale_tenants(db: &impl ConnectionTrait) -> Result<Vec<Uuid>> {
    let query = Query::select()
        .distinct()
        .column((membership::Entity, membership::Column::TenantId))
        .from(membership::Entity)
        .inner_join(
            "tenants",
            Expr::col(("tenants", "id")).equals((membership::Entity, membership::Column::TenantId)),
        )
        .and_where(
            Expr::col((membership::Entity, "search_version"))
                .lt(Expr::col(("tenants", "search_version"))),
        )
        .to_owned();
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(backend.build(&query)).await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<Uuid>("", "tenant_id")?))
        .collect()
}

/// Rebuilds the stale documents of `tenant`, a batch per transaction, until none is left;
/// returns how many it wrote.
pub async fn rebuild(db: &DatabaseConnection, tenant: Uuid) -> Result<u64> {
    let mut rebuilt = 0;
    loop {
        let txn = db.begin().await?;
        let (written, left) = rebuild_batch(&txn, tenant).await?;
        txn.commit().await?;
        rebuilt += written;
        if !left {
            return Ok(rebuilt);
        }
    }
}

/// Rebuilds up to [`BATCH`] stale documents; returns how many it wrote and whether a full
/// batch was stale (so more may be).
async fn rebuild_batch(db: &impl ConnectionTrait, tenant: Uuid) -> Result<(u64, bool)> {
    // The version first, then the rules: see `search_documents::version`.
    let version = search_documents::version(db, tenant).await?;
    let rules = DocumentRules::new(&store::fresh(db, tenant).await?);
    let stale: Vec<(Uuid, i32, Option<String>)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .column(membership::Column::CardVersion)
        .column_as(
            Expr::col((user::Entity, user::Column::FoldedIdentity)),
            "folded_identity",
        )
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(membership::Column::TenantId.eq(tenant))
        .filter(Expr::col((membership::Entity, "search_version")).lt(version))
        .limit(BATCH)
        .into_tuple()
        .all(db)
        .await?;
    let users: Vec<Uuid> = stale.iter().map(|(user, _, _)| *user).collect();
    let saved = search_documents::saved_texts(db, tenant, &users).await?;
    let mut written = 0;
    for (user, card_version, identity) in &stale {
        let texts = saved.get(user).map(Vec::as_slice).unwrap_or_default();
        let document = rules.document(
            texts.iter().map(|(f, t)| (*f, t.as_deref())),
            identity.as_deref(),
        );
        let wrote =
            search_documents::write(db, tenant, *user, &document, version, Some(*card_version))
                .await?;
        written += u64::from(wrote);
    }
    Ok((written, stale.len() as u64 == BATCH))
}
