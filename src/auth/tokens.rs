//! What a verified bearer token says: who, from which issuer, with which claims.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use entity::membership::Role;

use crate::error::Error;
use crate::integrity::nul;

pub use crate::config::DEFAULT_OPERATOR_SCOPE;

/// A token whose signature, issuer, audience and lifetime have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// When the token may be used.
    pub lifetime: Lifetime,
    /// Every claim of the token (and of userinfo, when it was consulted).
    pub claims: Map<String, Value>,
    /// Tenant memberships (or, for operators, grants) the token asserts.
    pub tenants: Vec<TenantClaim>,
    /// A person or an operator.
    pub kind: TokenKind,
}

/// When a token may be used: from `nbf` to `exp`, both stretched by the issuer's clock leeway.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lifetime {
    /// `nbf`, seconds since the epoch, if the token has one.
    pub not_before: Option<i64>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// Clock difference tolerated on both ends, in seconds.
    pub leeway: i64,
}

impl Lifetime {
    /// Reads `exp` (required) and `nbf` from a token's claims.
    pub fn of(claims: &Map<String, Value>, leeway: u64) -> Result<Lifetime, Error> {
        let expires_at = seconds(claims, "exp")?.ok_or_else(|| {
            Error::Unauthenticated("the token lacks a required claim (exp)".into())
        })?;
        Ok(Lifetime {
            not_before: seconds(claims, "nbf")?,
            expires_at,
            leeway: i64::try_from(leeway).unwrap_or(i64::MAX),
        })
    }

    /// The one rule for "may this token be used at `now`", applied when a token is verified
    /// and again on every use of the verified-token cache, so both always agree.
    pub fn check(&self, now: i64) -> Result<(), Error> {
        if self.expires_at.saturating_add(self.leeway) < now {
            return Err(Error::Unauthenticated("the token has expired".into()));
        }
        if self
            .not_before
            .is_some_and(|nbf| nbf.saturating_sub(self.leeway) > now)
        {
            return Err(Error::Unauthenticated(
                "the token is not valid yet (nbf)".into(),
            ));
        }
        Ok(())
    }
}

/// A NumericDate claim (RFC 7519: seconds, possibly fractional), if present.
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, Error> {
    let Some(value) = claims.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    value
        .as_i64()
        .or_else(|| value.as_f64().map(|s| s.floor() as i64))
        .map(Some)
        .ok_or_else(|| {
            Error::Unauthenticated(format!(
                "the token's {name} claim is not a number of seconds"
            ))
        })
}

/// Who holds a token.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A person signed in at the identity provider.
    User,
    /// A service account (client-credentials token) without the operator scope: no rights.
    Client,
    /// A service account with operator rights.
    Operator {
        /// The OAuth2 client that holds the token.
        client_id: String,
        /// The tenants it may act in.
        grants: TenantGrants,
    },
}

/// The tenants an operator may act in.
#[derive(Clone, Debug, PartialEq)]
pub enum TenantGrants {
    /// Every tenant, including creating new ones.
    All,
    /// Only the tenants with these slugs.
    Only(Vec<String>),
}

impl TenantGrants {
    /// Whether the grant covers the tenant with `slug`.
    pub fn covers(&self, slug: &str) -> bool {
        match self {
            TenantGrants::All => true,
            TenantGrants::Only(slugs) => slugs.iter().any(|s| s == slug),
        }
    }
}

/// One tenant membership asserted by a token claim.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TenantClaim {
    /// The tenant's slug.
    pub id: String,
    /// Display name, used when the tenant is created on first sight.
    #[serde(default)]
    pub name: Option<String>,
    /// Role in the tenant; `member` when absent.
    #[serde(default, deserialize_with = "deserialize_role")]
    pub role: Option<Role>,
}

fn deserialize_role<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| {
        parse_role(&t).ok_or_else(|| serde::de::Error::custom(format!("unknown role {t}")))
    })
    .transpose()
}

/// Parses a role name as it appears in claims (`owner`, `admin`, `member`, any case).
pub fn parse_role(text: &str) -> Option<Role> {
    match text.to_ascii_lowercase().as_str() {
        "owner" => Some(Role::Owner),
        "admin" => Some(Role::Admin),
        "member" => Some(Role::Member),
        _ => None,
    }
}

/// How an issuer's claims are read: which scope makes an operator, which claim lists tenants.
#[derive(Clone, Debug)]
pub struct ClaimRules {
    /// Scope that makes a token an operator's.
    pub operator_scope: String,
    /// Tenants granted to operator clients by client id, on top of the token's claim.
    pub operator_tenants: BTreeMap<String, Vec<String>>,
    /// Claim holding tenant memberships.
    pub tenants_claim: String,
}

impl Default for ClaimRules {
    fn default() -> Self {
        ClaimRules {
            operator_scope: DEFAULT_OPERATOR_SCOPE.to_owned(),
            operator_tenants: BTreeMap::new(),
            tenants_claim: "tenants".to_owned(),
        }
    }
}

