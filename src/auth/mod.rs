//! Authentication: bearer tokens in, an [`Identity`] out (sign-in, in `crate::signin`, turns a
//! user's into a [`Principal`]); plus the per-request [`Session`] and the role guard every admin
//! field uses.

pub mod dev;
pub mod header;
pub mod oidc;
pub mod principal;
pub mod tokens;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use moka::future::Cache;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
pub use crate::core::TenantScope;
use crate::error::Error;
use crate::metrics::{CacheCounters, CacheName, Metrics, RefusalReason};
pub use principal::{Actor, Membership, Operator, Principal, SignedInUser};
use tokens::{TokenKind, VerifiedToken};

type TokenHash = [u8; 32];

/// How long a verified token is remembered (`exp` is checked on every hit besides).
const VERIFIED_CACHE_LIFETIME: Duration = Duration::from_secs(300);

/// Who a verified token speaks for.
#[derive(Clone, Debug)]
pub enum Identity {
    /// A person, by internal id, signed in.
    User(Uuid),
    /// A service account.
    Operator(Operator),
}

/// Verifies bearer tokens and remembers which user each signed in, caching both steps per token.
pub struct Authenticator {
    dev_key: Option<dev::DevKey>,
    providers: oidc::Providers,
    verified: Cache<TokenHash, Arc<VerifiedToken>>,
    signed_in: Cache<TokenHash, Uuid>,
    metrics: Arc<Metrics>,
    verified_counters: CacheCounters,
    signed_in_counters: CacheCounters,
}

