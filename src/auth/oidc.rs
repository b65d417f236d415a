//! OpenID Connect providers: discovery, key sets (refreshed on an unknown `kid`, at most once
//! per floor interval), access-token verification and the userinfo fallback.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{IssuerUrl, JsonWebKeySetUrl};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};

use super::tokens::{ClaimRules, Lifetime, TokenKind, VerifiedToken};
use crate::config::IssuerConfig;
use crate::error::Error;

/// Every trusted provider, by issuer URL.
pub struct Providers {
    by_issuer: HashMap<String, Provider>,
    http: reqwest::Client,
}

struct Provider {
    config: IssuerConfig,
    rules: ClaimRules,
    keys: RwLock<HashMap<String, VerificationKey>>,
    endpoints: Mutex<Endpoints>,
}

/// What discovery found, and when keys were last fetched.
#[derive(Default)]
struct Endpoints {
    jwks_uri: Option<JsonWebKeySetUrl>,
    userinfo: Option<String>,
    last_fetch: Option<Instant>,
}

#[derive(Clone)]
struct VerificationKey {
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl Providers {
    /// Sets up the configured issuers; discovery happens on first use, so the service starts
    /// even while a provider is down.
    pub fn new(issuers: &[IssuerConfig]) -> anyhow::Result<Providers> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        let by_issuer = issuers
            .iter()
            .map(|config| (config.issuer.clone(), Provider::new(config.clone())))
            .collect();
        Ok(Providers { by_issuer, http })
    }

    /// Discovers every provider and fetches its keys at start-up, so that first requests need
    /// not wait; a provider that is down is retried by the first token that needs it.
    pub async fn warm_up(&self) {
        for provider in self.by_issuer.values() {
            let mut endpoints = provider.endpoints.lock().await;
            if let Ok(keys) = provider.fetch_keys(&self.http, &mut endpoints).await {
                endpoints.last_fetch = Some(Instant::now());
                *provider.keys.write().await = keys;
            }
        }
    }

    /// Verifies an access token of a configured issuer; each refusal names the failed check.
    pub async fn verify(&self, token: &str, issuer: &str) -> Result<VerifiedToken, Error> {
        let provider = self.by_issuer.get(issuer).ok_or_else(|| {
            Error::Unauthenticated(format!("the token's issuer {issuer:?} is not trusted"))
        })?;
        let (algorithm, kid) = signing_header(token)?;
        let key = provider.key(&self.http, kid.as_deref(), algorithm).await?;
        if !key.algorithms.contains(&algorithm) {
            return Err(Error::Unauthenticated(format!(
                "the token's algorithm {algorithm:?} does not match its signing key"
            )));
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(
            token,
            &key.key,
            &provider.validation(algorithm),
        )
        .map_err(|e| super::refusal(&e))?;
        let mut claims = data.claims;
        let lifetime = Lifetime::of(&claims, provider.config.leeway_seconds)?;
        lifetime.check(super::now())?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        apply_mappings(&mut claims, &provider.config.claim_mappings);
        let mut verified = VerifiedToken::new(
            issuer.to_owned(),
            subject,
            lifetime,
            claims,
            &provider.rules,
        );
        if verified.kind == TokenKind::User && lacks_profile_claims(&verified.claims) {
            provider
                .add_userinfo(&self.http, token, &mut verified)
                .await;
        }
        Ok(verified)
    }
}

impl Provider {
    fn new(config: IssuerConfig) -> Provider {
        let rules = ClaimRules {
            operator_scope: config.operator_scope.clone(),
            operator_tenants: config.operator_tenants.clone(),
            tenants_claim: config.tenants_claim.clone(),
        };
        Provider {
            config,
            rules,
            keys: RwLock::new(HashMap::new()),
            endpoints: Mutex::new(Endpoints::default()),
        }
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&self.config.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Lifetimes are judged by `Lifetime::check`, the rule the token cache uses too.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation
    }

    /// The key for `kid`; an unknown one triggers a key-set fetch unless one happened within
    /// the floor interval, so a flood of made-up `kid`s cannot hammer the provider.
    async fn key(
        &self,
        http: &reqwest::Client,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<VerificationKey, Error> {
        if let Some(key) = self.lookup(kid, algorithm).await {
            return Ok(key);
        }
        let mut endpoints = self.endpoints.lock().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(key) = self.lookup(kid, algorithm).await {
            return Ok(key);
        }
        let floor = Duration::from_secs(self.config.jwks_refresh_floor_seconds);
        if endpoints.last_fetch.is_some_and(|at| at.elapsed() < floor) {
            return Err(unknown_key(kid));
        }
        endpoints.last_fetch = Some(Instant::now());
        let fetched = self.fetch_keys(http, &mut endpoints).await?;
        *self.keys.write().await = fetched;
        drop(endpoints);
        self.lookup(kid, algorithm)
            .await
            .ok_or_else(|| unknown_key(kid))
    }

    async fn lookup(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<VerificationKey> {
        let keys = self.keys.read().await;
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            // Without a kid, only an unambiguous key for the algorithm will do.
            None => {
                let mut fitting = keys.values().filter(|k| k.algorithms.contains(&algorithm));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Some(key.clone()),
                    _ => None,
                }
            }
        }
    }

