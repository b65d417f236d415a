//! Users: provisioning on sign-in from token claims, and loading with memberships.

use chrono::Utc;
use entity::{membership, tenant, user};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::tokens::VerifiedToken;
use crate::auth::{Membership, SignedInUser};
use crate::error::{Error, Result};
use crate::tenants::OnExisting;

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

/// Creates the user of a first sign-in, or refreshes the identity claims of a known one, and
/// synchronises the memberships the token asserts; returns the user's id. Safe to run twice at
/// once for the same new user: the unique (issuer, subject) key makes the second an update.
pub async fn provision(db: &DatabaseConnection, token: &VerifiedToken) -> Result<Uuid> {
    let txn = db.begin().await?;
    let user_id = upsert_user(&txn, token).await?;
    sync_memberships(&txn, user_id, token).await?;
    txn.commit().await?;
    Ok(user_id)
}

async fn upsert_user(db: &impl ConnectionTrait, token: &VerifiedToken) -> Result<Uuid> {
    let now = Utc::now();
    let row = user::ActiveModel {
        id: Set(Uuid::new_v4()),
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
    Ok(user.id)
}

fn profile_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    PROFILE_CLAIMS
        .iter()
        .filter_map(|name| claims.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect()
}

/// Gives the user every membership the token's tenant claim asserts, creating tenants seen
/// for the first time; the first one becomes primary when the user has none. Memberships
/// not in the claim are kept: owners manage those through the API.
async fn sync_memberships(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    token: &VerifiedToken,
) -> Result<()> {
    let claims = &token.tenants;
    if claims.is_empty() {
        return Ok(());
    }
    for claim in claims {
        let tenant = crate::tenants::ensure(db, &claim.id, claim.name.as_deref()).await?;
        let role = claim.role.unwrap_or(membership::Role::Member);
        crate::tenants::insert_membership(db, user_id, tenant.id, role, OnExisting::SetRole)
            .await?;
    }
    Ok(())
}

/// Loads a user with every membership, the primary first.
pub async fn load(db: &impl ConnectionTrait, user_id: Uuid) -> Result<SignedInUser> {
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::Unauthenticated("the signed-in user no longer exists".into()))?;
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(tenant::Entity)
        .order_by_desc(membership::Column::IsPrimary)
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    let memberships = rows
        .into_iter()
        .filter_map(|(m, tenant)| {
            Some(Membership {
                tenant: tenant?,
                role: m.role,
                is_primary: m.is_primary,
                row: m,
            })
        })
        .collect();
    Ok(SignedInUser { user, memberships })
}

/// A user by id, or NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, user_id: Uuid) -> Result<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user {user_id}")))
}
