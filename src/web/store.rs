//! Web sessions in the database (`web_sessions`), shared by every instance. The cookie carries a
//! random id; the table keeps only its SHA-256, and the session's tokens sealed under a key
//! derived from the id, so neither a leaked table nor a leaked backup can be replayed as a
//! cookie or opened for its bearer tokens.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use entity::web_session::{self, ActiveModel, Entity, Model};
use rand::RngCore;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

    /// The key the session's tokens are sealed under: HKDF-SHA256 of the id, for this use only.
    fn sealing_key(&self) -> LessSafeKey {
        let prk = Salt::new(HKDF_SHA256, b"userprofile web session").extract(self.0.as_bytes());
        let okm = prk
            .expand(&[b"tokens v1"], &CHACHA20_POLY1305)
            .expect("a 32-byte key is within HKDF-SHA256's output");
        LessSafeKey::new(UnboundKey::from(okm))
    }
}

/// A web session found by its cookie: the id, which opens its tokens, and its row.
#[derive(Clone, Debug)]
pub struct WebSession {
    /// The id the cookie carries.
    pub id: SessionId,
    /// The stored row.
    pub row: Model,
}

impl WebSession {
    /// The session's tokens, when it is signed in. Tokens that do not open (a row tampered
    /// with, or written for another id) are no tokens: the visit is signed out.
    pub fn tokens(&self) -> Option<Tokens> {
        let sealed = URL_SAFE_NO_PAD
            .decode(self.row.sealed_tokens.as_deref()?)
            .ok()?;
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let aad = Aad::from(self.row.id_hash.as_bytes());
        let json = self
            .id
            .sealing_key()
            .open_in_place(nonce, aad, &mut body)
            .ok()?;
        serde_json::from_slice(json).ok()
    }

    /// `tokens` sealed for this session (a fresh random nonce each time), bound to its row.
    fn seal(&self, tokens: &Tokens) -> Result<String> {
        let mut body = serde_json::to_vec(tokens).map_err(Error::internal)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = Aad::from(self.row.id_hash.as_bytes());
        self.id
            .sealing_key()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aad, &mut body)
            .map_err(|_| {
                Error::internal(anyhow::anyhow!("sealing a web session's tokens failed"))
            })?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&body);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }
}

/// What a signed-in session holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tokens {
    /// The bearer token the session signs in with, verified on every request like any other.
    pub access: String,
    /// The provider's ID token, sent back as `id_token_hint` on sign-out.
    pub id_token: Option<String>,
    /// The provider's refresh token, which renews the access token when it expires.
    pub refresh: Option<String>,
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
pub async fn create(db: &DatabaseConnection, hours: u64) -> Result<WebSession> {
    let id = SessionId::random();
    let now = Utc::now();
    let hours = i64::try_from(hours).unwrap_or(i64::MAX).min(24 * 365);
    let row = ActiveModel {
        id_hash: Set(id.hash()),
        csrf_token: Set(random_hex()),
        sealed_tokens: Set(None),
        issuer: Set(None),
        tenant: Set(None),
        pending: Set(None),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(hours)),
    }
    .insert(db)
    .await?;
    Ok(WebSession { id, row })
}

/// The unexpired session of `id`, if there is one.
pub async fn find(db: &DatabaseConnection, id: SessionId) -> Result<Option<WebSession>> {
    let row = Entity::find_by_id(id.hash())
        .filter(web_session::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?;
    Ok(row.map(|row| WebSession { id, row }))
}

/// Signs the session in with `tokens` (sealed), under a fresh CSRF token, and forgets any
/// pending sign-in.
pub async fn sign_in(
    db: &DatabaseConnection,
    session: WebSession,
    tokens: &Tokens,
    issuer: String,
) -> Result<Model> {
    let sealed = session.seal(tokens)?;
    let mut active: ActiveModel = session.row.into();
    active.sealed_tokens = Set(Some(sealed));
    active.issuer = Set(Some(issuer));
    active.tenant = Set(None);
    active.pending = Set(None);
    active.csrf_token = Set(random_hex());
    Ok(active.update(db).await?)
}

/// Replaces the tokens the session held when it was loaded with renewed ones. When another
/// request renewed or ended the session meanwhile, nothing is written and `false` returned.
pub async fn renew(db: &DatabaseConnection, session: &WebSession, tokens: &Tokens) -> Result<bool> {
    let sealed = session.seal(tokens)?;
    let written = Entity::update_many()
        .col_expr(web_session::Column::SealedTokens, Expr::value(sealed))
        .filter(web_session::Column::IdHash.eq(session.row.id_hash.as_str()))
        .filter(web_session::Column::SealedTokens.eq(session.row.sealed_tokens.clone()))
        .exec(db)
        .await?;
    Ok(written.rows_affected == 1)
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

/// Ends the session.
pub async fn delete(db: &DatabaseConnection, row: &Model) -> Result<()> {
    Entity::delete_by_id(row.id_hash.clone()).exec(db).await?;
    Ok(())
}

/// Deletes every expired session; returns how many.
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64> {
    let deleted = Entity::delete_many()
        .filter(web_session::Column::ExpiresAt.lte(Utc::now()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
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

    fn session(id: SessionId) -> WebSession {
        let now = Utc::now();
        let row = Model {
            id_hash: id.hash(),
            csrf_token: random_hex(),
            sealed_tokens: None,
            issuer: None,
            tenant: None,
            pending: None,
            created_at: now,
            expires_at: now,
        };
        WebSession { id, row }
    }

    #[test]
    fn tokens_open_only_with_their_sessions_id_and_row() {
        let mut own = session(SessionId::random());
        let tokens = Tokens {
            access: "header.payload.signature".into(),
            id_token: Some("id.token.here".into()),
            refresh: Some("refresh-token".into()),
        };
        let sealed = own.seal(&tokens).expect("sealed");
        assert!(
            !sealed.contains("payload") && !sealed.contains('.'),
            "{sealed}"
        );
        assert_ne!(
            own.seal(&tokens).expect("sealed"),
            sealed,
            "a fresh nonce each time"
        );
        own.row.sealed_tokens = Some(sealed.clone());
        assert_eq!(own.tokens().map(|t| t.access), Some(tokens.access.clone()));

        // Another id (say, a guessed cookie put on this row) opens nothing.
        let mut other = session(SessionId::random());
        other.row = own.row.clone();
        assert!(other.tokens().is_none());
        // Nor does the blob moved to another row, nor a changed byte.
        let mut moved = session(own.id.clone());
        moved.row.id_hash = "0".repeat(64);
        moved.row.sealed_tokens = Some(sealed.clone());
        assert!(moved.tokens().is_none());
        let mut flipped = URL_SAFE_NO_PAD.decode(&sealed).expect("base64");
        *flipped.last_mut().expect("tag") ^= 1;
        own.row.sealed_tokens = Some(URL_SAFE_NO_PAD.encode(flipped));
        assert!(own.tokens().is_none());
        own.row.sealed_tokens = Some("AA".into());
        assert!(own.tokens().is_none());
    }
}
