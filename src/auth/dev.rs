//! Development sign-in: tokens signed with a key generated into the data folder.
//!
//! Only trusted when `dev_mode` is on; `userprofile dev-token` issues them.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
        let path = Self::path(data_dir);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(DevKey {
                secret: hex::decode(text.trim())?,
            });
        }
        std::fs::create_dir_all(data_dir)?;
        let mut secret = vec![0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        write_private(&path, &hex::encode(&secret))?;
        Ok(DevKey { secret })
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

    /// Verifies a development token's signature, issuer, audience and lifetime.
    pub fn verify(&self, token: &str) -> Result<(String, i64, Map<String, Value>), Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[DEV_ISSUER]);
        validation.set_audience(&[DEV_ISSUER]);
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|e| super::refusal(&e))?;
        let claims = data.claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        Ok((subject.to_owned(), expires_at, claims))
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

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}
