//! Authentication: bearer tokens in, a [`Principal`] out; plus the per-request [`Session`]
//! and the role guard every admin field uses.

pub mod dev;
pub mod guard;
pub mod header;
pub mod oidc;
pub mod principal;
pub mod session;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use moka::future::Cache;
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::error::Error;
pub use principal::{Actor, Membership, Operator, Principal, SignedInUser};
pub use session::{Session, TenantScope};
use tokens::{TokenKind, VerifiedToken};

type TokenHash = [u8; 32];

/// Verifies bearer tokens and turns them into principals, caching both steps per token.
pub struct Authenticator {
    dev_key: Option<dev::DevKey>,
    providers: oidc::Providers,
    verified: Cache<TokenHash, Arc<VerifiedToken>>,
    signed_in: Cache<TokenHash, Uuid>,
}

impl Authenticator {
    /// Builds the authenticator; development tokens are trusted only in dev mode.
    pub fn new(config: &Config) -> anyhow::Result<Authenticator> {
        let dev_key = if config.dev_mode {
            Some(dev::DevKey::load_or_create(&config.data_dir)?)
        } else {
            None
        };
        Ok(Authenticator {
            dev_key,
            providers: oidc::Providers::new(&config.oidc.issuers)?,
            verified: token_cache(),
            signed_in: token_cache(),
        })
    }

    /// Discovers the configured identity providers and fetches their keys.
    pub async fn warm_up(&self) {
        self.providers.warm_up().await;
    }

    /// Checks a bearer token; a refusal is UNAUTHENTICATED and says which check failed.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, Error> {
        let hash = token_hash(token);
        if let Some(hit) = self.verified.get(&hash).await {
            // The rule fresh verification applied, with the same leeway.
            if let Err(refusal) = hit.lifetime.check(now()) {
                self.verified.invalidate(&hash).await;
                return Err(refusal);
            }
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_uncached(token).await?);
        self.verified.insert(hash, verified.clone()).await;
        Ok(verified)
    }

    /// Verifies a token and resolves its principal: on the first request with a token the
    /// user is provisioned (or refreshed) from its claims; later requests only load the user.
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> Result<Principal, Error> {
        let verified = self.verify(token).await?;
        match &verified.kind {
            TokenKind::Operator { client_id, grants } => Ok(Principal::Operator(Operator {
                client_id: client_id.clone(),
                grants: grants.clone(),
            })),
            TokenKind::Client => Err(Error::Forbidden(
                "a client token without the operator scope has no rights here".into(),
            )),
            TokenKind::User => {
                let hash = token_hash(token);
                let user_id = match self.signed_in.get(&hash).await {
                    Some(id) => id,
                    None => {
                        let id = crate::users::provision(db, &verified).await?;
                        self.signed_in.insert(hash, id).await;
                        id
                    }
                };
                Ok(Principal::User(crate::users::load(db, user_id).await?))
            }
        }
    }

    async fn verify_uncached(&self, token: &str) -> Result<VerifiedToken, Error> {
        let unverified = jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, Value>>(
            token,
        )
        .map_err(|_| Error::Unauthenticated("the bearer token is not a well-formed JWT".into()))?;
        let issuer = unverified.get("iss").and_then(Value::as_str).unwrap_or("");
        if issuer == dev::DEV_ISSUER {
            let Some(key) = &self.dev_key else {
                return Err(Error::Unauthenticated(
                    "development tokens are not accepted: development mode is off".into(),
                ));
            };
            let (subject, lifetime, claims) = key.verify(token)?;
            let rules = tokens::ClaimRules::default();
            return Ok(VerifiedToken::new(
                issuer.to_owned(),
                subject,
                lifetime,
                claims,
                &rules,
            ));
        }
        self.providers.verify(token, issuer).await
    }
}

/// Maps a JWT library refusal to an UNAUTHENTICATED error naming the failed check.
pub(crate) fn refusal(error: &jsonwebtoken::errors::Error) -> Error {
    let check = match error.kind() {
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
        ErrorKind::InvalidAudience => "the token's audience is not accepted",
        ErrorKind::InvalidAlgorithm => "the token's signing algorithm is not accepted",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
        _ => "the token could not be verified",
    };
    Error::Unauthenticated(check.to_owned())
}

/// A cache keyed by token hash; entries live at most five minutes, so a user removed or a
/// role changed elsewhere is seen soon, and the token's lifetime is checked on every hit besides.
fn token_cache<V: Clone + Send + Sync + 'static>() -> Cache<TokenHash, V> {
    Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(300))
        .build()
}

fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}
