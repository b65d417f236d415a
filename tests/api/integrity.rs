//! Integrity on both databases: U+0000 refused (or cleaned from claims) the same way on SQLite
//! and PostgreSQL, races answered CONFLICT rather than internal errors, and versions that hold
//! under concurrency.

use serde_json::{Map, Value, json};

use crate::common::{Call, TestApp, error_code, error_message};
use crate::fields::{CREATE, TEMPLATES, UPDATE, definitions, field_id, text_field};
use crate::storage_test;

const SAVE: &str =
    "mutation($input: ProfileUpdateInput!) { updateMyProfile(input: $input) { version } }";
const RENAME: &str = "mutation($name: String!) { renameTenant(name: $name) { name } }";
const CREATE_APP: &str = "mutation($input: CreateAppInput!) { createApp(input: $input) { id } }";
const CREATE_MINE: &str =
    "mutation($a: ID!, $d: JSON!) { createMyAppProfile(appId: $a, data: $d) { version } }";
const PATCH_MINE: &str = "mutation($a: ID!, $p: JSON!, $v: Int) {
    updateMyAppProfile(appId: $a, patch: $p, expectedVersion: $v) { data version } }";
const MINE: &str = "query($a: ID) { myAppProfiles(appId: $a) { data version } }";
const ARCHIVE: &str = "mutation($id: ID!, $v: Int) { archiveFieldDefinition(id: $id, expectedVersion: $v) { archived version } }";
const RESTORE: &str = "mutation($id: ID!, $v: Int) { restoreFieldDefinition(id: $id, expectedVersion: $v) { archived version } }";

async fn send(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    app.graphql(Call {
        token: Some(token),
        query,
        variables,
        ..Default::default()
    })
    .await
}

/// Asserts a NUL refusal naming exactly `place`.
fn assert_refused_at(body: &Value, place: &str) {
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{body}");
    assert!(error_message(body).contains("U+0000"), "{body}");
    let problems = &body["errors"][0]["extensions"]["problems"];
    assert_eq!(problems[0]["field"], place, "{body}");
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{body}");
}

storage_test!(nul_in_any_input_is_bad_user_input_naming_where);
async fn nul_in_any_input_is_bad_user_input_naming_where(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("bio", json!([]))).await;
    app.ok(
        &app.operator_token("root", &["*"]),
        CREATE_APP,
        json!({"input": {"id": "crm", "name": "CRM"}}),
    )
    .await;
    // (query, variables, where the refusal points)
    let cases: Vec<(&str, Value, &str)> = vec![
        // A card value, as a variable and inline.
        (
            SAVE,
            json!({"input": {"values": [{"key": "bio", "value": "a\u{0}b"}]}}),
            "/input/values/0/value",
        ),
        (
            "mutation { updateMyProfile(input: {values: [{key: \"bio\", value: \"a\\u0000b\"}]}) { version } }",
            json!({}),
            "updateMyProfile(input)/values/0/value",
        ),
        // A field label.
        (
            CREATE,
            text_field("desk", json!([{"locale": "en", "text": "De\u{0}sk"}])),
            "/input/labels/0/text",
        ),
        (
            "mutation { createFieldDefinition(input: {key: \"desk\", kind: SHORT_TEXT, labels: [{locale: \"en\", text: \"De\\u0000sk\"}]}) { id } }",
            json!({}),
            "createFieldDefinition(input)/labels/0/text",
        ),
        // A tenant name.
        (RENAME, json!({"name": "Ac\u{0}me"}), "/name"),
        (
            "mutation { renameTenant(name: \"Ac\\u0000me\") { name } }",
            json!({}),
            "renameTenant(name)",
        ),
        // App data, a member name in it, and an argument that only filters.
        (
            CREATE_MINE,
            json!({"a": "crm", "d": {"theme": ["dark\u{0}"]}}),
            "/d/theme/0",
        ),
        (
            CREATE_MINE,
            json!({"a": "crm", "d": {"th\u{0}eme": 1}}),
            "/d/th\u{0}eme",
        ),
        (
            "mutation { createMyAppProfile(appId: \"crm\", data: {theme: \"\\u0000\"}) { version } }",
            json!({}),
            "createMyAppProfile(data)/theme",
        ),
        (MINE, json!({"a": "crm\u{0}"}), "/a"),
        (
            "{ mine: myAppProfiles(appId: \"crm\\u0000\") { version } }",
            json!({}),
            "mine(appId)",
        ),
        // A variable's default.
        (
            "query($a: ID = \"crm\\u0000\") { myAppProfiles(appId: $a) { version } }",
            json!({}),
            "$a",
        ),
    ];
    let before = app.ok(&admin, "{ tenant { name } }", json!({})).await;
    for (query, variables, place) in cases {
        let body = send(&app, &admin, query, variables).await;
        assert_refused_at(&body, place);
    }
    // Nothing was written, and the same inputs without NUL go through.
    let data = app
        .ok(
            &admin,
            "{ tenant { name } me { profile { version } } myAppProfiles { version } }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["profile"]["version"], 0, "{data}");
    assert_eq!(data["myAppProfiles"], json!([]), "{data}");
    assert_eq!(data["tenant"], before["tenant"]);
    app.ok(&admin, RENAME, json!({"name": "Acme"})).await;
    app.ok(
        &admin,
        SAVE,
        json!({"input": {"values": [{"key": "bio", "value": "ab"}]}}),
    )
    .await;
}

