//! A signed-in (or signing-in) browser session of the web UI.

use sea_orm::entity::prelude::*;

/// A row of `web_sessions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "web_sessions")]
pub struct Model {
    /// Hex SHA-256 of the session id the cookie carries (the id itself is never stored).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    /// The token every state-changing request of the session must repeat.
    pub csrf_token: String,
    /// The session's tokens (access, ID, refresh), sealed under a key derived from the session
    /// id: without the cookie they open to no one.
    pub sealed_tokens: Option<String>,
    /// The issuer that signed the session in (its end-session endpoint ends it there too).
    pub issuer: Option<String>,
    /// The active tenant the user picked (id), else the primary one.
    pub tenant: Option<String>,
    /// A sign-in under way at the provider: state, nonce and PKCE verifier.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub pending: Option<Json>,
    /// When the session started.
    pub created_at: DateTimeUtc,
    /// When it ends, whatever happens.
    pub expires_at: DateTimeUtc,
}

/// Sessions have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
