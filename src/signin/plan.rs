//! What a sign-in changes, decided without the database from the tenant claim, the tenants the
//! previous sign-in's claim named, and the user's memberships. Steps come in slug order, the
//! order in which their tenants are locked, so two sign-ins cannot deadlock.

use std::collections::BTreeMap;

use entity::membership::{self, Role, Source};
use entity::tenant;
use entity::user::ClaimedTenants;

use crate::auth::tokens::TenantClaim;

/// One change to one of the user's memberships.
#[derive(Debug, PartialEq)]
pub(super) enum Step<'a> {
    /// Join the tenant (created if new) with a role, managed by `source`.
    Join {
        slug: &'a str,
        name: Option<&'a str>,
        role: Role,
        source: Source,
    },
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

impl Step<'_> {
    fn slug(&self) -> &str {
        match self {
            Step::Join { slug, .. } => slug,
            Step::SetRole { tenant, .. } | Step::Drop { tenant } | Step::HandOver { tenant } => {
                &tenant.slug
            }
        }
    }
}

/// A tenant as the claim names it.
#[derive(Clone, Copy)]
struct Claimed<'a> {
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
) -> Vec<Step<'a>> {
    let claimed = by_slug(claims);
    let mut steps = Vec::new();
    for (membership, tenant) in memberships {
        if membership.source != Source::Provider {
            continue;
        }
        match claimed.get(tenant.slug.as_str()) {
            Some(claim) if claim.role != membership.role => steps.push(Step::SetRole {
                tenant,
                role: claim.role,
            }),
            Some(_) => {}
            None => steps.push(Step::Drop { tenant }),
        }
    }
    for (slug, claim) in &claimed {
        let member = memberships.iter().any(|(_, t)| t.slug == *slug);
        let named_before = previous.0.iter().any(|s| s == slug);
        if !member && !named_before {
            steps.push(join(slug, *claim, Source::Provider));
        }
    }
    in_lock_order(steps)
}

/// The service is authoritative: the claim seeds memberships at the first sign-in only, and
/// memberships the provider managed under an earlier configuration pass to the service.
pub(super) fn service<'a>(
    claims: &'a [TenantClaim],
    first_sign_in: bool,
    memberships: &'a Memberships,
) -> Vec<Step<'a>> {
    let mut steps: Vec<Step> = memberships
        .iter()
        .filter(|(m, _)| m.source == Source::Provider)
        .map(|(_, tenant)| Step::HandOver { tenant })
        .collect();
    if first_sign_in {
        let claimed = by_slug(claims);
        steps.extend(
            claimed
                .iter()
                .map(|(slug, claim)| join(slug, *claim, Source::Service)),
        );
    }
    in_lock_order(steps)
}

fn join<'a>(slug: &'a str, claim: Claimed<'a>, source: Source) -> Step<'a> {
    Step::Join {
        slug,
        name: claim.name,
        role: claim.role,
        source,
    }
}

/// Each claimed tenant once, with the strongest role its entries give (`member` by default).
fn by_slug(claims: &[TenantClaim]) -> BTreeMap<&str, Claimed<'_>> {
    let mut claimed: BTreeMap<&str, Claimed> = BTreeMap::new();
    for claim in claims {
        let entry = Claimed {
            name: claim.name.as_deref(),
            role: claim.role.unwrap_or(Role::Member),
        };
        claimed
            .entry(&claim.id)
            .and_modify(|known| {
                if entry.role.rank() > known.role.rank() {
                    known.role = entry.role;
                }
            })
            .or_insert(entry);
    }
    claimed
}

fn in_lock_order(mut steps: Vec<Step<'_>>) -> Vec<Step<'_>> {
    steps.sort_by(|a, b| a.slug().cmp(b.slug()));
    steps
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
        };
        (row, tenant)
    }

    fn slugs(list: &[&str]) -> ClaimedTenants {
        ClaimedTenants(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn the_provider_changes_and_removes_only_what_it_manages() {
        let rows = [
            membership("a-provider", Role::Admin, Source::Provider),
            membership("b-provider", Role::Member, Source::Provider),
            membership("c-service", Role::Member, Source::Service),
            membership("d-service", Role::Admin, Source::Service),
        ];
        let claims = [
            claim("a-provider", Some(Role::Owner)),
            claim("c-service", Some(Role::Owner)),
        ];
        let previous = slugs(&["a-provider", "b-provider", "c-service", "d-service"]);
        let steps = provider(&claims, &previous, &rows);
        assert_eq!(
            steps,
            vec![
                Step::SetRole {
                    tenant: &rows[0].1,
                    role: Role::Owner
                },
                Step::Drop { tenant: &rows[1].1 },
            ]
        );
    }

    #[test]
    fn the_provider_joins_tenants_it_names_anew_but_not_ones_an_owner_left() {
        let claims = [
            claim("removed-by-owner", Some(Role::Admin)),
            claim("new", None),
            claim("new", Some(Role::Admin)),
        ];
        let steps = provider(&claims, &slugs(&["removed-by-owner"]), &[]);
        assert_eq!(
            steps,
            vec![Step::Join {
                slug: "new",
                name: None,
                role: Role::Admin,
                source: Source::Provider
            }]
        );
    }

    #[test]
    fn the_service_takes_claims_at_the_first_sign_in_only() {
        let claims = [claim("b", Some(Role::Owner)), claim("a", None)];
        let first = service(&claims, true, &[]);
        let slugs: Vec<&str> = first.iter().map(Step::slug).collect();
        assert_eq!(slugs, ["a", "b"]);
        assert!(
            first
                .iter()
                .all(|s| matches!(s, Step::Join { source, .. } if *source == Source::Service))
        );
        let rows = [membership("a", Role::Admin, Source::Service)];
        assert_eq!(service(&claims, false, &rows), vec![]);
    }

    #[test]
    fn the_service_takes_over_what_the_provider_managed() {
        let rows = [
            membership("a", Role::Admin, Source::Provider),
            membership("b", Role::Admin, Source::Service),
        ];
        assert_eq!(
            service(&[], false, &rows),
            vec![Step::HandOver { tenant: &rows[0].1 }]
        );
    }
}
