//! Web sessions in the database (`web_sessions`), shared by every instance. The cookie carries a
//! random id; the table keeps only its SHA-256, so neither a leaked table nor a leaked backup
//! can be replayed as a cookie.

use chrono::{Duration, Utc};
use entity::web_session::{self, ActiveModel, Entity, Model};
use rand::RngCore;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;

/// A session id as the cookie carries it: 32 random bytes, hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    fn random() -> SessionId {
        SessionId(random_hex())
    }

    /// Reads a cookie value; anything but 64 hex digits is no session at all.
    pub fn parse(text: &str) -> Option<SessionId> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| SessionId(text.to_ascii_lowercase()))
    }

    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the table stores in place of the id.
    fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// A sign-in under way at the provider, checked when it comes back to the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    /// The `state` sent; the callback must bring back the same.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub verifier: String,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Starts a session (signed out, with its CSRF token) lasting `hours`.
pub async fn create(db: &DatabaseConnection, hours: u64) -> Result<(SessionId, Model)> {
    let id = SessionId::random();
    let now = Utc::now();
    let hours = i64::try_from(hours).unwrap_or(i64::MAX).min(24 * 365);
    let row = ActiveModel {
        id_hash: Set(id.hash()),
        csrf_token: Set(random_hex()),
        credential: Set(None),
        id_token: Set(None),
        issuer: Set(None),
        tenant: Set(None),
        pending: Set(None),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(hours)),
    }
    .insert(db)
    .await?;
    Ok((id, row))
}

/// The unexpired session of `id`, if there is one.
pub async fn find(db: &DatabaseConnection, id: &SessionId) -> Result<Option<Model>> {
    Ok(Entity::find_by_id(id.hash())
        .filter(web_session::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?)
}

/// Signs the session in with `credential` (a bearer token), under a fresh CSRF token, and
/// forgets any pending sign-in.
pub async fn sign_in(
    db: &DatabaseConnection,
    row: Model,
    credential: String,
    id_token: Option<String>,
    issuer: String,
) -> Result<Model> {
    let mut active: ActiveModel = row.into();
    active.credential = Set(Some(credential));
    active.id_token = Set(id_token);
    active.issuer = Set(Some(issuer));
    active.tenant = Set(None);
    active.pending = Set(None);
    active.csrf_token = Set(random_hex());
    Ok(active.update(db).await?)
}

/// Remembers a sign-in under way.
pub async fn set_pending(db: &DatabaseConnection, row: Model, pending: &Pending) -> Result<Model> {
    let json = serde_json::to_value(pending).map_err(crate::error::Error::internal)?;
    let mut active: ActiveModel = row.into();
    active.pending = Set(Some(json));
    Ok(active.update(db).await?)
}

/// Takes the pending sign-in out of the session: a callback is accepted once.
pub async fn take_pending(db: &DatabaseConnection, row: Model) -> Result<(Model, Option<Pending>)> {
    let pending = row
        .pending
        .clone()
        .and_then(|json| serde_json::from_value(json).ok());
    let mut active: ActiveModel = row.into();
    active.pending = Set(None);
    Ok((active.update(db).await?, pending))
}

/// Makes `tenant` (an id) the session's active tenant.
pub async fn set_tenant(db: &DatabaseConnection, row: Model, tenant: String) -> Result<Model> {
    let mut active: ActiveModel = row.into();
    active.tenant = Set(Some(tenant));
    Ok(active.update(db).await?)
}

/// Ends the session, and with it any expired ones (the table cleans itself as people sign out).
pub async fn delete(db: &DatabaseConnection, row: &Model) -> Result<()> {
    Entity::delete_by_id(row.id_hash.clone()).exec(db).await?;
    Entity::delete_many()
        .filter(web_session::Column::ExpiresAt.lte(Utc::now()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_parse_and_the_hash_is_not_the_id() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(id.hash(), id.as_str());
        assert_eq!(SessionId::parse("abc"), None);
        assert_eq!(SessionId::parse(&"g".repeat(64)), None);
    }
}
