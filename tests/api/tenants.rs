//! Tenant isolation and role checks: members, admins, owners, operators.

use serde_json::json;

use crate::common::{Call, TestApp, error_code, error_message};
use crate::storage_test;

const RENAME: &str = "mutation($name: String!) { renameTenant(name: $name) { name } }";
const ADD: &str =
    "mutation($id: ID!, $role: Role!) { addMember(userId: $id, role: $role) { userId role } }";
const CHANGE: &str =
    "mutation($id: ID!, $role: Role!) { changeMemberRole(userId: $id, role: $role) { role } }";
const REMOVE: &str = "mutation($id: ID!) { removeMember(userId: $id) }";
const CREATE: &str =
    "mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug name } }";

async fn call(
    app: &TestApp,
    token: &str,
    tenant: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    app.graphql(Call {
        token: Some(token),
        tenant,
        query,
        variables,
    })
    .await
}

storage_test!(an_admin_only_mutation_is_forbidden_for_a_member);
async fn an_admin_only_mutation_is_forbidden_for_a_member(app: TestApp) {
    let member = app.user_token("mia", &[("acme", "member")]);
    let body = call(&app, &member, None, RENAME, json!({"name": "Hacked"})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(error_message(&body).contains("admin"), "{body}");
    let body = call(&app, &member, None, "{ members { userId } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let data = app.ok(&admin, RENAME, json!({"name": "Acme Inc."})).await;
    assert_eq!(data["renameTenant"]["name"], "Acme Inc.");
}

storage_test!(an_admin_of_another_tenant_is_forbidden);
async fn an_admin_of_another_tenant_is_forbidden(app: TestApp) {
    let acme_admin = app.user_token("ada", &[("acme", "admin")]);
    app.user_id(&acme_admin).await;
    let evil_admin = app.user_token("eve", &[("evil", "owner")]);
    for tenant in ["acme", "nonexistent"] {
        let body = call(
            &app,
            &evil_admin,
            Some(tenant),
            RENAME,
            json!({"name": "Pwned"}),
        )
        .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        let body = call(
            &app,
            &evil_admin,
            Some(tenant),
            "{ members { userId } }",
            json!({}),
        )
        .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    // By UUID too.
    let acme_id = app.ok(&acme_admin, "{ tenant { id } }", json!({})).await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = call(
        &app,
        &evil_admin,
        Some(&acme_id),
        RENAME,
        json!({"name": "Pwned"}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let name = app.ok(&acme_admin, "{ tenant { name } }", json!({})).await;
    assert_eq!(name["tenant"]["name"], "acme");
}

storage_test!(the_active_tenant_follows_the_header);
async fn the_active_tenant_follows_the_header(app: TestApp) {
    let token = app.user_token("tim", &[("acme", "member"), ("beta", "admin")]);
    let body = call(&app, &token, None, "{ members { userId } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = call(
        &app,
        &token,
        Some("beta"),
        "{ tenant { slug } members { role } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["tenant"]["slug"], "beta", "{body}");
    assert_eq!(body["data"]["members"][0]["role"], "ADMIN");
}

storage_test!(owners_manage_members_but_never_remove_the_last_owner);
async fn owners_manage_members_but_never_remove_the_last_owner(app: TestApp) {
    let owner = app.user_token("olga", &[("acme", "owner")]);
    let owner_id = app.user_id(&owner).await;
    let newcomer_id = app
        .user_id(&app.user_token("nina", &[("other", "member")]))
        .await;

    let added = app
        .ok(&owner, ADD, json!({"id": newcomer_id, "role": "MEMBER"}))
        .await;
    assert_eq!(added["addMember"]["role"], "MEMBER");
    let again = call(
        &app,
        &owner,
        None,
        ADD,
        json!({"id": newcomer_id, "role": "ADMIN"}),
    )
    .await;
    assert_eq!(error_code(&again), "CONFLICT");

    let admin = app.user_token("adam", &[("acme", "admin")]);
    let body = call(
        &app,
        &admin,
        None,
        CHANGE,
        json!({"id": newcomer_id, "role": "OWNER"}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "admins do not manage roles");

    let last = call(
        &app,
        &owner,
        None,
        CHANGE,
        json!({"id": owner_id, "role": "ADMIN"}),
    )
    .await;
    assert_eq!(error_code(&last), "CONFLICT");
    assert!(
        error_message(&last).contains("at least one owner"),
        "{last}"
    );
    let last = call(&app, &owner, None, REMOVE, json!({"id": owner_id})).await;
    assert_eq!(error_code(&last), "CONFLICT");

    app.ok(&owner, CHANGE, json!({"id": newcomer_id, "role": "OWNER"}))
        .await;
    app.ok(&owner, REMOVE, json!({"id": owner_id})).await;
    let nina = app.user_token("nina", &[("other", "member")]);
    let members = call(
        &app,
        &nina,
        Some("acme"),
        "{ members { userId role } }",
        json!({}),
    )
    .await;
    assert_eq!(
        members["data"]["members"],
        json!([
            {"userId": newcomer_id, "role": "OWNER"},
            {"userId": app.user_id(&admin).await, "role": "ADMIN"},
        ]),
        "{members}"
    );

    let missing = call(
        &app,
        &nina,
        Some("acme"),
        REMOVE,
        json!({"id": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let bad = call(
        &app,
        &nina,
        Some("acme"),
        REMOVE,
        json!({"id": "not-an-id"}),
    )
    .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

storage_test!(only_operators_granted_every_tenant_create_tenants);
async fn only_operators_granted_every_tenant_create_tenants(app: TestApp) {
    let owner_id = app
        .user_id(&app.user_token("olga", &[("acme", "owner")]))
        .await;
    let input = json!({"input": {"slug": "globex", "name": "Globex", "ownerUserId": owner_id}});
    let user = app.user_token("olga", &[("acme", "owner")]);
    assert_eq!(
        error_code(&call(&app, &user, None, CREATE, input.clone()).await),
        "FORBIDDEN"
    );
    let narrow = app.operator_token("crm", &["acme"]);
    let body = call(&app, &narrow, Some("acme"), CREATE, input.clone()).await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    let operator = app.operator_token("provisioner", &["*"]);
    let created = app.ok(&operator, CREATE, input.clone()).await;
    assert_eq!(created["createTenant"]["slug"], "globex");
    assert_eq!(
        error_code(&call(&app, &operator, None, CREATE, input).await),
        "CONFLICT"
    );
    let bad = json!({"input": {"slug": "Bad Slug!", "name": "x"}});
    assert_eq!(
        error_code(&call(&app, &operator, None, CREATE, bad).await),
        "BAD_USER_INPUT"
    );

    let me = app
        .ok(
            &app.user_token("olga", &[("acme", "owner")]),
            "{ me { tenants { slug role } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["me"]["tenants"][1],
        json!({"slug": "globex", "role": "OWNER"})
    );
}

storage_test!(operators_act_only_in_granted_tenants);
async fn operators_act_only_in_granted_tenants(app: TestApp) {
    app.user_id(&app.user_token("olga", &[("acme", "owner")]))
        .await;
    app.user_id(&app.user_token("bert", &[("beta", "owner")]))
        .await;
    let operator = app.operator_token("crm", &["acme"]);
    let body = call(
        &app,
        &operator,
        Some("acme"),
        "{ members { role } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["members"][0]["role"], "OWNER", "{body}");
    let body = call(
        &app,
        &operator,
        Some("beta"),
        "{ members { role } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = call(&app, &operator, None, "{ members { role } }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = call(&app, &operator, Some("acme"), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

storage_test!(the_members_list_shows_the_names_on_the_cards);
async fn the_members_list_shows_the_names_on_the_cards(app: TestApp) {
    let mut claims = serde_json::Map::new();
    claims.insert("given_name".into(), json!("Ida"));
    claims.insert("family_name".into(), json!("Old"));
    let ida = app.token("ida", &[("acme", "member")], false, 3600, claims);
    let ida_id = app.user_id(&ida).await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let save = "mutation($values: [FieldValueInput!]!) {
        updateMyProfile(input: {values: $values}) { version } }";
    let listed = |members: &serde_json::Value| {
        let found = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["userId"] == ida_id.as_str())
            .cloned()
            .unwrap();
        (found["firstName"].clone(), found["lastName"].clone())
    };
    let members = "{ members { userId firstName lastName } }";

    let before = app.ok(&admin, members, json!({})).await;
    assert_eq!(listed(&before), (json!("Ida"), json!("Old")));

    // An edit shows, and a cleared name stays cleared, exactly as on the card.
    let values =
        json!([{"key": "given_name", "value": "Idy"}, {"key": "family_name", "value": null}]);
    app.ok(&ida, save, json!({"values": values})).await;
    let after = app.ok(&admin, members, json!({})).await;
    assert_eq!(listed(&after), (json!("Idy"), json!(null)));
    let card = app
        .ok(
            &admin,
            "query($id: ID!) { profile(userId: $id) {
                given: value(key: \"given_name\") { text } family: value(key: \"family_name\") { text } } }",
            json!({"id": ida_id}),
        )
        .await;
    assert_eq!(card["profile"]["given"]["text"], "Idy");
    assert_eq!(card["profile"]["family"]["text"], json!(null));

    // The role change answer shows the same names.
    let owner = app.user_token("olga", &[("acme", "owner")]);
    let changed = app
        .ok(
            &owner,
            "mutation($id: ID!) { changeMemberRole(userId: $id, role: ADMIN) { firstName lastName } }",
            json!({"id": ida_id}),
        )
        .await;
    assert_eq!(
        changed["changeMemberRole"],
        json!({"firstName": "Idy", "lastName": null})
    );
}

storage_test!(an_operator_granted_the_tenant_has_every_role_there_but_no_own_card);
async fn an_operator_granted_the_tenant_has_every_role_there_but_no_own_card(app: TestApp) {
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.user_id(&owner).await;
    let mia_id = app
        .user_id(&app.user_token("mia", &[("acme", "member")]))
        .await;
    let operator = app.operator_token("ops", &["acme"]);
    let body = call(
        &app,
        &operator,
        Some("acme"),
        CHANGE,
        json!({"id": mia_id, "role": "ADMIN"}),
    )
    .await;
    assert_eq!(body["data"]["changeMemberRole"]["role"], "ADMIN", "{body}");
    let save = "mutation { updateMyProfile(input: {values: []}) { version } }";
    let body = call(&app, &operator, Some("acme"), save, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // A tenant's operator is not an operator of every tenant.
    let input = json!({"input": {"slug": "new-co", "name": "New Co"}});
    let body = call(&app, &operator, Some("acme"), CREATE, input).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}
