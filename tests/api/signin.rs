//! Sign-in and memberships: who manages a membership (the provider or the service), revoked
//! roles that stay revoked when the signed-in cache expires, the last owner, the audit trail.

use std::time::Duration;

use serde_json::{Map, Value, json};
use userprofile::config::{Config, MembershipAuthority};

use crate::common::{Backend, Call, TestApp, error_code, error_message};
use crate::storage_test;

const ADD: &str =
    "mutation($id: ID!, $role: Role!) { addMember(userId: $id, role: $role) { userId role } }";
const CHANGE: &str =
    "mutation($id: ID!, $role: Role!) { changeMemberRole(userId: $id, role: $role) { role } }";
const REMOVE: &str = "mutation($id: ID!) { removeMember(userId: $id) }";
const MEMBERS: &str = "{ members { userId role } }";
const TENANT: &str = "{ tenant { slug } }";
const AUDIT: &str = "query($id: ID) { auditEvents(userId: $id) { actor action change } }";
const SIGN_IN_ACTOR: &str = "signin:urn:userprofile:dev";

/// An app whose development tokens follow `authority` and whose signed-in cache forgets a
/// token after one second.
async fn spawn(backend: Backend, authority: MembershipAuthority) -> TestApp {
    TestApp::spawn_with(backend, |config| configure(config, authority)).await
}

fn configure(config: &mut Config, authority: MembershipAuthority) {
    config.auth.dev_memberships = authority;
    config.auth.signed_in_cache_seconds = 1;
}

/// A fresh token (a new `jti`, so a new cache entry) with the same tenant claim.
fn new_token(app: &TestApp, subject: &str, tenants: &[(&str, &str)]) -> String {
    let mut extra = Map::new();
    extra.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    app.token(subject, tenants, false, 3600, extra)
}

/// A token whose tenant claim is exactly `tenants` (entries without a role, say).
fn token_claiming(app: &TestApp, subject: &str, tenants: Value) -> String {
    let mut extra = Map::new();
    extra.insert("tenants".into(), tenants);
    extra.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    app.token(subject, &[], false, 3600, extra)
}

async fn call(app: &TestApp, token: &str, tenant: &str, query: &str, variables: Value) -> Value {
    app.graphql(Call {
        token: Some(token),
        tenant: Some(tenant),
        query,
        variables,
    })
    .await
}

/// The caller's role in each tenant, as `me` lists them.
async fn roles(app: &TestApp, token: &str) -> Value {
    app.ok(token, "{ me { tenants { slug role } } }", json!({}))
        .await["me"]["tenants"]
        .clone()
}

/// Waits until every signed-in token has been forgotten.
async fn expire_signed_in_cache() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// The audit events about `user` in `tenant` made by sign-in, oldest first, as (action, change).
async fn sign_in_events(
    app: &TestApp,
    admin: &str,
    tenant: &str,
    user: &str,
) -> Vec<(String, Value)> {
    let body = call(app, admin, tenant, AUDIT, json!({"id": user})).await;
    let mut events: Vec<(String, Value)> = body["data"]["auditEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("no audit events: {body}"))
        .iter()
        .filter(|e| e["actor"] == SIGN_IN_ACTOR)
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["change"].clone(),
            )
        })
        .collect();
    events.reverse();
    events
}

/// Asserts that `admin` and `member` have lost what the owner took from them: `admin` may no
/// longer list members, `member` may no longer enter the tenant.
async fn assert_revoked(app: &TestApp, admin: &str, member: &str) {
    let body = call(app, admin, "acme", MEMBERS, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "the demoted admin: {body}");
    let body = call(app, member, "acme", TENANT, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "the removed member: {body}");
}

