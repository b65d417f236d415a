//! What a sign-in changes, decided without the database from the tenant claim, the tenants the
//! previous sign-in's claim named, and the user's memberships.

use std::collections::HashMap;

use entity::membership::{self, Role, Source};
use entity::tenant;
use entity::user::ClaimedTenants;

use crate::auth::tokens::TenantClaim;

/// What a sign-in changes: existing memberships first (the primary one may go), then the
/// tenants to join.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Plan<'a> {
    /// Changes to existing memberships, in slug order: the order their tenants are locked in,
    /// so that two sign-ins cannot deadlock.
    pub changes: Vec<Change<'a>>,
    /// Tenants to join, in claim order: the first becomes primary when the user has none.
    pub joins: Vec<Join<'a>>,
}

/// Joining a tenant (created if new) with a role, managed by `source`.
#[derive(Debug, PartialEq)]
pub(super) struct Join<'a> {
    pub slug: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub source: Source,
}

/// A change to one of the user's memberships.
#[derive(Debug, PartialEq)]
pub(super) enum Change<'a> {
    /// Give a provider-managed membership the claimed role.
    SetRole {
        tenant: &'a tenant::Model,
        role: Role,
    },
    /// Remove a provider-managed membership the claim no longer names.
    Drop { tenant: &'a tenant::Model },
    /// Hand a provider-managed membership to the service.
    HandOver { tenant: &'a tenant::Model },
}

impl Change<'_> {
    fn slug(&self) -> &str {
        match self {
            Change::SetRole { tenant, .. }
            | Change::Drop { tenant }
            | Change::HandOver { tenant } => &tenant.slug,
        }
    }
}

/// A tenant as the claim names it.
#[derive(Clone, Copy)]
struct Claimed<'a> {
    slug: &'a str,
    name: Option<&'a str>,
    role: Role,
}

type Memberships = [(membership::Model, tenant::Model)];

/// The provider is authoritative for what it asserted: memberships it manages follow the
/// claim (role changed, or removed when no longer named); a tenant the claim names anew is
/// joined. A tenant named before but without a membership now was left by an owner's
/// decision, which the same claim does not undo; memberships the service manages are left
/// alone.
pub(super) fn provider<'a>(
    claims: &'a [TenantClaim],
    previous: &ClaimedTenants,
    memberships: &'a Memberships,
) -> Plan<'a> {
    let claimed = in_claim_order(claims);
    let mut changes = Vec::new();
    for (membership, tenant) in memberships {
        if membership.source != Source::Provider {
            continue;
        }
        match claimed.iter().find(|c| c.slug == tenant.slug) {
            Some(claim) if claim.role != membership.role => changes.push(Change::SetRole {
                tenant,
                role: claim.role,
            }),
            Some(_) => {}
            None => changes.push(Change::Drop { tenant }),
        }
    }
    let joins = claimed
        .into_iter()
        .filter(|claim| {
            let member = memberships.iter().any(|(_, t)| t.slug == claim.slug);
            let named_before = previous.0.iter().any(|s| s == claim.slug);
            !member && !named_before
        })
        .map(|claim| join(claim, Source::Provider))
        .collect();
    Plan {
        changes: in_lock_order(changes),
        joins,
    }
}

/// The service is authoritative: the claim seeds memberships at the first sign-in only, and
/// memberships the provider managed under an earlier configuration pass to the service.
pub(super) fn service<'a>(
    claims: &'a [TenantClaim],
    first_sign_in: bool,
    memberships: &'a Memberships,
) -> Plan<'a> {
    let changes = memberships
        .iter()
        .filter(|(m, _)| m.source == Source::Provider)
        .map(|(_, tenant)| Change::HandOver { tenant })
        .collect();
    let joins = if first_sign_in {
        in_claim_order(claims)
            .into_iter()
            .map(|claim| join(claim, Source::Service))
            .collect()
    } else {
        Vec::new()
    };
    Plan {
        changes: in_lock_order(changes),
        joins,
    }
}

