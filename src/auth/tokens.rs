//! What a verified bearer token says: who, from which issuer, with which claims.

use serde::Deserialize;
use serde_json::{Map, Value};

use entity::membership::Role;

/// The operator scope used when the configuration names none.
pub const DEFAULT_OPERATOR_SCOPE: &str = "userprofile:operator";

/// A token whose signature, issuer, audience and lifetime have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// Every claim of the token (and of userinfo, when it was consulted).
    pub claims: Map<String, Value>,
    /// A person or an operator.
    pub kind: TokenKind,
}

/// Who holds a token.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A person signed in at the identity provider.
    User,
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

impl VerifiedToken {
    /// A string claim, if present and a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The tenant memberships asserted by the plain `tenants` claim; malformed entries are skipped
    /// with a warning, since a provider's mistake must not lock the user out.
    pub fn tenant_claims(&self) -> Vec<TenantClaim> {
        let Some(Value::Array(items)) = self.claims.get("tenants") else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match TenantClaim::deserialize(item) {
                Ok(claim) => Some(claim),
                Err(error) => {
                    tracing::warn!(%error, "ignoring a malformed entry of the tenants claim");
                    None
                }
            })
            .collect()
    }

    /// Whether the token's `scope` claim contains `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claim_str("scope")
            .is_some_and(|scopes| scopes.split_whitespace().any(|s| s == scope))
    }
}
