//! Development sign-in: tokens signed with a key generated into the data folder.
//!
//! Only trusted when `dev_mode` is on; `userprofile dev-token` issues them.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::tokens::Lifetime;
use crate::error::Error;

/// Issuer (and audience) of development tokens.
pub const DEV_ISSUER: &str = "urn:userprofile:dev";

/// The HMAC key that signs development tokens.
#[derive(Clone)]
pub struct DevKey {
    secret: Vec<u8>,
}

impl DevKey {
    /// Where the key lives inside the data folder.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("dev-signing.key")
    }

    /// Reads the key from the data folder, generating it on first use.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DevKey> {
        Ok(DevKey {
            secret: crate::keyfile::load_or_create(&Self::path(data_dir))?,
        })
    }

    /// Signs a development token.
    pub fn issue(&self, request: &DevTokenRequest) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let mut claims = Map::new();
        claims.insert("iss".into(), DEV_ISSUER.into());
        claims.insert("aud".into(), DEV_ISSUER.into());
        claims.insert("sub".into(), request.subject.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + request.ttl_seconds).into());
        claims.insert("tenants".into(), serde_json::to_value(&request.tenants)?);
        if request.operator {
            claims.insert("client_id".into(), request.subject.clone().into());
            claims.insert("scope".into(), super::tokens::DEFAULT_OPERATOR_SCOPE.into());
        }
        for (name, value) in &request.extra_claims {
            claims.insert(name.clone(), value.clone());
        }
        let key = EncodingKey::from_secret(&self.secret);
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &key,
        )?)
    }

    /// Verifies a development token's algorithm, signature, issuer, audience and lifetime
    /// (`exp` and `nbf`, with the leeway every issuer gets by default).
    pub fn verify(&self, token: &str) -> Result<(String, Lifetime, Map<String, Value>), Error> {
        let (algorithm, _) = super::header::signing_header(token)?;
        if algorithm != Algorithm::HS256 {
            return Err(Error::Unauthenticated(format!(
                "the token's signing algorithm {algorithm:?} is not accepted: development tokens are HS256"
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[DEV_ISSUER]);
        validation.set_audience(&[DEV_ISSUER]);
        // Lifetimes are judged by `Lifetime::check`, the rule the token cache uses too.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|e| super::refusal(&e))?;
        let claims = data.claims;
        let lifetime = Lifetime::of(&claims, crate::config::DEFAULT_LEEWAY_SECONDS)?;
        lifetime.check(super::now())?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok((subject.to_owned(), lifetime, claims))
    }
}

/// What a development token asserts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevTokenRequest {
    /// Subject.
    pub subject: String,
    /// Tenant memberships (or, for an operator, grants; `*` grants every tenant).
    pub tenants: Vec<DevTenant>,
    /// Whether the token is an operator's.
    pub operator: bool,
    /// Lifetime in seconds.
    pub ttl_seconds: i64,
    /// Further claims (email, name, …).
    pub extra_claims: Map<String, Value>,
}

/// A tenant entry in a development token, shaped like the `tenants` claim.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevTenant {
    /// Tenant slug.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Role name.
    pub role: String,
}
