//! Users: created or refreshed from token claims at sign-in, and loaded with memberships.

pub mod names;
pub mod search_documents;

use std::sync::OnceLock;

use chrono::Utc;
use entity::user::ClaimedTenants;
use entity::{membership, tenant, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IdenStatic, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SelectA, SelectB, SelectC,
    Statement,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::tokens::VerifiedToken;
use crate::auth::{Membership, SignedInUser};
use crate::error::{Error, Result};

/// Standard OpenID Connect claims kept from the identity provider to hydrate the card.
/// `email`, `email_verified` and `preferred_username` are identity columns of their own.
pub const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "address",
];

/// The user a sign-in found or created.
#[derive(Clone, Debug)]
pub struct Provisioned {
    /// The user row; `claimed_tenants` still holds the previous sign-in's tenants.
    pub user: user::Model,
    /// Whether this sign-in created the user.
    pub first_sign_in: bool,
}

/// Creates the user of a first sign-in, or refreshes the identity claims of a known one. Safe
/// to run twice at once for the same new user: the unique (issuer, subject) key makes the
/// second an update, which waits for the first's transaction.
pub async fn provision(db: &impl ConnectionTrait, token: &VerifiedToken) -> Result<Provisioned> {
    let now = Utc::now();
    let id = Uuid::new_v4();
    let row = user::ActiveModel {
        id: Set(id),
        issuer: Set(token.issuer.clone()),
        subject: Set(token.subject.clone()),
        username: Set(token.claim_str("preferred_username").map(str::to_owned)),
        email: Set(token.claim_str("email").map(str::to_owned)),
        email_verified: Set(token
            .claims
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false)),
        claims: Set(Value::Object(profile_claims(&token.claims))),
        claimed_tenants: Set(None),
        folded_identity: Set(folded_identity(token)),
        created_at: Set(now),
        updated_at: Set(now),
        last_sign_in_at: Set(now),
    };
    user::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([user::Column::Issuer, user::Column::Subject])
                .update_columns([
                    user::Column::Username,
                    user::Column::Email,
                    user::Column::EmailVerified,
                    user::Column::Claims,
                    user::Column::FoldedIdentity,
                    user::Column::UpdatedAt,
                    user::Column::LastSignInAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let user = user::Entity::find()
        .filter(user::Column::Issuer.eq(&token.issuer))
        .filter(user::Column::Subject.eq(&token.subject))
        .one(db)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("user vanished after upsert")))?;
    // The update branch keeps the stored id, so only an insert leaves ours in place.
    let first_sign_in = user.id == id;
    if !first_sign_in {
        // The provider's names show on cards that have none of their own, and find them.
        names::refresh(db, user.id, None).await?;
        search_documents::refresh(db, user.id, None).await?;
    }
    Ok(Provisioned {
        user,
        first_sign_in,
    })
}

/// The tenants `user_id` is a member of: `only` if it is one of them, else all.
async fn member_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    let mut tenants = membership::Entity::find()
        .select_only()
        .column(membership::Column::TenantId)
        .filter(membership::Column::UserId.eq(user_id));
    if let Some(tenant) = only {
        tenants = tenants.filter(membership::Column::TenantId.eq(tenant));
    }
    Ok(tenants.into_tuple().all(db).await?)
}

/// The claims whose provider values quick search matches (the directory matches them only for
/// viewers who may read every one of the built-in fields of the same keys).
pub const IDENTITY_CLAIMS: [&str; 5] = [
    "preferred_username",
    "email",
    "name",
    "given_name",
    "family_name",
];

fn folded_identity(token: &VerifiedToken) -> Option<String> {
    crate::core::fold::fold_all(IDENTITY_CLAIMS.iter().filter_map(|c| token.claim_str(c)))
}

/// The folded identity of a stored user, from the claims it keeps: what sign-in writes.
pub fn folded_identity_of(user: &user::Model) -> Option<String> {
    let values: Vec<Value> = IDENTITY_CLAIMS
        .iter()
        .filter_map(|claim| crate::fields::builtin::provider_value(user, claim))
        .collect();
    crate::core::fold::fold_all(values.iter().filter_map(Value::as_str))
}

/// Remembers which tenants the provider's claim named at this sign-in.
pub async fn record_claimed_tenants(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenants: ClaimedTenants,
) -> Result<()> {
    user::Entity::update_many()
        .col_expr(user::Column::ClaimedTenants, Expr::value(tenants))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

fn profile_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    PROFILE_CLAIMS
        .iter()
        .filter_map(|name| claims.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect()
}

/// Loads a user with every membership, the primary first.
pub async fn load(db: &impl ConnectionTrait, user_id: Uuid) -> Result<SignedInUser> {
    // One round trip: every request of a signed-in user starts here.
    let statement = with_memberships(db.get_database_backend(), user_id);
    let rows = db.query_all_raw(statement).await?;
    let mut user = None;
    let mut memberships = Vec::with_capacity(rows.len());
    for row in &rows {
        if user.is_none() {
            user = Some(user::Model::from_query_result(row, SelectA.as_str())?);
        }
        let member = membership::Model::from_query_result_optional(row, SelectB.as_str())?;
        let tenant = tenant::Model::from_query_result_optional(row, SelectC.as_str())?;
        if let (Some(row), Some(tenant)) = (member, tenant) {
            memberships.push(Membership {
                tenant,
                role: row.role,
                is_primary: row.is_primary,
                row,
            });
        }
    }
    let Some(user) = user else {
        return Err(Error::Unauthenticated(
            "the signed-in user no longer exists".into(),
        ));
    };
    Ok(SignedInUser { user, memberships })
}

/// The statement reading a user with memberships and their tenants, primary first, as
/// sea-orm's three-way select: its SQL text is built once per backend, since rebuilding it
/// cost a quarter of this statement's instructions on every request (BENCHMARKS.md, issue 16).
fn with_memberships(backend: DbBackend, user_id: Uuid) -> Statement {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static SQLITE: OnceLock<String> = OnceLock::new();
    static MYSQL: OnceLock<String> = OnceLock::new();
    let text = match backend {
        DbBackend::Postgres => &POSTGRES,
        DbBackend::Sqlite => &SQLITE,
        _ => &MYSQL,
    };
    let sql = text.get_or_init(|| with_memberships_select(Uuid::nil()).build(backend).sql);
    Statement::from_sql_and_values(backend, sql.clone(), [user_id.into()])
}

fn with_memberships_select(user_id: Uuid) -> impl QueryTrait {
    user::Entity::find_by_id(user_id)
        .find_also_related(membership::Entity)
        .find_also(membership::Entity, tenant::Entity)
        .order_by_desc(membership::Column::IsPrimary)
        .order_by_asc(membership::Column::CreatedAt)
}

/// A user by id, or NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, user_id: Uuid) -> Result<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user {user_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_statement_is_the_select_built_for_the_user() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for user_id in [Uuid::new_v4(), Uuid::new_v4()] {
                let fresh = with_memberships_select(user_id).build(backend);
                assert_eq!(with_memberships(backend, user_id), fresh);
            }
        }
    }
}