impl Authenticator {
    /// Builds the authenticator; development tokens are trusted only in dev mode.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Authenticator> {
        let dev_key = if config.dev_mode {
            Some(dev::DevKey::load_or_create(&config.data_dir)?)
        } else {
            None
        };
        Ok(Authenticator {
            dev_key,
            providers: oidc::Providers::new(&config.oidc.issuers)?,
            verified: token_cache(VERIFIED_CACHE_LIFETIME),
            signed_in: token_cache(Duration::from_secs(config.auth.signed_in_cache_seconds)),
            verified_counters: metrics.cache(CacheName::verified_tokens),
            signed_in_counters: metrics.cache(CacheName::signed_in_tokens),
            metrics,
        })
    }

    /// Discovers the configured identity providers and fetches their keys.
    pub async fn warm_up(&self) {
        self.providers.warm_up().await;
    }

    /// Checks a bearer token; a refusal is UNAUTHENTICATED and says which check failed.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, Error> {
        self.verify_hashed(token, token_hash(token)).await
    }

    /// [`Self::verify`] of a token whose hash the caller has already computed (hashing a
    /// token is a tenth of what a cached `me` costs this service).
    async fn verify_hashed(
        &self,
        token: &str,
        hash: TokenHash,
    ) -> Result<Arc<VerifiedToken>, Error> {
        self.verify_counted(token, hash)
            .await
            .inspect_err(|refusal| {
                self.metrics.token_refused(refusal_reason(refusal));
            })
    }

    /// Who a token speaks for (issuer and subject), if it verifies; a refusal is not counted
    /// here (the request's own verification counts it).
    pub async fn subject_quietly(&self, token: &str) -> Option<String> {
        let verified = self.verify_counted(token, token_hash(token)).await.ok()?;
        Some(format!("{} {}", verified.issuer, verified.subject))
    }

    async fn verify_counted(
        &self,
        token: &str,
        hash: TokenHash,
    ) -> Result<Arc<VerifiedToken>, Error> {
        let cached = self.verified.get(&hash).await;
        self.verified_counters.record(cached.is_some());
        if let Some(hit) = cached {
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

    /// Verifies a token and tells who it speaks for. A user's token is passed to `sign_in` on
    /// its first request (and again once the signed-in cache forgets it); later requests reuse
    /// the user id it returned. Memberships are not cached: the caller loads them per request.
    pub async fn authenticate<F>(
        &self,
        token: &str,
        sign_in: impl FnOnce(Arc<VerifiedToken>) -> F,
    ) -> Result<Identity, Error>
    where
        F: Future<Output = Result<Uuid, Error>>,
    {
        let hash = token_hash(token);
        let verified = self.verify_hashed(token, hash).await?;
        match &verified.kind {
            TokenKind::Operator { client_id, grants } => Ok(Identity::Operator(Operator {
                client_id: client_id.clone(),
                grants: grants.clone(),
            })),
            TokenKind::Client => Err(Error::Forbidden(
                "a client token without the operator scope has no rights here".into(),
            )),
            TokenKind::User => {
                let cached = self.signed_in.get(&hash).await;
                self.signed_in_counters.record(cached.is_some());
                if let Some(id) = cached {
                    return Ok(Identity::User(id));
                }
                let id = sign_in(verified).await?;
                self.signed_in.insert(hash, id).await;
                Ok(Identity::User(id))
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

/// The metrics label of a refusal, read from the messages this module's refusals write (a
/// unit test pins each one).
fn refusal_reason(refusal: &Error) -> RefusalReason {
    let Error::Unauthenticated(message) = refusal else {
        return RefusalReason::other;
    };
    const REASONS: &[(&str, RefusalReason)] = &[
        ("well-formed", RefusalReason::malformed),
        ("unsigned", RefusalReason::malformed),
        ("expired", RefusalReason::expired),
        ("not valid yet", RefusalReason::not_yet_valid),
        ("signature", RefusalReason::signature),
        ("algorithm", RefusalReason::algorithm),
        ("signing key", RefusalReason::unknown_key),
        ("HMAC", RefusalReason::algorithm),
        ("issuer", RefusalReason::issuer),
        ("audience", RefusalReason::audience),
        ("claim", RefusalReason::missing_claim),
        ("development mode is off", RefusalReason::development_off),
        ("cannot be reached", RefusalReason::provider_unavailable),
    ];
    REASONS
        .iter()
        .find(|(phrase, _)| message.contains(phrase))
        .map_or(RefusalReason::other, |(_, reason)| *reason)
}

/// A cache keyed by token hash whose entries live at most `lifetime`; the token's lifetime is
/// checked on every hit besides.
fn token_cache<V: Clone + Send + Sync + 'static>(lifetime: Duration) -> Cache<TokenHash, V> {
    Cache::builder()
        .max_capacity(100_000)
        .time_to_live(lifetime)
        .build()
}

fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_message_has_its_reason() {
        let cases = [
            (
                "the bearer token is not a well-formed JWT",
                RefusalReason::malformed,
            ),
            (
                "unsigned tokens (alg: none) are refused",
                RefusalReason::malformed,
            ),
            ("the token has expired", RefusalReason::expired),
            (
                "the token is not valid yet (nbf)",
                RefusalReason::not_yet_valid,
            ),
            ("the token's signature is invalid", RefusalReason::signature),
            (
                "the token's algorithm RS256 does not match its signing key",
                RefusalReason::algorithm,
            ),
            (
                "the token's signing key k1 is not among the issuer's keys",
                RefusalReason::unknown_key,
            ),
            (
                "HMAC-signed tokens are refused: this issuer signs with public keys",
                RefusalReason::algorithm,
            ),
            (
                "the token's issuer \"x\" is not trusted",
                RefusalReason::issuer,
            ),
            (
                "the token's audience is not accepted",
                RefusalReason::audience,
            ),
            (
                "the token lacks a required claim (exp)",
                RefusalReason::missing_claim,
            ),
            (
                "development tokens are not accepted: development mode is off",
                RefusalReason::development_off,
            ),
            (
                "the identity provider https://id cannot be reached to check the token",
                RefusalReason::provider_unavailable,
            ),
        ];
        for (message, reason) in cases {
            let refusal = Error::Unauthenticated(message.to_owned());
            assert_eq!(refusal_reason(&refusal), reason, "{message}");
        }
        assert_eq!(
            refusal_reason(&Error::NotFound("x".into())),
            RefusalReason::other
        );
    }
}
