//! `me`'s identity fields (username, email and its verification, first and last name) come from the card in the
//! active tenant, under the same access rule as the card itself.

use serde_json::{Map, Value, json};

use crate::common::{Call, TestApp};
use crate::fields::{UPDATE, field_id};
use crate::storage_test;

const IDENTITY: &str = "{ me { username email emailVerified firstName lastName } }";

/// `me` field and the built-in field (claim) it shows.
const FIELDS: [(&str, &str); 5] = [
    ("username", "preferred_username"),
    ("email", "email"),
    ("emailVerified", "email_verified"),
    ("firstName", "given_name"),
    ("lastName", "family_name"),
];

fn mia(app: &TestApp, tenants: &[(&str, &str)]) -> String {
    let claims: Map<String, Value> = json!({
        "preferred_username": "mia", "email": "mia@example.com", "email_verified": true,
        "given_name": "Mia", "family_name": "Wallace"
    })
    .as_object()
    .unwrap()
    .clone();
    app.token("mia", tenants, false, 3600, claims)
}

async fn identity(app: &TestApp, token: &str, tenant: Option<&str>) -> Value {
    let body = app
        .graphql(Call {
            token: Some(token),
            tenant,
            query: IDENTITY,
            ..Default::default()
        })
        .await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"]["me"].clone()
}

storage_test!(identity_fields_hidden_from_their_owner_are_null_in_me);
async fn identity_fields_hidden_from_their_owner_are_null_in_me(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let member = mia(&app, &[("acme", "member")]);
    let everything = json!({"username": "mia", "email": "mia@example.com",
        "emailVerified": true, "firstName": "Mia", "lastName": "Wallace"});
    assert_eq!(identity(&app, &member, None).await, everything);
    for (me_field, key) in FIELDS {
        let id = field_id(&app, &admin, key).await;
        let hide = json!({"id": id, "input": {"ownerAccess": "HIDDEN"}});
        app.ok(&admin, UPDATE, hide).await;
        let mut expected = everything.clone();
        expected[me_field] = Value::Null;
        assert_eq!(
            identity(&app, &member, None).await,
            expected,
            "{key} hidden from its owner"
        );
        let show = json!({"id": id, "input": {"ownerAccess": "READ"}});
        app.ok(&admin, UPDATE, show).await;
        assert_eq!(identity(&app, &member, None).await, everything);
    }
}

storage_test!(identity_fields_follow_the_active_tenants_card);
async fn identity_fields_follow_the_active_tenants_card(app: TestApp) {
    let stranger = app.user_token("zed", &[("elsewhere", "owner")]);
    app.user_id(&stranger).await;
    let member = mia(&app, &[("acme", "member"), ("beta", "member")]);
    let rename = json!({"values": [{"key": "given_name", "value": "Mimi"}]});
    app.ok(
        &member,
        "mutation($values: [FieldValueInput!]!) { updateMyProfile(input: {values: $values}) { version } }",
        rename,
    )
    .await;
    let acme = identity(&app, &member, Some("acme")).await;
    assert_eq!(acme["firstName"], "Mimi", "the edit on the acme card");
    let beta = identity(&app, &member, Some("beta")).await;
    assert_eq!(
        beta["firstName"], "Mia",
        "the provider's value on the beta card"
    );

    // A tenant the caller is not a member of shows no card, so no identity values either.
    let foreign = identity(&app, &member, Some("elsewhere")).await;
    assert_eq!(
        foreign,
        json!({"username": null, "email": null, "emailVerified": null, "firstName": null, "lastName": null})
    );
}