storage_test!(backend a_revoked_role_stays_revoked_when_the_service_manages_memberships);
async fn a_revoked_role_stays_revoked_when_the_service_manages_memberships(backend: Backend) {
    let app = spawn(backend, MembershipAuthority::Service).await;
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.user_id(&owner).await;
    let admin = app.user_token("adam", &[("acme", "admin")]);
    let admin_id = app.user_id(&admin).await;
    let member = app.user_token("mia", &[("acme", "member")]);
    let member_id = app.user_id(&member).await;

    app.ok(&owner, CHANGE, json!({"id": admin_id, "role": "MEMBER"}))
        .await;
    app.ok(&owner, REMOVE, json!({"id": member_id})).await;
    assert_revoked(&app, &admin, &member).await;

    expire_signed_in_cache().await;
    assert_revoked(&app, &admin, &member).await;
    let admin_again = new_token(&app, "adam", &[("acme", "admin")]);
    let member_again = new_token(&app, "mia", &[("acme", "member")]);
    assert_revoked(&app, &admin_again, &member_again).await;
    assert_eq!(
        roles(&app, &admin_again).await,
        json!([{"slug": "acme", "role": "MEMBER"}])
    );

    // The first sign-in's memberships are the service's: owners changed them above, and the
    // trail shows sign-in created them.
    let events = sign_in_events(&app, &owner, "acme", &admin_id).await;
    assert_eq!(
        events,
        vec![(
            "membership.add".to_owned(),
            json!({"role": "admin", "source": "service"})
        )]
    );
}

storage_test!(backend a_revoked_role_stays_revoked_when_the_provider_manages_memberships);
async fn a_revoked_role_stays_revoked_when_the_provider_manages_memberships(backend: Backend) {
    let app = spawn(backend, MembershipAuthority::Provider).await;
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.user_id(&owner).await;
    // Members the owner added through the API are the service's, even once the provider's
    // claim names the tenant too.
    let admin_id = app
        .user_id(&app.user_token("adam", &[("other", "member")]))
        .await;
    let member_id = app
        .user_id(&app.user_token("mia", &[("other", "member")]))
        .await;
    app.ok(&owner, ADD, json!({"id": admin_id, "role": "ADMIN"}))
        .await;
    app.ok(&owner, ADD, json!({"id": member_id, "role": "MEMBER"}))
        .await;
    let admin_claims = [("other", "member"), ("acme", "admin")];
    let member_claims = [("other", "member"), ("acme", "member")];
    let admin = new_token(&app, "adam", &admin_claims);
    let member = new_token(&app, "mia", &member_claims);
    let body = call(&app, &admin, "acme", MEMBERS, json!({})).await;
    assert!(body.get("errors").is_none(), "the admin before: {body}");
    let body = call(&app, &member, "acme", TENANT, json!({})).await;
    assert!(body.get("errors").is_none(), "the member before: {body}");

    app.ok(&owner, CHANGE, json!({"id": admin_id, "role": "MEMBER"}))
        .await;
    app.ok(&owner, REMOVE, json!({"id": member_id})).await;
    assert_revoked(&app, &admin, &member).await;

    expire_signed_in_cache().await;
    assert_revoked(&app, &admin, &member).await;
    let admin_again = new_token(&app, "adam", &admin_claims);
    let member_again = new_token(&app, "mia", &member_claims);
    assert_revoked(&app, &admin_again, &member_again).await;
}

storage_test!(backend the_provider_manages_the_memberships_its_claims_created);
async fn the_provider_manages_the_memberships_its_claims_created(backend: Backend) {
    let app = spawn(backend, MembershipAuthority::Provider).await;
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.user_id(&owner).await;
    let pete = app.user_token("pete", &[("acme", "admin")]);
    let pete_id = app.user_id(&pete).await;

    // The API refuses to change what the provider manages, and names the provider.
    for (query, variables) in [
        (CHANGE, json!({"id": pete_id, "role": "MEMBER"})),
        (REMOVE, json!({"id": pete_id})),
    ] {
        let body = call(&app, &owner, "acme", query, variables).await;
        assert_eq!(error_code(&body), "CONFLICT", "{body}");
        assert!(
            error_message(&body).contains("urn:userprofile:dev"),
            "{body}"
        );
    }

    // A new token's claim changes the role, drops the tenant, and adds it back.
    let promoted = new_token(&app, "pete", &[("acme", "owner")]);
    assert_eq!(
        roles(&app, &promoted).await,
        json!([{"slug": "acme", "role": "OWNER"}])
    );
    let dropped = new_token(&app, "pete", &[]);
    assert_eq!(roles(&app, &dropped).await, json!([]));
    let body = call(&app, &pete, "acme", TENANT, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "the old token too: {body}");
    let back = new_token(&app, "pete", &[("acme", "member")]);
    assert_eq!(
        roles(&app, &back).await,
        json!([{"slug": "acme", "role": "MEMBER"}])
    );

    let events = sign_in_events(&app, &owner, "acme", &pete_id).await;
    assert_eq!(
        events,
        vec![
            (
                "membership.add".to_owned(),
                json!({"role": "admin", "source": "provider"})
            ),
            (
                "membership.role".to_owned(),
                json!({"before": "admin", "after": "owner"})
            ),
            ("membership.remove".to_owned(), json!({"role": "owner"})),
            (
                "membership.add".to_owned(),
                json!({"role": "member", "source": "provider"})
            ),
        ]
    );
}

