//! Optimistic concurrency, one way for every versioned row (field definitions, cards, app
//! profiles): the version check and the write are one statement, so two writers based on the
//! same version can never both succeed.

use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, UpdateMany};

use crate::error::{Error, Result};

/// Runs `update` (the row's filter and any other `SET`s) with `version = version + 1`, and with
/// `AND version = expected` when `expected` is given. Returns whether a row was written: `false`
/// means the row is gone or (with `expected`) its version moved on; [`stale`] says the latter.
///
/// Run first in a transaction, it also takes the row's write lock (PostgreSQL) or the database's
/// (SQLite), so the rest of the transaction cannot interleave with another writer of that row.
pub async fn versioned_update<E: EntityTrait>(
    db: &impl ConnectionTrait,
    update: UpdateMany<E>,
    version: E::Column,
    expected: Option<i32>,
) -> Result<bool> {
    let mut update = update.col_expr(version, Expr::col(version).add(1));
    if let Some(expected) = expected {
        update = update.filter(version.eq(expected));
    }
    Ok(update.exec(db).await?.rows_affected > 0)
}

/// The CONFLICT of a write based on version `expected` of `what` (`field bio`, `the card`)
/// that is at `current` by now.
pub fn stale(what: &str, current: i32, expected: i32) -> Error {
    Error::Conflict(format!(
        "{what} is at version {current}, not {expected}: the version is stale; read it again and retry"
    ))
}