impl VerifiedToken {
    /// Builds a verified token from checked claims, telling users from operators: an operator
    /// token carries the operator scope.
    pub fn new(
        issuer: String,
        mut subject: String,
        lifetime: Lifetime,
        mut claims: Map<String, Value>,
        rules: &ClaimRules,
    ) -> VerifiedToken {
        subject.retain(|c| c != '\0');
        strip_nul(&mut claims);
        let tenants = tenant_claims(claims.get(&rules.tenants_claim));
        let mut token = VerifiedToken {
            issuer,
            subject,
            lifetime,
            claims,
            tenants,
            kind: TokenKind::User,
        };
        if token.has_scope(&rules.operator_scope) {
            let client_id = token
                .claim_str("client_id")
                .unwrap_or(&token.subject)
                .to_owned();
            let configured = rules.operator_tenants.get(&client_id).into_iter().flatten();
            let slugs: Vec<String> = token
                .tenants
                .iter()
                .map(|t| &t.id)
                .chain(configured)
                .cloned()
                .collect();
            let grants = if slugs.iter().any(|s| s == "*") {
                TenantGrants::All
            } else {
                TenantGrants::Only(slugs)
            };
            token.kind = TokenKind::Operator { client_id, grants };
        } else if token.claim_str("client_id") == Some(&token.subject) {
            token.kind = TokenKind::Client;
        }
        token
    }

    /// Adds the claims of another source (the provider's userinfo) that the token lacks,
    /// cleaned like the token's own.
    pub fn add_claims(&mut self, mut more: Map<String, Value>, rules: &ClaimRules) {
        strip_nul(&mut more);
        for (name, value) in more {
            self.claims.entry(name).or_insert(value);
        }
        self.tenants = tenant_claims(self.claims.get(&rules.tenants_claim));
    }

    /// A string claim, if present and a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Whether the token's `scope` claim contains `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claim_str("scope")
            .is_some_and(|scopes| scopes.split_whitespace().any(|s| s == scope))
    }
}

/// Claims are stored (users, tenants, the card's provider values), and a provider's U+0000 must
/// neither reach the database nor lock the user out: every claim is read through here, which
/// removes it.
fn strip_nul(claims: &mut Map<String, Value>) {
    let mut all = Value::Object(std::mem::take(claims));
    nul::strip(&mut all);
    if let Value::Object(cleaned) = all {
        *claims = cleaned;
    }
}

/// Reads tenant memberships from a claim value: a list of `{id, name, role}`, or a
/// Zitadel-style roles object `{role: {org id: org name}}` (the strongest role per org wins).
/// Malformed entries are skipped with a warning: a provider's slip must not lock users out.
pub fn tenant_claims(value: Option<&Value>) -> Vec<TenantClaim> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match TenantClaim::deserialize(item) {
                Ok(claim) => Some(claim),
                Err(error) => {
                    tracing::warn!(%error, "ignoring a malformed entry of the tenants claim");
                    None
                }
            })
            .collect(),
        Some(Value::Object(roles)) => zitadel_tenants(roles),
        _ => Vec::new(),
    }
}

fn zitadel_tenants(roles: &Map<String, Value>) -> Vec<TenantClaim> {
    let mut tenants: Vec<TenantClaim> = Vec::new();
    for (role_name, orgs) in roles {
        let Some(role) = parse_role(role_name) else {
            tracing::debug!(role_name, "ignoring a role the service does not know");
            continue;
        };
        let Some(orgs) = orgs.as_object() else {
            continue;
        };
        for (org_id, org_name) in orgs {
            match tenants.iter_mut().find(|t| &t.id == org_id) {
                Some(existing) if existing.role.is_none_or(|r| role.includes(r)) => {
                    existing.role = Some(role)
                }
                Some(_) => {}
                None => tenants.push(TenantClaim {
                    id: org_id.clone(),
                    name: org_name.as_str().map(str::to_owned),
                    role: Some(role),
                }),
            }
        }
    }
    tenants
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn lifetime(claims: Value) -> Lifetime {
        Lifetime::of(claims.as_object().unwrap(), 30).unwrap()
    }

    #[test]
    fn the_leeway_stretches_both_ends_alike() {
        let window = lifetime(json!({"nbf": 1_000, "exp": 2_000}));
        assert!(window.check(969).is_err());
        assert!(window.check(970).is_ok());
        assert!(window.check(2_030).is_ok());
        let late = window.check(2_031).unwrap_err();
        assert!(matches!(late, Error::Unauthenticated(m) if m.contains("expired")));
        let early = window.check(900).unwrap_err();
        assert!(matches!(early, Error::Unauthenticated(m) if m.contains("nbf")));
    }

    #[test]
    fn lifetime_claims_must_be_numbers_and_exp_is_required() {
        assert_eq!(
            lifetime(json!({"exp": 2_000.7, "nbf": null})).expires_at,
            2_000
        );
        assert!(Lifetime::of(json!({}).as_object().unwrap(), 0).is_err());
        assert!(Lifetime::of(json!({"exp": 1, "nbf": "soon"}).as_object().unwrap(), 0).is_err());
    }
}
