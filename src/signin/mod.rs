//! Sign-in as a use case: verify the bearer token, provision the user from its claims, and
//! bring the user's memberships in line with the tenant claim as far as the issuer is
//! authoritative for them (`memberships = "provider" | "service"`). Every membership change
//! goes through the tenant functions, so the last-owner rule and the audit trail hold.

mod plan;

use std::collections::HashMap;
use std::sync::Arc;

use entity::user::ClaimedTenants;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use crate::auth::dev::DEV_ISSUER;
use crate::auth::tokens::VerifiedToken;
use crate::auth::{Actor, Authenticator, Identity, Principal};
use crate::config::{Config, MembershipAuthority};
use crate::error::Result;
use crate::{tenants, users};
use plan::{Change, Join, Plan};

/// How one issuer's tenant claim is applied.
#[derive(Clone, Debug)]
struct IssuerRules {
    authority: MembershipAuthority,
    tenants_claim: String,
}

/// The sign-in rules of every trusted issuer.
pub struct SignIn {
    issuers: HashMap<String, IssuerRules>,
}

/// The pools a request's sign-in uses: a first sign-in writes through the service's pool, and
/// the caller is read through the reader pool (see [`crate::db::connect_reader`]).
#[derive(Clone, Copy)]
pub struct Databases<'a> {
    /// The service's pool.
    pub writer: &'a DatabaseConnection,
    /// The pool the caller is read from.
    pub reader: &'a DatabaseConnection,
}

impl SignIn {
    /// Reads each issuer's membership authority; development tokens follow
    /// `auth.dev_memberships`.
    pub fn new(config: &Config) -> SignIn {
        let mut issuers: HashMap<String, IssuerRules> = config
            .oidc
            .issuers
            .iter()
            .map(|issuer| {
                let rules = IssuerRules {
                    authority: issuer.memberships,
                    tenants_claim: issuer.tenants_claim.clone(),
                };
                (issuer.issuer.clone(), rules)
            })
            .collect();
        let dev = IssuerRules {
            authority: config.auth.dev_memberships,
            tenants_claim: "tenants".to_owned(),
        };
        issuers.insert(DEV_ISSUER.to_owned(), dev);
        SignIn { issuers }
    }

    /// The caller of a request: the token verified, its user signed in on its first request,
    /// and the user's memberships read fresh, so a role change counts from the next request.
    pub async fn principal(
        &self,
        db: Databases<'_>,
        auth: &Authenticator,
        token: &str,
    ) -> Result<Principal> {
        let identity = auth
            .authenticate(token, |verified| self.sign_in(db.writer, verified))
            .await?;
        Ok(match identity {
            Identity::User(id) => Principal::User(Box::new(users::load(db.reader, id).await?)),
            Identity::Operator(operator) => Principal::Operator(operator),
        })
    }

    /// Provisions the user and syncs memberships in one transaction, so that a second request
    /// with the same new token waits for the first and finds its memberships.
    async fn sign_in(&self, db: &DatabaseConnection, token: Arc<VerifiedToken>) -> Result<Uuid> {
        let txn = db.begin().await?;
        let provisioned = users::provision(&txn, &token).await?;
        let user_id = provisioned.user.id;
        if let Some(rules) = self.rules_with_claim(&token) {
            let memberships = tenants::sync::memberships_of(&txn, user_id).await?;
            let plan = match rules.authority {
                MembershipAuthority::Provider => {
                    let previous = provisioned.user.claimed_tenants.unwrap_or_default();
                    plan::provider(&token.tenants, &previous, &memberships)
                }
                MembershipAuthority::Service => {
                    plan::service(&token.tenants, provisioned.first_sign_in, &memberships)
                }
            };
            apply(&txn, &Actor::SignIn(token.issuer.clone()), user_id, plan).await?;
            let claimed = token.tenants.iter().map(|t| t.id.clone()).collect();
            users::record_claimed_tenants(&txn, user_id, ClaimedTenants(claimed)).await?;
        }
        txn.commit().await?;
        Ok(user_id)
    }

    /// The issuer's rules, if the token carries its tenant claim at all: a token without it
    /// (minted for another scope, say) says nothing about memberships and changes none.
    fn rules_with_claim(&self, token: &VerifiedToken) -> Option<&IssuerRules> {
        self.issuers
            .get(&token.issuer)
            .filter(|rules| token.claims.contains_key(&rules.tenants_claim))
    }
}

async fn apply(
    db: &impl ConnectionTrait,
    actor: &Actor,
    user_id: Uuid,
    plan: Plan<'_>,
) -> Result<()> {
    for change in plan.changes {
        match change {
            Change::SetRole { tenant, role } => {
                tenants::sync::claim_role(db, tenant, user_id, role, actor).await?
            }
            Change::Drop { tenant } => {
                tenants::sync::drop_claim(db, tenant, user_id, actor).await?
            }
            Change::HandOver { tenant } => {
                tenants::sync::hand_over(db, tenant, user_id, actor).await?
            }
        }
    }
    // Tenants are created in slug order, so two sign-ins naming the same new tenants cannot
    // deadlock; they are joined in claim order, which decides the primary one.
    let mut joins: Vec<(usize, Join)> = plan.joins.into_iter().enumerate().collect();
    joins.sort_by(|(_, a), (_, b)| a.slug.cmp(b.slug));
    let mut resolved = Vec::with_capacity(joins.len());
    for (at, join) in joins {
        let tenant = tenants::ensure(db, actor, join.slug, join.name).await?;
        resolved.push((at, tenant, join));
    }
    resolved.sort_by_key(|(at, ..)| *at);
    for (_, tenant, join) in resolved {
        tenants::sync::join(db, &tenant, user_id, join.role, join.source, actor).await?;
    }
    Ok(())
}