storage_test!(a_provider_claim_with_nul_is_cleaned_and_the_sign_in_succeeds);
async fn a_provider_claim_with_nul_is_cleaned_and_the_sign_in_succeeds(app: TestApp) {
    let mut claims = Map::new();
    claims.insert("given_name".into(), json!("An\u{0}na"));
    claims.insert("family_name".into(), json!("\u{0}Li"));
    claims.insert(
        "tenants".into(),
        json!([{"id": "acme", "name": "Acme\u{0} Corp", "role": "owner"}]),
    );
    let token = app.token("anna", &[], false, 3600, claims);
    let data = app
        .ok(
            &token,
            "{ me { firstName lastName primaryTenantName } }",
            json!({}),
        )
        .await;
    assert_eq!(data["me"]["firstName"], "Anna");
    assert_eq!(data["me"]["lastName"], "Li");
    assert_eq!(data["me"]["primaryTenantName"], "Acme Corp");
}

/// Sends `count` copies of one request at once and returns every answer.
async fn at_once(
    app: &TestApp,
    token: &str,
    count: usize,
    query: &str,
    variables: Value,
) -> Vec<Value> {
    let calls = (0..count).map(|_| send(app, token, query, variables.clone()));
    futures::future::join_all(calls).await
}

/// Splits answers into successes and errors; every error must have `code`.
fn split(answers: Vec<Value>, code: &str) -> (Vec<Value>, Vec<Value>) {
    let (failed, succeeded): (Vec<Value>, Vec<Value>) =
        answers.into_iter().partition(|a| a.get("errors").is_some());
    for body in &failed {
        assert_eq!(error_code(body), code, "{body}");
    }
    (succeeded, failed)
}

storage_test!(racing_creates_of_one_key_make_one_field_and_conflicts);
async fn racing_creates_of_one_key_make_one_field_and_conflicts(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.user_id(&admin).await;
    let answers = at_once(&app, &admin, 10, CREATE, text_field("desk", json!([]))).await;
    let (created, _) = split(answers, "CONFLICT");
    assert_eq!(created.len(), 1, "exactly one create wins");

    let keys = json!({"keys": ["job_title", "department"]});
    let answers = at_once(&app, &admin, 10, TEMPLATES, keys).await;
    let (reports, _) = split(answers, "CONFLICT");
    let adding: Vec<&Value> = reports
        .iter()
        .filter(|r| r["data"]["addFieldsFromTemplates"]["added"] != json!([]))
        .collect();
    assert_eq!(
        adding.len(),
        1,
        "one request adds, later ones skip: {reports:?}"
    );
    let all = definitions(&app, &admin).await;
    for key in ["desk", "job_title", "department"] {
        assert_eq!(all.iter().filter(|f| f["key"] == key).count(), 1, "{key}");
    }
}

storage_test!(racing_changes_based_on_one_version_let_exactly_one_through);
async fn racing_changes_based_on_one_version_let_exactly_one_through(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let id = field_id(&app, &admin, "desk").await;
    let relabel = json!({"id": id, "input": {"labels": [{"locale": "en", "text": "Desk"}], "expectedVersion": 1}});
    let (updated, stale) = split(at_once(&app, &admin, 10, UPDATE, relabel).await, "CONFLICT");
    assert_eq!(updated.len(), 1, "{stale:?}");
    assert!(error_message(&stale[0]).contains("stale"), "{stale:?}");
    assert_eq!(updated[0]["data"]["updateFieldDefinition"]["version"], 2);

    let (archived, _) = split(
        at_once(&app, &admin, 10, ARCHIVE, json!({"id": id, "v": 2})).await,
        "CONFLICT",
    );
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["data"]["archiveFieldDefinition"]["version"], 3);
    let (restored, _) = split(
        at_once(&app, &admin, 10, RESTORE, json!({"id": id, "v": 3})).await,
        "CONFLICT",
    );
    assert_eq!(restored.len(), 1);
    let field = definitions(&app, &admin)
        .await
        .into_iter()
        .find(|f| f["key"] == "desk")
        .unwrap();
    assert_eq!(field["version"], 4);
    assert_eq!(field["archived"], false);
    // Without a version, changes queue and all succeed.
    let plain = json!({"id": id, "input": {"required": true}});
    let (done, _) = split(at_once(&app, &admin, 5, UPDATE, plain).await, "CONFLICT");
    assert_eq!(done.len(), 5);

    // The card and app profiles follow the same rule.
    let save =
        json!({"input": {"values": [{"key": "desk", "value": "B-1"}], "expectedVersion": 0}});
    let (saved, _) = split(at_once(&app, &admin, 10, SAVE, save).await, "CONFLICT");
    assert_eq!(saved.len(), 1);
    app.ok(
        &app.operator_token("root", &["*"]),
        CREATE_APP,
        json!({"input": {"id": "crm", "name": "CRM"}}),
    )
    .await;
    app.ok(&admin, CREATE_MINE, json!({"a": "crm", "d": {}}))
        .await;
    let patch = json!({"a": "crm", "p": {"n": 1}, "v": 1});
    let (patched, _) = split(
        at_once(&app, &admin, 10, PATCH_MINE, patch).await,
        "CONFLICT",
    );
    assert_eq!(patched.len(), 1);
    let mine = app.ok(&admin, MINE, json!({"a": "crm"})).await;
    assert_eq!(mine["myAppProfiles"][0]["version"], 2);
}