fn join(claim: Claimed<'_>, source: Source) -> Join<'_> {
    Join {
        slug: claim.slug,
        name: claim.name,
        role: claim.role,
        source,
    }
}

/// Each claimed tenant once, where the claim first names it, with the strongest role its
/// entries give (`member` by default).
fn in_claim_order(claims: &[TenantClaim]) -> Vec<Claimed<'_>> {
    let mut claimed: Vec<Claimed> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for claim in claims {
        let role = claim.role.unwrap_or(Role::Member);
        match index.get(claim.id.as_str()) {
            Some(&at) if role.rank() > claimed[at].role.rank() => claimed[at].role = role,
            Some(_) => {}
            None => {
                index.insert(&claim.id, claimed.len());
                claimed.push(Claimed {
                    slug: &claim.id,
                    name: claim.name.as_deref(),
                    role,
                });
            }
        }
    }
    claimed
}

fn in_lock_order(mut changes: Vec<Change<'_>>) -> Vec<Change<'_>> {
    changes.sort_by(|a, b| a.slug().cmp(b.slug()));
    changes
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn claim(slug: &str, role: Option<Role>) -> TenantClaim {
        TenantClaim {
            id: slug.to_owned(),
            name: None,
            role,
        }
    }

    fn membership(slug: &str, role: Role, source: Source) -> (membership::Model, tenant::Model) {
        let tenant = tenant::Model {
            id: Uuid::new_v4(),
            slug: slug.to_owned(),
            name: slug.to_owned(),
            default_locale: "en".to_owned(),
            enabled_locales: serde_json::json!(["en"]),
            created_at: Utc::now(),
            member_directory: false,
        };
        let row = membership::Model {
            user_id: Uuid::nil(),
            tenant_id: tenant.id,
            role,
            source,
            is_primary: false,
            card_version: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            sort_name: None,
        };
        (row, tenant)
    }

    fn slugs(list: &[&str]) -> ClaimedTenants {
        ClaimedTenants(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn the_provider_changes_and_removes_only_what_it_manages() {
        let rows = [
            membership("c-service", Role::Member, Source::Service),
            membership("b-provider", Role::Member, Source::Provider),
            membership("a-provider", Role::Admin, Source::Provider),
            membership("d-service", Role::Admin, Source::Service),
        ];
        let claims = [
            claim("c-service", Some(Role::Owner)),
            claim("a-provider", Some(Role::Owner)),
        ];
        let previous = slugs(&["a-provider", "b-provider", "c-service", "d-service"]);
        let plan = provider(&claims, &previous, &rows);
        assert_eq!(
            plan,
            Plan {
                changes: vec![
                    Change::SetRole {
                        tenant: &rows[2].1,
                        role: Role::Owner
                    },
                    Change::Drop { tenant: &rows[1].1 },
                ],
                joins: vec![],
            }
        );
    }

    #[test]
    fn the_provider_joins_tenants_it_names_anew_but_not_ones_an_owner_left() {
        let claims = [
            claim("zeta", None),
            claim("removed-by-owner", Some(Role::Admin)),
            claim("alpha", None),
            claim("zeta", Some(Role::Admin)),
        ];
        let plan = provider(&claims, &slugs(&["removed-by-owner"]), &[]);
        let joined: Vec<(&str, Role)> = plan.joins.iter().map(|j| (j.slug, j.role)).collect();
        assert_eq!(joined, [("zeta", Role::Admin), ("alpha", Role::Member)]);
        assert!(plan.joins.iter().all(|j| j.source == Source::Provider));
    }

    #[test]
    fn the_service_takes_claims_at_the_first_sign_in_only() {
        let claims = [claim("b", Some(Role::Owner)), claim("a", None)];
        let first = service(&claims, true, &[]);
        let joined: Vec<&str> = first.joins.iter().map(|j| j.slug).collect();
        assert_eq!(joined, ["b", "a"], "in claim order");
        assert!(first.joins.iter().all(|j| j.source == Source::Service));
        let rows = [membership("a", Role::Admin, Source::Service)];
        assert_eq!(service(&claims, false, &rows), Plan::default());
    }

    #[test]
    fn the_service_takes_over_what_the_provider_managed() {
        let rows = [
            membership("b", Role::Admin, Source::Provider),
            membership("c", Role::Admin, Source::Service),
            membership("a", Role::Admin, Source::Provider),
        ];
        assert_eq!(
            service(&[], false, &rows).changes,
            vec![
                Change::HandOver { tenant: &rows[2].1 },
                Change::HandOver { tenant: &rows[0].1 },
            ]
        );
    }
}