    async fn fetch_keys(
        &self,
        http: &reqwest::Client,
        endpoints: &mut Endpoints,
    ) -> Result<HashMap<String, VerificationKey>, Error> {
        let key_set = match &endpoints.jwks_uri {
            Some(uri) => CoreJsonWebKeySet::fetch_async(uri, http)
                .await
                .map_err(|e| provider_down(&self.config.issuer, &e))?,
            None => {
                let issuer = IssuerUrl::new(self.config.issuer.clone())
                    .map_err(|e| provider_down(&self.config.issuer, &e))?;
                let metadata = CoreProviderMetadata::discover_async(issuer, http)
                    .await
                    .map_err(|e| provider_down(&self.config.issuer, &e))?;
                endpoints.jwks_uri = Some(metadata.jwks_uri().clone());
                endpoints.userinfo = metadata.userinfo_endpoint().map(|u| u.to_string());
                metadata.jwks().clone()
            }
        };
        Ok(verification_keys(&key_set))
    }

    /// Adds the claims the access token lacks from the provider's userinfo endpoint. A
    /// failure only leaves the card less hydrated, so it is logged, not fatal.
    async fn add_userinfo(
        &self,
        http: &reqwest::Client,
        token: &str,
        verified: &mut VerifiedToken,
    ) {
        let Some(url) = self.endpoints.lock().await.userinfo.clone() else {
            return;
        };
        let response = http.get(&url).bearer_auth(token).send().await;
        let info = match response.and_then(reqwest::Response::error_for_status) {
            Ok(response) => response.json::<Map<String, Value>>().await,
            Err(error) => Err(error),
        };
        match info {
            Ok(mut info) if info.get("sub").and_then(Value::as_str) == Some(&verified.subject) => {
                apply_mappings(&mut info, &self.config.claim_mappings);
                verified.add_claims(info, &self.rules);
            }
            Ok(_) => {
                tracing::warn!(issuer = %self.config.issuer, "userinfo answered for another subject")
            }
            Err(error) => tracing::warn!(%error, issuer = %self.config.issuer, "userinfo failed"),
        }
    }
}

/// The token's algorithm and key id, refusing HMAC-signed tokens besides what every token's
/// header must pass: an issuer's keys are public, so an HMAC signature made with one proves
/// nothing.
fn signing_header(token: &str) -> Result<(Algorithm, Option<String>), Error> {
    let (algorithm, kid) = super::header::signing_header(token)?;
    if matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(Error::Unauthenticated(
            "HMAC-signed tokens are refused: this issuer signs with public keys".into(),
        ));
    }
    Ok((algorithm, kid))
}

/// Converts a provider's key set to verification keys, keeping only signature keys with a
/// public-key algorithm (a symmetric key in a JWKS is never trusted).
fn verification_keys(key_set: &CoreJsonWebKeySet) -> HashMap<String, VerificationKey> {
    key_set
        .keys()
        .iter()
        .filter_map(|key| {
            let jwk: Jwk = serde_json::from_value(serde_json::to_value(key).ok()?).ok()?;
            let kid = jwk.common.key_id.clone()?;
            let algorithms = algorithms_of(&jwk);
            if algorithms.is_empty() {
                return None;
            }
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((kid, VerificationKey { key, algorithms }))
        })
        .collect()
}

fn algorithms_of(jwk: &Jwk) -> Vec<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => vec![],
    };
    let declared = jwk
        .common
        .key_algorithm
        .and_then(|a| serde_json::to_value(a).ok())
        .and_then(|v| v.as_str().and_then(|s| Algorithm::from_str(s).ok()));
    match declared {
        Some(alg) => by_type.into_iter().filter(|a| *a == alg).collect(),
        None => by_type,
    }
}

fn lacks_profile_claims(claims: &Map<String, Value>) -> bool {
    !["email", "name", "given_name", "family_name"]
        .iter()
        .any(|c| claims.contains_key(*c))
}

fn apply_mappings(
    claims: &mut Map<String, Value>,
    mappings: &std::collections::BTreeMap<String, String>,
) {
    for (standard, theirs) in mappings {
        if let Some(value) = claims.get(theirs).cloned() {
            claims.insert(standard.clone(), value);
        }
    }
}

fn unknown_key(kid: Option<&str>) -> Error {
    Error::Unauthenticated(format!(
        "the token's signing key {} is not among the issuer's keys",
        kid.unwrap_or("(no kid)")
    ))
}

fn provider_down(issuer: &str, error: &dyn std::fmt::Display) -> Error {
    tracing::warn!(%error, issuer, "cannot fetch the identity provider's keys");
    Error::Unauthenticated(format!(
        "the identity provider {issuer} cannot be reached to check the token"
    ))
}