storage_test!(backend sign_in_never_takes_a_tenants_last_owner);
async fn sign_in_never_takes_a_tenants_last_owner(backend: Backend) {
    let app = spawn(backend, MembershipAuthority::Provider).await;
    let owner = app.user_token("olga", &[("acme", "owner")]);
    let owner_id = app.user_id(&owner).await;
    let sole_owner = json!([{"slug": "acme", "role": "OWNER"}]);

    // A claim without a role, a weaker role, no tenant at all: none takes the last owner.
    let roleless = token_claiming(&app, "olga", json!([{"id": "acme"}]));
    assert_eq!(roles(&app, &roleless).await, sole_owner);
    let demoted = new_token(&app, "olga", &[("acme", "admin")]);
    assert_eq!(roles(&app, &demoted).await, sole_owner);
    let dropped = new_token(&app, "olga", &[]);
    assert_eq!(roles(&app, &dropped).await, sole_owner);
    let kept = sign_in_events(&app, &owner, "acme", &owner_id).await;
    assert_eq!(
        kept[1..],
        [
            (
                "membership.keep_last_owner".to_owned(),
                json!({"role": "owner", "claimed": "member"})
            ),
            (
                "membership.keep_last_owner".to_owned(),
                json!({"role": "owner", "claimed": "admin"})
            ),
            (
                "membership.keep_last_owner".to_owned(),
                json!({"role": "owner", "claimed": null})
            ),
        ]
    );

    // With a second owner the provider's demotion applies.
    app.user_id(&app.user_token("bea", &[("acme", "owner")]))
        .await;
    let demoted = new_token(&app, "olga", &[("acme", "admin")]);
    assert_eq!(
        roles(&app, &demoted).await,
        json!([{"slug": "acme", "role": "ADMIN"}])
    );
}

storage_test!(backend later_claims_change_nothing_when_the_service_manages_memberships);
async fn later_claims_change_nothing_when_the_service_manages_memberships(backend: Backend) {
    let app = spawn(backend, MembershipAuthority::Service).await;
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.user_id(&owner).await;
    let sole_owner = json!([{"slug": "acme", "role": "OWNER"}]);
    for later in [
        token_claiming(&app, "olga", json!([{"id": "acme"}])),
        new_token(&app, "olga", &[]),
        new_token(&app, "olga", &[("acme", "member"), ("beta", "owner")]),
    ] {
        assert_eq!(roles(&app, &later).await, sole_owner);
    }
}

storage_test!(backend switching_an_issuer_to_the_service_hands_its_memberships_over);
async fn switching_an_issuer_to_the_service_hands_its_memberships_over(backend: Backend) {
    let mut shared = None;
    let provider = TestApp::spawn_with(backend, |config| {
        configure(config, MembershipAuthority::Provider);
        shared = Some((config.database_url.clone(), config.data_dir.clone()));
    })
    .await;
    let owner = provider.user_token("olga", &[("acme", "owner")]);
    provider.user_id(&owner).await;
    let pete_id = provider
        .user_id(&provider.user_token("pete", &[("acme", "admin")]))
        .await;
    let body = call(&provider, &owner, "acme", REMOVE, json!({"id": pete_id})).await;
    assert_eq!(error_code(&body), "CONFLICT");

    // The same database and development key, now under service authority.
    let (database_url, data_dir) = shared.unwrap();
    let service = TestApp::spawn_with(backend, |config| {
        configure(config, MembershipAuthority::Service);
        config.database_url = database_url;
        config.data_dir = data_dir;
    })
    .await;
    let pete = new_token(&provider, "pete", &[("acme", "admin")]);
    let body = service
        .graphql(Call {
            token: Some(&pete),
            query: TENANT,
            ..Default::default()
        })
        .await;
    assert_eq!(body["data"]["tenant"]["slug"], "acme", "{body}");
    let body = call(&service, &owner, "acme", REMOVE, json!({"id": pete_id})).await;
    assert_eq!(body["data"]["removeMember"], pete_id, "{body}");
}
