//! The tenant's field schema: built-ins, templates, hand-made fields, rules, order, archive.

use serde_json::{Value, json};

use crate::common::{Call, TestApp, error_code, error_message};
use crate::storage_test;

pub const DEFINITIONS: &str = "query($archived: Boolean, $locale: String) {
    fieldDefinitions(includeArchived: $archived, locale: $locale) {
      id key kind builtin archived version position required ownerAccess memberAccess adminAccess
      label { text locale direction } options { value label { text } } validation { maxLength pattern }
    } }";
pub const CREATE: &str = "mutation($input: CreateFieldInput!) { createFieldDefinition(input: $input) { id key kind version } }";
pub const UPDATE: &str = "mutation($id: ID!, $input: UpdateFieldInput!) { updateFieldDefinition(id: $id, input: $input) { id version label { text } ownerAccess memberAccess adminAccess } }";
pub const TEMPLATES: &str = "mutation($keys: [String!]!) { addFieldsFromTemplates(templateKeys: $keys) { added { key } skipped { key reason } } }";
const REORDER: &str =
    "mutation($ids: [ID!]!) { reorderFieldDefinitions(ids: $ids) { key position } }";
const ARCHIVE: &str = "mutation($id: ID!) { archiveFieldDefinition(id: $id) { archived } }";
const RESTORE: &str = "mutation($id: ID!) { restoreFieldDefinition(id: $id) { archived } }";
const PURGE: &str =
    "mutation($id: ID!, $key: String!) { purgeFieldDefinition(id: $id, confirmKey: $key) }";

/// The 17 built-in OpenID Connect claim fields.
pub const BUILTIN_KEYS: [&str; 17] = [
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "address",
];

pub async fn definitions(app: &TestApp, token: &str) -> Vec<Value> {
    let data = app.ok(token, DEFINITIONS, json!({"archived": true})).await;
    data["fieldDefinitions"].as_array().unwrap().clone()
}

pub async fn field_id(app: &TestApp, token: &str, key: &str) -> String {
    let all = definitions(app, token).await;
    let found = all
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no field {key}"));
    found["id"].as_str().unwrap().to_owned()
}

pub fn text_field(key: &str, labels: Value) -> Value {
    json!({"input": {"key": key, "kind": "SHORT_TEXT", "labels": labels}})
}

