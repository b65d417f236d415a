//! The SQL of bulk writes and lookups, per backend. PostgreSQL gets whole lists as single bind
//! parameters (`unnest($1::uuid[], …)`, `= ANY($1)`): one statement per batch to parse and
//! plan, whatever its size. SQLite gets multi-row `VALUES` and `IN (…)` lists kept under its
//! 32 766 bind parameters.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::app_profile::{self, Column};
use entity::membership;
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, OnConflict, PgFunc, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, SqlErr,
    Statement, Value,
};
use uuid::Uuid;

use super::IN_LIST_CHUNK;
use super::bulk::OnExisting;
use crate::error::{Error, Result};

/// Rows per INSERT. On SQLite six bound values a row keep a statement at 30 000 parameters;
/// PostgreSQL binds four whatever the size, and the batch only bounds one message. Larger
/// PostgreSQL batches measured no faster.
pub const BATCH_ROWS: usize = 5_000;

/// A profile to insert, checked already.
pub struct NewRow {
    /// The user.
    pub user_id: Uuid,
    /// The app.
    pub app_id: String,
    /// The document (a JSON object) as compact JSON text: serialised while it is checked, so
    /// the write only moves bytes, and PostgreSQL parses it into `jsonb` once.
    pub data: String,
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Every row was written (or, with [`OnExisting::Replace`], replaced an existing one).
    All,
    /// With [`OnExisting::Fail`], a pair has a profile already; the statement failed, and the
    /// transaction must be rolled back.
    ExistingPair,
}

/// Inserts `rows` (version 1, created and updated `now`) in one statement. With
/// [`OnExisting::Fail`] it is a plain INSERT, and an existing pair fails it (cheaper than
/// `ON CONFLICT DO NOTHING`, which PostgreSQL pays for on every row); with
/// [`OnExisting::Replace`] existing pairs are replaced.
pub async fn insert(
    db: &impl ConnectionTrait,
    rows: Vec<NewRow>,
    on_existing: OnExisting,
    now: DateTime<Utc>,
) -> Result<Inserted> {
    let result = match db.get_database_backend() {
        DbBackend::Postgres => db.execute_raw(unnest_insert(rows, on_existing, now)).await,
        _ => db.execute(&values_insert(rows, on_existing, now)?).await,
    };
    match result {
        Ok(_) => Ok(Inserted::All),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(Inserted::ExistingPair)
        }
        Err(error) => Err(error.into()),
    }
}

fn unnest_insert(rows: Vec<NewRow>, on_existing: OnExisting, now: DateTime<Utc>) -> Statement {
    let mut users = Vec::with_capacity(rows.len());
    let mut apps = Vec::with_capacity(rows.len());
    let mut documents = Vec::with_capacity(rows.len());
    for row in rows {
        users.push(Value::from(row.user_id));
        apps.push(Value::from(row.app_id));
        documents.push(Value::from(row.data));
    }
    let on_conflict = match on_existing {
        OnExisting::Fail => "",
        OnExisting::Replace => {
            "ON CONFLICT (user_id, app_id) DO UPDATE SET data = EXCLUDED.data, \
             updated_at = EXCLUDED.updated_at, version = app_profiles.version + 1"
        }
    };
    let sql = format!(
        "INSERT INTO app_profiles (user_id, app_id, data, version, created_at, updated_at) \
         SELECT u, a, d::jsonb, 1, $4, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(u, a, d) \
         {on_conflict}"
    );
    let values = [
        Value::Array(ArrayType::Uuid, Some(Box::new(users))),
        Value::Array(ArrayType::String, Some(Box::new(apps))),
        Value::Array(ArrayType::String, Some(Box::new(documents))),
        Value::from(now),
    ];
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn values_insert(
    rows: Vec<NewRow>,
    on_existing: OnExisting,
    now: DateTime<Utc>,
) -> Result<sea_orm::sea_query::InsertStatement> {
    let mut insert = Query::insert();
    insert.into_table(app_profile::Entity).columns([
        Column::UserId,
        Column::AppId,
        Column::Data,
        Column::Version,
        Column::CreatedAt,
        Column::UpdatedAt,
    ]);
    for row in rows {
        insert
            .values([
                Expr::val(row.user_id),
                Expr::val(row.app_id),
                Expr::val(row.data),
                Expr::val(1),
                Expr::val(now),
                Expr::val(now),
            ])
            .map_err(Error::internal)?;
    }
    if on_existing == OnExisting::Replace {
        let mut clause = OnConflict::columns([Column::UserId, Column::AppId]);
        clause
            .update_columns([Column::Data, Column::UpdatedAt])
            .value(
                Column::Version,
                Expr::col((app_profile::Entity, Column::Version)).add(1),
            );
        insert.on_conflict(clause);
    }
    Ok(insert)
}

/// The users among `users` who are members of the tenant.
pub async fn members_among(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    users: &[Uuid],
) -> Result<HashSet<Uuid>> {
    let mut members = HashSet::with_capacity(users.len());
    for condition in user_is_any(db.get_database_backend(), membership::Column::UserId, users) {
        let found: Vec<Uuid> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .filter(membership::Column::TenantId.eq(tenant_id))
            .filter(condition)
            .into_tuple()
            .all(db)
            .await?;
        members.extend(found);
    }
    Ok(members)
}

/// The (user, app) pairs among `pairs` that have a profile. Looked up by user (the first column
/// of the primary key) and matched here: a list of row values is not an index lookup everywhere.
pub async fn existing_among(
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, &str)],
) -> Result<Vec<(Uuid, String)>> {
    let wanted: HashSet<(Uuid, &str)> = pairs.iter().copied().collect();
    let users: Vec<Uuid> = pairs
        .iter()
        .map(|(user, _)| *user)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut existing = Vec::new();
    for condition in user_is_any(db.get_database_backend(), Column::UserId, &users) {
        let found: Vec<(Uuid, String)> = app_profile::Entity::find()
            .select_only()
            .column(Column::UserId)
            .column(Column::AppId)
            .filter(condition)
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(
            found
                .into_iter()
                .filter(|(user, app)| wanted.contains(&(*user, app.as_str()))),
        );
    }
    Ok(existing)
}

/// `column` is one of `users`: a single `= ANY($1)` on PostgreSQL, `IN (…)` lists on SQLite.
fn user_is_any<C: ColumnTrait>(backend: DbBackend, column: C, users: &[Uuid]) -> Vec<Expr> {
    if users.is_empty() {
        return Vec::new();
    }
    match backend {
        DbBackend::Postgres => {
            let array: Vec<Value> = users.iter().copied().map(Value::from).collect();
            let array = Value::Array(ArrayType::Uuid, Some(Box::new(array)));
            vec![Expr::col(column).eq(PgFunc::any(Expr::val(array)))]
        }
        _ => users
            .chunks(IN_LIST_CHUNK)
            .map(|chunk| column.is_in(chunk.iter().copied()))
            .collect(),
    }
}
