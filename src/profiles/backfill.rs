//! Fills what the search and the name order need on rows written before they existed: the
//! folded text of stored values and of users' identities, and the sort name of memberships.
//! It runs at start-up after the migrations rather than as a migration because it needs the
//! service's own rules (the folding, choice labels from the field definitions, the
//! display-name rule), which the migration crate cannot reach; `backfills` records that it ran.

use chrono::Utc;
use entity::{field_value, membership, tenant, user};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use super::search::searchable;
use crate::error::Result;
use crate::fields::store::FieldRegistry;
use crate::fields::{FieldValue, is_text_like};
use crate::users::folded_identity_of;
use crate::users::{names, search_documents};

/// The name under which a run is recorded; a new version of the rule takes a new name.
const NAME: &str = "search-and-sort-names-v1";

/// Rows read and written per transaction.
const BATCH: u64 = 1_000;

/// Runs [`fill`] unless this database has it recorded as done, then records it.
pub async fn run_once(db: &DatabaseConnection) -> Result<()> {
    let done = Query::select()
        .expr(Expr::val(1))
        .from("backfills")
        .and_where(Expr::col("name").eq(NAME))
        .to_owned();
    let backend = db.get_database_backend();
    if db.query_one_raw(backend.build(&done)).await?.is_some() {
        return Ok(());
    }
    fill(db).await?;
    let mut conflict = OnConflict::column("name");
    conflict.do_nothing();
    let record = Query::insert()
        .into_table("backfills")
        .columns(["name", "done_at"])
        .values_panic([NAME.into(), Utc::now().into()])
        .on_conflict(conflict)
        .to_owned();
    db.execute_raw(backend.build(&record)).await?;
    Ok(())
}

/// Fills every missing folded text and sort name, a batch per transaction. Safe to run
/// again and beside the service: it writes what the write paths would.
pub async fn fill(db: &DatabaseConnection) -> Result<()> {
    let values = fill_values(db).await?;
    let users = fill_users(db).await?;
    let members = fill_sort_names(db).await?;
    if values + users > 0 {
        search_documents::mark_all_stale(db).await?;
    }
    tracing::info!(values, users, members, "search and sort names backfilled");
    Ok(())
}

async fn fill_values(db: &DatabaseConnection) -> Result<u64> {
    let registry = FieldRegistry::default();
    let tenants: Vec<Uuid> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut filled = 0;
    for tenant in tenants {
        let fields = registry.of_tenant(db, tenant).await?;
        for field in fields.all.iter().filter(|f| is_text_like(f.kind)) {
            let mut after = Uuid::nil();
            loop {
                let rows: Vec<(Uuid, Value)> = field_value::Entity::find()
                    .select_only()
                    .column(field_value::Column::UserId)
                    .column(field_value::Column::Value)
                    .filter(field_value::Column::TenantId.eq(tenant))
                    .filter(field_value::Column::FieldId.eq(field.id))
                    .filter(field_value::Column::Folded.is_null())
                    .filter(field_value::Column::UserId.gt(after))
                    .order_by_asc(field_value::Column::UserId)
                    .limit(BATCH)
                    .into_tuple()
                    .all(db)
                    .await?;
                let Some((last, _)) = rows.last() else { break };
                after = *last;
                let txn = db.begin().await?;
                for (user, value) in rows {
                    let Some(folded) =
                        FieldValue::read(field.kind, &value).and_then(|v| searchable(field, &v))
                    else {
                        continue;
                    };
                    field_value::Entity::update_many()
                        .col_expr(field_value::Column::Folded, Expr::value(folded))
                        .filter(field_value::Column::TenantId.eq(tenant))
                        .filter(field_value::Column::UserId.eq(user))
                        .filter(field_value::Column::FieldId.eq(field.id))
                        .exec(&txn)
                        .await?;
                    filled += 1;
                }
                txn.commit().await?;
            }
        }
    }
    Ok(filled)
}

async fn fill_users(db: &DatabaseConnection) -> Result<u64> {
    let mut after = Uuid::nil();
    let mut filled = 0;
    loop {
        let users = user::Entity::find()
            .filter(user::Column::FoldedIdentity.is_null())
            .filter(user::Column::Id.gt(after))
            .order_by_asc(user::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = users.last() else { break };
        after = last.id;
        let txn = db.begin().await?;
        for person in users {
            let Some(folded) = folded_identity_of(&person) else {
                continue;
            };
            user::Entity::update_many()
                .col_expr(user::Column::FoldedIdentity, Expr::value(folded))
                .filter(user::Column::Id.eq(person.id))
                .exec(&txn)
                .await?;
            filled += 1;
        }
        txn.commit().await?;
    }
    Ok(filled)
}

async fn fill_sort_names(db: &DatabaseConnection) -> Result<u64> {
    let mut after = Uuid::nil();
    let mut filled = 0;
    loop {
        let users: Vec<Uuid> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .distinct()
            .filter(membership::Column::SortName.is_null())
            .filter(membership::Column::UserId.gt(after))
            .order_by_asc(membership::Column::UserId)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = users.last() else { break };
        after = *last;
        let txn = db.begin().await?;
        for user in users {
            names::refresh(&txn, user, None).await?;
            filled += 1;
        }
        txn.commit().await?;
    }
    Ok(filled)
}