storage_test!(every_tenant_starts_with_the_builtin_claim_fields);
async fn every_tenant_starts_with_the_builtin_claim_fields(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let fields = definitions(&app, &admin).await;
    let keys: Vec<&str> = fields.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, BUILTIN_KEYS);
    assert!(fields.iter().all(|f| f["builtin"] == true));
    let email = &fields[9];
    assert_eq!(
        (email["kind"].as_str(), email["ownerAccess"].as_str()),
        (Some("EMAIL"), Some("READ"))
    );

    let id = field_id(&app, &admin, "nickname").await;
    let body = app
        .graphql(Call {
            token: Some(&admin),
            query: ARCHIVE,
            variables: json!({"id": id}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let relabel = json!({"id": id, "input": {"labels": [{"locale": "en", "text": "Alias"}], "ownerAccess": "READ"}});
    let updated = app.ok(&admin, UPDATE, relabel).await;
    assert_eq!(updated["updateFieldDefinition"]["label"]["text"], "Alias");
    assert_eq!(updated["updateFieldDefinition"]["ownerAccess"], "READ");
}

storage_test!(an_admin_builds_a_thirty_field_schema_from_templates_and_by_hand);
async fn an_admin_builds_a_thirty_field_schema_from_templates_and_by_hand(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let keys = [
        "job_title",
        "department",
        "company",
        "office_location",
        "city",
        "country",
        "bio",
        "phone",
        "linkedin",
        "x_twitter",
        "github",
        "telegram",
        "whatsapp",
        "mobile_phone",
        "avatar",
        "cv",
        "email_notifications",
        "sms_notifications",
        "tshirt_size",
        "pronouns",
        "start_date",
        "skills",
        "languages_spoken",
        "years_of_experience",
        "timezone",
    ];
    let report =
        app.ok(&admin, TEMPLATES, json!({"keys": keys})).await["addFieldsFromTemplates"].clone();
    assert_eq!(report["added"].as_array().unwrap().len(), 25);
    assert_eq!(report["skipped"], json!([]));
    let again = app
        .ok(
            &admin,
            TEMPLATES,
            json!({"keys": ["job_title", "no_such_template", "hobby_x"]}),
        )
        .await;
    let skipped: Vec<&str> = again["addFieldsFromTemplates"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["job_title", "no_such_template", "hobby_x"]);

    let hand_made = [
        json!({"key": "badge_number", "kind": "INTEGER", "labels": [{"locale": "en", "text": "Badge"}], "validation": {"min": 1.0, "max": 99999.0}}),
        json!({"key": "team", "kind": "SINGLE_CHOICE", "labels": [{"locale": "en", "text": "Team"}],
               "options": [{"value": "red", "labels": [{"locale": "en", "text": "Red"}]}, {"value": "blue", "labels": [{"locale": "en", "text": "Blue"}]}]}),
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": [{"locale": "en", "text": "Desk"}], "validation": {"pattern": "[A-Z]-[0-9]{3}"}}),
        json!({"key": "salary_band", "kind": "SHORT_TEXT", "labels": [{"locale": "en", "text": "Salary band"}], "ownerAccess": "HIDDEN", "memberAccess": "HIDDEN"}),
        json!({"key": "height_cm", "kind": "NUMBER", "labels": [{"locale": "en", "text": "Height"}]}),
    ];
    for input in hand_made {
        app.ok(&admin, CREATE, json!({"input": input})).await;
    }
    let fields = definitions(&app, &admin).await;
    assert_eq!(fields.len(), 17 + 30);
    let custom = fields.iter().filter(|f| f["builtin"] == false).count();
    assert_eq!(custom, 30);

    let mut ids: Vec<String> = fields
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    let reordered = app.ok(&admin, REORDER, json!({"ids": ids})).await;
    assert_eq!(reordered["reorderFieldDefinitions"][0]["key"], "height_cm");
    assert_eq!(definitions(&app, &admin).await[46]["key"], "name");
    ids.pop();
    let partial = app
        .graphql(Call {
            token: Some(&admin),
            query: REORDER,
            variables: json!({"ids": ids}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&partial), "BAD_USER_INPUT");
}

storage_test!(definitions_are_checked_with_clear_messages);
async fn definitions_are_checked_with_clear_messages(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let call = |variables: Value| {
        app.graphql(Call {
            token: Some(&admin),
            query: CREATE,
            variables,
            ..Default::default()
        })
    };
    for key in ["Job", "1st", "ends_", "has-dash", "", &"x".repeat(65)] {
        let body = call(text_field(key, json!([{"locale": "en", "text": "X"}]))).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{key}: {body}");
    }
    let body = call(json!({"input": {"key": "team", "kind": "SINGLE_CHOICE", "labels": []}})).await;
    assert!(
        error_message(&body).contains("at least one option"),
        "{body}"
    );
    let body = call(json!({"input": {"key": "desk", "kind": "SHORT_TEXT", "labels": [], "validation": {"pattern": "(unclosed"}}})).await;
    assert!(error_message(&body).contains("invalid pattern"), "{body}");
    let body = call(json!({"input": {"key": "age", "kind": "INTEGER", "labels": [], "validation": {"maxLength": 3}}})).await;
    assert!(error_message(&body).contains("text fields only"), "{body}");
    let body = call(json!({"input": {"key": "bio2", "kind": "LONG_TEXT", "labels": [{"locale": "not a locale", "text": "Bio"}]}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let body = call(text_field("desk", json!([]))).await;
    assert_eq!(error_code(&body), "CONFLICT");
    let body = call(text_field("email", json!([]))).await;
    assert_eq!(error_code(&body), "CONFLICT", "built-in keys are taken");

    let id = field_id(&app, &admin, "desk").await;
    let kind_change = json!({"id": id, "input": {"kind": "INTEGER"}});
    let body = app
        .graphql(Call {
            token: Some(&admin),
            query: UPDATE,
            variables: kind_change,
            ..Default::default()
        })
        .await;
    assert!(
        body["errors"].is_array(),
        "a kind cannot be changed: {body}"
    );
    let stale = json!({"id": id, "input": {"required": true, "expectedVersion": 7}});
    let body = app
        .graphql(Call {
            token: Some(&admin),
            query: UPDATE,
            variables: stale,
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
}

storage_test!(only_admins_of_the_tenant_change_its_fields);
async fn only_admins_of_the_tenant_change_its_fields(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let id = field_id(&app, &admin, "desk").await;
    let member = app.user_token("mia", &[("acme", "member")]);
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: CREATE,
            variables: text_field("x", json!([])),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: ARCHIVE,
            variables: json!({"id": id}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    let foreign = app.user_token("eve", &[("evil", "owner")]);
    let input = json!({"id": id, "input": {"ownerAccess": "HIDDEN"}});
    let body = app
        .graphql(Call {
            token: Some(&foreign),
            query: UPDATE,
            variables: input.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(
        error_code(&body),
        "NOT_FOUND",
        "another tenant's field id is unknown here"
    );
    let body = app
        .graphql(Call {
            token: Some(&foreign),
            tenant: Some("acme"),
            query: UPDATE,
            variables: input,
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .graphql(Call {
            token: Some(&foreign),
            tenant: Some("acme"),
            query: DEFINITIONS,
            variables: json!({}),
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

storage_test!(archiving_keeps_values_and_purging_is_for_operators);
async fn archiving_keeps_values_and_purging_is_for_operators(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let id = field_id(&app, &admin, "desk").await;
    let save = "mutation { updateMyProfile(input: {values: [{key: \"desk\", value: \"B-204\"}]}) { version } }";
    app.ok(&admin, save, json!({})).await;
    let desk = "{ me { profile { value(key: \"desk\") { text } } } }";
    app.ok(&admin, ARCHIVE, json!({"id": id})).await;
    assert_eq!(
        app.ok(&admin, desk, json!({})).await["me"]["profile"]["value"],
        Value::Null
    );
    let member = app.user_token("mia", &[("acme", "member")]);
    let visible = app
        .ok(&member, DEFINITIONS, json!({"archived": true}))
        .await;
    assert!(
        !visible.to_string().contains("desk"),
        "members never see archived fields"
    );
    app.ok(&admin, RESTORE, json!({"id": id})).await;
    assert_eq!(
        app.ok(&admin, desk, json!({})).await["me"]["profile"]["value"]["text"],
        "B-204"
    );

    let body = app
        .graphql(Call {
            token: Some(&admin),
            query: PURGE,
            variables: json!({"id": id, "key": "desk"}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let operator = app.operator_token("ops", &["acme"]);
    let call = |key: &'static str| {
        app.graphql(Call {
            token: Some(&operator),
            tenant: Some("acme"),
            query: PURGE,
            variables: json!({"id": id, "key": key}),
        })
    };
    assert_eq!(error_code(&call("wrong").await), "BAD_USER_INPUT");
    let purged = call("desk").await;
    assert!(purged.get("errors").is_none(), "{purged}");
    assert!(
        !definitions(&app, &admin)
            .await
            .iter()
            .any(|f| f["key"] == "desk")
    );
}

storage_test!(labels_follow_the_locale_with_fallbacks_and_direction);
async fn labels_follow_the_locale_with_fallbacks_and_direction(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["job_title"]}))
        .await;
    app.ok(
        &admin,
        CREATE,
        text_field("desk", json!([{"locale": "de", "text": "Schreibtisch"}])),
    )
    .await;
    let label = |fields: &Value, key: &str| {
        fields["fieldDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap()["label"]
            .clone()
    };
    let arabic = app
        .ok(&admin, DEFINITIONS, json!({"locale": "ar-EG"}))
        .await;
    assert_eq!(
        label(&arabic, "job_title"),
        json!({"text": "المسمى الوظيفي", "locale": "ar", "direction": "RTL"})
    );
    assert_eq!(
        label(&arabic, "desk"),
        json!({"text": "Desk", "locale": null, "direction": "LTR"}),
        "key in Title Case"
    );
    let hebrew = app.ok(&admin, DEFINITIONS, json!({"locale": "he"})).await;
    assert_eq!(label(&hebrew, "job_title")["direction"], "RTL");
    let german = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&admin)
        .header("Accept-Language", "de-CH, fr;q=0.8")
        .json(&json!({"query": DEFINITIONS}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(label(&german["data"], "desk")["text"], "Schreibtisch");
    let fallback = app.ok(&admin, DEFINITIONS, json!({"locale": "sw"})).await;
    assert_eq!(
        label(&fallback, "job_title")["text"],
        "Job title",
        "tenant default"
    );
}

storage_test!(the_template_catalogue_is_multilingual);
async fn the_template_catalogue_is_multilingual(app: TestApp) {
    let user = app.user_token("ada", &[("acme", "member")]);
    let query = "query($l: String) { fieldTemplates(locale: $l) { key kind category label { text direction } } }";
    let persian = app.ok(&user, query, json!({"l": "fa"})).await["fieldTemplates"].clone();
    let templates = persian.as_array().unwrap();
    assert!(templates.len() >= 25);
    assert!(
        templates.iter().all(|t| t["label"]["direction"] == "RTL"),
        "{persian}"
    );
    let english = app.ok(&user, query, json!({"l": "en"})).await;
    let cv = english["fieldTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "cv")
        .unwrap()
        .clone();
    assert_eq!(cv["kind"], "FILE");
}

storage_test!(members_list_only_the_fields_their_own_card_shows);
async fn members_list_only_the_fields_their_own_card_shows(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let mut secret = text_field("salary_band", json!([]));
    secret["input"]["ownerAccess"] = json!("HIDDEN");
    app.ok(&admin, CREATE, secret).await;
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let old = field_id(&app, &admin, "desk").await;
    app.ok(&admin, ARCHIVE, json!({"id": old})).await;

    let keys = |defs: Vec<Value>| -> Vec<String> {
        defs.iter()
            .map(|f| f["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let member = app.user_token("mia", &[("acme", "member")]);
    let seen = keys(definitions(&app, &member).await);
    assert!(seen.contains(&"given_name".to_owned()));
    assert!(
        !seen.contains(&"salary_band".to_owned()),
        "hidden on their card"
    );
    assert!(
        !seen.contains(&"desk".to_owned()),
        "archived, even when asked"
    );
    let all = keys(definitions(&app, &admin).await);
    assert!(all.contains(&"salary_band".to_owned()) && all.contains(&"desk".to_owned()));
    let unarchived = app.ok(&admin, DEFINITIONS, json!({})).await;
    assert!(
        !unarchived.to_string().contains("\"desk\""),
        "archived only on request"
    );
}

storage_test!(new_fields_get_the_default_access_by_hand_and_from_templates);
async fn new_fields_get_the_default_access_by_hand_and_from_templates(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    app.ok(&admin, TEMPLATES, json!({"keys": ["job_title"]}))
        .await;
    let all = definitions(&app, &admin).await;
    for key in ["desk", "job_title"] {
        let field = all.iter().find(|f| f["key"] == key).unwrap();
        assert_eq!(
            (
                &field["ownerAccess"],
                &field["memberAccess"],
                &field["adminAccess"]
            ),
            (&json!("EDIT"), &json!("READ"), &json!("EDIT")),
            "{key}"
        );
    }
}

storage_test!(only_an_operator_of_the_tenant_purges_not_even_its_owner);
async fn only_an_operator_of_the_tenant_purges_not_even_its_owner(app: TestApp) {
    let owner = app.user_token("olga", &[("acme", "owner")]);
    app.ok(&owner, CREATE, text_field("desk", json!([]))).await;
    let id = field_id(&app, &owner, "desk").await;
    let purge = |token: &str, tenant: Option<&'static str>| {
        let token = token.to_owned();
        let app = &app;
        let id = id.clone();
        async move {
            app.graphql(Call {
                token: Some(&token),
                tenant,
                query: PURGE,
                variables: json!({"id": id, "key": "desk"}),
            })
            .await
        }
    };
    assert_eq!(error_code(&purge(&owner, None).await), "FORBIDDEN");
    let other = app.operator_token("ops", &["beta"]);
    assert_eq!(error_code(&purge(&other, Some("acme")).await), "FORBIDDEN");
    let global = app.operator_token("root", &["*"]);
    let body = purge(&global, Some("acme")).await;
    assert!(body.get("errors").is_none(), "{body}");
}
