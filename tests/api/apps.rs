//! App-scoped JSON profiles: the app registry, users' own profiles, operators' bulk create, and
//! the refusals (other users, other tenants, bad documents).

use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::{Backend, Call, TestApp, error_code, error_message};
use crate::peer_test;
use crate::storage_test;

const CREATE_APP: &str = "mutation($input: CreateAppInput!) {
    createApp(input: $input) { id name domain description jsonSchema createdAt } }";
const UPDATE_APP: &str = "mutation($id: ID!, $input: UpdateAppInput!) {
    updateApp(id: $id, input: $input) { id name domain description jsonSchema } }";
const APPS: &str = "{ apps { id name domain description jsonSchema } }";
const DELETE_APP: &str = "mutation($id: ID!, $all: Boolean! = false) {
    deleteApp(id: $id, deleteProfiles: $all) { app { id name } profilesDeleted } }";
const BULK: &str = "mutation($p: [AppProfileInput!]!, $on: OnExisting! = FAIL) {
    createAppProfiles(profiles: $p, onExisting: $on) { created replaced } }";
const READ: &str = "query($u: ID!, $a: ID!) {
    appProfile(userId: $u, appId: $a) { userId appId data version } }";
const MINE: &str = "query($a: ID) { myAppProfiles(appId: $a) { userId appId data version } }";
const CREATE_MINE: &str = "mutation($a: ID!, $d: JSON!) {
    createMyAppProfile(appId: $a, data: $d) { userId appId data version createdAt updatedAt } }";
const PATCH_MINE: &str = "mutation($a: ID!, $p: JSON!, $v: Int) {
    updateMyAppProfile(appId: $a, patch: $p, expectedVersion: $v) { appId data version } }";
const DELETE_MINE: &str = "mutation($a: ID!, $v: Int) {
    deleteMyAppProfile(appId: $a, expectedVersion: $v) { userId appId data version } }";

async fn call(
    app: &TestApp,
    token: &str,
    tenant: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    app.graphql(Call {
        token: Some(token),
        tenant,
        query,
        variables,
    })
    .await
}

/// Sends as `token` in `tenant` and returns `data`, failing the test on any error.
async fn ok_in(app: &TestApp, token: &str, tenant: &str, query: &str, variables: Value) -> Value {
    let body = call(app, token, Some(tenant), query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// An operator granted every tenant, who manages the app registry.
fn root(app: &TestApp) -> String {
    app.operator_token("root-ops", &["*"])
}

async fn register(app: &TestApp, id: &str, schema: Option<Value>) {
    let input = json!({"id": id, "name": id.to_uppercase(), "jsonSchema": schema});
    app.ok(&root(app), CREATE_APP, json!({ "input": input }))
        .await;
}

/// Signs users in (so they exist, with their memberships) and returns their ids.
async fn sign_in(app: &TestApp, subjects: &[String], tenant: &str) -> Vec<String> {
    futures::stream::iter(subjects)
        .map(|subject| async move {
            app.user_id(&app.user_token(subject, &[(tenant, "member")]))
                .await
        })
        .buffered(8)
        .collect()
        .await
}

fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("expected problems in {body}"))
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect()
}

fn item(user: &str, app_id: &str, data: Value) -> Value {
    json!({"userId": user, "appId": app_id, "data": data})
}

storage_test!(operators_register_apps_and_every_signed_in_caller_reads_them);
async fn operators_register_apps_and_every_signed_in_caller_reads_them(app: TestApp) {
    let root = root(&app);
    let input = json!({"id": "crm", "name": "CRM", "domain": "CRM.example.com",
        "description": "Customer records"});
    let created = app.ok(&root, CREATE_APP, json!({ "input": input })).await;
    assert_eq!(created["createApp"]["domain"], "crm.example.com");
    assert_eq!(created["createApp"]["jsonSchema"], Value::Null);

    let again = call(&app, &root, None, CREATE_APP, json!({ "input": input })).await;
    assert_eq!(error_code(&again), "CONFLICT");
    let bad = json!({"id": "CRM App", "name": "x"});
    let body = call(&app, &root, None, CREATE_APP, json!({ "input": bad })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(problem_fields(&body), ["/input/id"]);

    // Apps are global: an operator of one tenant, or a tenant owner, may not register them.
    let acme_ops = app.operator_token("acme-ops", &["acme"]);
    let owner = app.user_token("olga", &[("acme", "owner")]);
    let input = json!({"id": "web", "name": "Web"});
    for token in [&acme_ops, &owner] {
        let body = call(
            &app,
            token,
            Some("acme"),
            CREATE_APP,
            json!({ "input": input }),
        )
        .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }

    let listed = app.ok(&owner, APPS, json!({})).await;
    assert_eq!(listed["apps"][0]["id"], "crm");
    assert_eq!(listed["apps"][0]["description"], "Customer records");
    assert_eq!(listed["apps"].as_array().unwrap().len(), 1);
    let anonymous = app
        .graphql(Call {
            query: APPS,
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

storage_test!(operators_delete_apps_and_their_profiles_only_when_asked);
async fn operators_delete_apps_and_their_profiles_only_when_asked(app: TestApp) {
    register(&app, "crm", None).await;
    register(&app, "web", None).await;
    register(&app, "unused", None).await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let bea = app.user_token("bea", &[("beta", "owner")]);
    for (token, app_id) in [(&ann, "crm"), (&bea, "crm"), (&ann, "web")] {
        app.ok(token, CREATE_MINE, json!({"a": app_id, "d": {"x": 1}}))
            .await;
    }

    // Only operators granted every tenant: not a tenant's operator, not a tenant owner.
    let acme_ops = app.operator_token("acme-ops", &["acme"]);
    for token in [&acme_ops, &bea] {
        let body = call(&app, token, None, DELETE_APP, json!({"id": "crm"})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }

    // Profiles go only when asked for, whichever tenants they belong to.
    let root = root(&app);
    let refused = call(&app, &root, None, DELETE_APP, json!({"id": "crm"})).await;
    assert_eq!(error_code(&refused), "CONFLICT");
    assert!(error_message(&refused).contains("2 profiles"), "{refused}");
    let kept = app.ok(&bea, MINE, json!({"a": "crm"})).await;
    assert_eq!(kept["myAppProfiles"].as_array().unwrap().len(), 1);

    let variables = json!({"id": "crm", "all": true});
    let deleted = app.ok(&root, DELETE_APP, variables.clone()).await["deleteApp"].clone();
    assert_eq!(
        deleted,
        json!({"app": {"id": "crm", "name": "CRM"}, "profilesDeleted": 2})
    );
    let unused = app.ok(&root, DELETE_APP, json!({"id": "unused"})).await;
    assert_eq!(unused["deleteApp"]["profilesDeleted"], 0);
    let again = call(&app, &root, None, DELETE_APP, variables).await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    let listed = app.ok(&ann, APPS, json!({})).await;
    assert_eq!(
        listed["apps"],
        json!([{"id": "web", "name": "WEB", "domain": null,
        "description": null, "jsonSchema": null}])
    );
    let left = app.ok(&ann, MINE, json!({})).await["myAppProfiles"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["appId"], "web");
    let write = call(&app, &ann, None, CREATE_MINE, json!({"a": "crm", "d": {}})).await;
    assert_eq!(error_code(&write), "NOT_FOUND");

    // An app registered again under the same id starts empty.
    register(&app, "crm", None).await;
    let fresh = app.ok(&bea, MINE, json!({"a": "crm"})).await;
    assert_eq!(fresh["myAppProfiles"], json!([]));
}

peer_test!(a_profile_written_while_its_app_is_deleted_is_a_conflict);
/// A profile written while its app is deleted (PostgreSQL, where the two really overlap): the
/// writer waits for the delete, then gets CONFLICT, never an internal error, and nothing stays.
async fn a_profile_written_while_its_app_is_deleted_is_a_conflict() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let app = TestApp::spawn(Backend::Postgres).await;
    register(&app, "crm", None).await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;

    let deleting = app.db.begin().await.unwrap();
    deleting
        .execute_unprepared("SELECT 1 FROM apps WHERE id = 'crm' FOR UPDATE")
        .await
        .unwrap();
    let writing = {
        let (app, ann) = (&app, &ann);
        async move { call(app, ann, None, CREATE_MINE, json!({"a": "crm", "d": {}})).await }
    };
    let delete_once_the_writer_waits = async {
        wait_for_a_lock_wait(&app).await;
        deleting
            .execute_unprepared("DELETE FROM apps WHERE id = 'crm'")
            .await
            .unwrap();
        deleting.commit().await.unwrap();
    };
    let (body, ()) = tokio::join!(writing, delete_once_the_writer_waits);
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert!(error_message(&body).contains("deleted meanwhile"), "{body}");
    let mine = app.ok(&ann, MINE, json!({})).await;
    assert_eq!(mine["myAppProfiles"], json!([]));
}

/// Waits until some session of the test's database waits for a row lock.
async fn wait_for_a_lock_wait(app: &TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let query = "SELECT count(*) AS waiting FROM pg_stat_activity \
        WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for _ in 0..500 {
        let statement = Statement::from_string(sea_orm::DbBackend::Postgres, query);
        let row = app.db.query_one_raw(statement).await.unwrap().unwrap();
        if row.try_get::<i64>("", "waiting").unwrap() > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the profile write never waited for the app's row lock");
}

storage_test!(operators_change_apps_and_their_json_schema);
async fn operators_change_apps_and_their_json_schema(app: TestApp) {
    let root = root(&app);
    register(&app, "crm", None).await;
    let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}});
    let input = json!({"jsonSchema": schema, "domain": "crm.example.com", "name": "CRM 2"});
    let updated = app
        .ok(&root, UPDATE_APP, json!({"id": "crm", "input": input}))
        .await;
    assert_eq!(updated["updateApp"]["jsonSchema"], schema);
    assert_eq!(updated["updateApp"]["name"], "CRM 2");

    // `null` clears, absent keeps.
    let input = json!({"domain": null});
    let updated = app
        .ok(&root, UPDATE_APP, json!({"id": "crm", "input": input}))
        .await;
    assert_eq!(updated["updateApp"]["domain"], Value::Null);
    assert_eq!(updated["updateApp"]["jsonSchema"], schema);

    for (bad, field) in [
        (json!({"type": "no-such-type"}), "/input/jsonSchema"),
        (
            json!({"properties": {"a": {"minimum": "x"}}}),
            "/input/jsonSchema",
        ),
        (
            json!({"$ref": "https://example.com/s.json"}),
            "/input/jsonSchema",
        ),
    ] {
        let input = json!({ "jsonSchema": bad });
        let body = call(
            &app,
            &root,
            None,
            UPDATE_APP,
            json!({"id": "crm", "input": input}),
        )
        .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert!(problem_fields(&body)[0].starts_with(field), "{body}");
    }
    let body = call(
        &app,
        &root,
        None,
        UPDATE_APP,
        json!({"id": "nope", "input": {"name": "x"}}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let user = app.user_token("uma", &[("acme", "admin")]);
    let body = call(
        &app,
        &user,
        None,
        UPDATE_APP,
        json!({"id": "crm", "input": {"name": "x"}}),
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

storage_test!(users_create_read_and_patch_only_their_own_profiles);
async fn users_create_read_and_patch_only_their_own_profiles(app: TestApp) {
    register(&app, "crm", None).await;
    register(&app, "web", None).await;
    let alice = app.user_token("alice", &[("acme", "member")]);
    let alice_id = app.user_id(&alice).await;
    let data = json!({"theme": "dark", "layout": {"cols": 2, "rows": 3}});
    let created = app
        .ok(&alice, CREATE_MINE, json!({"a": "crm", "d": data}))
        .await["createMyAppProfile"]
        .clone();
    assert_eq!(created["data"], data);
    assert_eq!(created["version"], 1);
    assert_eq!(created["userId"], alice_id.as_str());
    let again = call(
        &app,
        &alice,
        None,
        CREATE_MINE,
        json!({"a": "crm", "d": {}}),
    )
    .await;
    assert_eq!(error_code(&again), "CONFLICT");

    let mine = app.ok(&alice, MINE, json!({"a": "crm"})).await;
    assert_eq!(mine["myAppProfiles"][0]["data"], data);
    let all = app.ok(&alice, MINE, json!({})).await;
    assert_eq!(all["myAppProfiles"].as_array().unwrap().len(), 1);
    let none = app.ok(&alice, MINE, json!({"a": "web"})).await;
    assert_eq!(none["myAppProfiles"], json!([]));

    // RFC 7386: null removes, objects merge, other values replace.
    let patch = json!({"layout": {"rows": null, "cols": 4}, "lang": "fr"});
    let patched = app
        .ok(&alice, PATCH_MINE, json!({"a": "crm", "p": patch, "v": 1}))
        .await["updateMyAppProfile"]
        .clone();
    let expected = json!({"theme": "dark", "layout": {"cols": 4}, "lang": "fr"});
    assert_eq!(patched["data"], expected);
    assert_eq!(patched["version"], 2);
    let stale = call(
        &app,
        &alice,
        None,
        PATCH_MINE,
        json!({"a": "crm", "p": {"theme": "light"}, "v": 1}),
    )
    .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    assert!(error_message(&stale).contains("version 2"), "{stale}");
    let unchanged = app.ok(&alice, MINE, json!({"a": "crm"})).await;
    assert_eq!(unchanged["myAppProfiles"][0]["data"], expected);
    let latest = app
        .ok(
            &alice,
            PATCH_MINE,
            json!({"a": "crm", "p": {"theme": "light"}}),
        )
        .await;
    assert_eq!(latest["updateMyAppProfile"]["version"], 3);

    let missing = call(&app, &alice, None, PATCH_MINE, json!({"a": "web", "p": {}})).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let unknown = call(
        &app,
        &alice,
        None,
        CREATE_MINE,
        json!({"a": "nope", "d": {}}),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    // Bob has his own profile for the same app, and never sees Alice's.
    let bob = app.user_token("bob", &[("acme", "member")]);
    assert_eq!(
        app.ok(&bob, MINE, json!({})).await["myAppProfiles"],
        json!([])
    );
    let his = app
        .ok(
            &bob,
            CREATE_MINE,
            json!({"a": "crm", "d": {"theme": "blue"}}),
        )
        .await;
    assert_eq!(his["createMyAppProfile"]["version"], 1);
    let hers = app.ok(&alice, MINE, json!({"a": "crm"})).await;
    assert_eq!(hers["myAppProfiles"][0]["data"]["theme"], "light");

    let operator = root(&app);
    let body = call(&app, &operator, Some("acme"), MINE, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

storage_test!(a_user_cannot_read_or_write_another_users_profile_by_any_path);
async fn a_user_cannot_read_or_write_another_users_profile_by_any_path(app: TestApp) {
    register(&app, "crm", None).await;
    let alice = app.user_token("alice", &[("acme", "member")]);
    let alice_id = app.user_id(&alice).await;
    app.ok(&alice, CREATE_MINE, json!({"a": "crm", "d": {"secret": 1}}))
        .await;
    // Even an owner of Alice's tenant.
    let mallory = app.user_token("mallory", &[("acme", "owner")]);
    let mallory_id = app.user_id(&mallory).await;
    for (tenant, user) in [
        (None, &alice_id),
        (Some("acme"), &alice_id),
        (None, &mallory_id),
    ] {
        let body = call(&app, &mallory, tenant, READ, json!({"u": user, "a": "crm"})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        assert!(body["data"].is_null() || body["data"]["appProfile"].is_null());
    }
    let mine = app.ok(&mallory, MINE, json!({})).await;
    assert_eq!(mine["myAppProfiles"], json!([]));
    let patch = call(
        &app,
        &mallory,
        None,
        PATCH_MINE,
        json!({"a": "crm", "p": {"secret": 2}}),
    )
    .await;
    assert_eq!(error_code(&patch), "NOT_FOUND");
    let overwrite = json!({"p": [item(&alice_id, "crm", json!({"secret": 2}))], "on": "REPLACE"});
    let body = call(&app, &mallory, Some("acme"), BULK, overwrite).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let hers = app.ok(&alice, MINE, json!({"a": "crm"})).await;
    assert_eq!(hers["myAppProfiles"][0]["data"], json!({"secret": 1}));
    assert_eq!(hers["myAppProfiles"][0]["version"], 1);
}

storage_test!(an_operator_reaches_only_members_of_its_active_tenant);
async fn an_operator_reaches_only_members_of_its_active_tenant(app: TestApp) {
    register(&app, "crm", None).await;
    let alice = app.user_token("alice", &[("acme", "member")]);
    let alice_id = app.user_id(&alice).await;
    let carl_id = app
        .user_id(&app.user_token("carl", &[("beta", "member")]))
        .await;
    let acme_ops = app.operator_token("acme-ops", &["acme"]);
    let beta_ops = app.operator_token("beta-ops", &["beta"]);
    let read_alice = json!({"u": alice_id, "a": "crm"});

    let nothing = ok_in(&app, &acme_ops, "acme", READ, read_alice.clone()).await;
    assert_eq!(nothing["appProfile"], Value::Null);
    app.ok(
        &alice,
        CREATE_MINE,
        json!({"a": "crm", "d": {"plan": "pro"}}),
    )
    .await;
    let found = ok_in(&app, &acme_ops, "acme", READ, read_alice.clone()).await;
    assert_eq!(found["appProfile"]["data"], json!({"plan": "pro"}));

    // Another tenant's operator: in its own tenant Alice is unknown; acme it may not name.
    let body = call(&app, &beta_ops, Some("beta"), READ, read_alice.clone()).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = call(&app, &beta_ops, Some("acme"), READ, read_alice.clone()).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = call(&app, &acme_ops, None, READ, read_alice.clone()).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = call(
        &app,
        &acme_ops,
        Some("acme"),
        READ,
        json!({"u": carl_id, "a": "crm"}),
    )
    .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let stranger = json!({"u": uuid::Uuid::new_v4().to_string(), "a": "crm"});
    let body = call(&app, &acme_ops, Some("acme"), READ, stranger).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = call(
        &app,
        &acme_ops,
        Some("acme"),
        READ,
        json!({"u": "x", "a": "crm"}),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    // Writes: Beta's operator cannot overwrite Alice's profile, alone or among its own members.
    let overwrite = json!({"p": [
        item(&carl_id, "crm", json!({"plan": "free"})),
        item(&alice_id, "crm", json!({"plan": "free"})),
    ], "on": "REPLACE"});
    let body = call(&app, &beta_ops, Some("beta"), BULK, overwrite).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert!(error_message(&body).contains(&alice_id), "{body}");
    let still = ok_in(&app, &acme_ops, "acme", READ, read_alice).await;
    assert_eq!(still["appProfile"]["data"], json!({"plan": "pro"}));
    let carl = ok_in(
        &app,
        &beta_ops,
        "beta",
        READ,
        json!({"u": carl_id, "a": "crm"}),
    )
    .await;
    assert_eq!(
        carl["appProfile"],
        Value::Null,
        "nothing of a failed bulk is written"
    );
}

storage_test!(an_operator_bulk_creates_profiles_across_users_and_apps_in_one_call);
async fn an_operator_bulk_creates_profiles_across_users_and_apps_in_one_call(app: TestApp) {
    // 100 users x 60 apps = 6 000 profiles: more than one INSERT batch (5 000 rows).
    let apps: Vec<String> = (0..60).map(|i| format!("app-{i:02}")).collect();
    for id in &apps {
        register(&app, id, None).await;
    }
    let schema = json!({"type": "object", "required": ["n"]});
    let input = json!({ "jsonSchema": schema });
    app.ok(
        &root(&app),
        UPDATE_APP,
        json!({"id": "app-00", "input": input}),
    )
    .await;
    let subjects: Vec<String> = (0..100).map(|i| format!("user-{i:03}")).collect();
    let users = sign_in(&app, &subjects, "acme").await;
    let profiles: Vec<Value> = users
        .iter()
        .enumerate()
        .flat_map(|(u, user)| {
            apps.iter().map(move |a| {
                item(
                    user,
                    a,
                    json!({"n": u, "app": a, "tags": ["x", {"deep": true}]}),
                )
            })
        })
        .collect();
    assert_eq!(profiles.len(), 6_000);

    // One pair in the second batch exists already: FAIL refuses everything, even batch one.
    let last = app.user_token(&subjects[99], &[("acme", "member")]);
    app.ok(&last, CREATE_MINE, json!({"a": "app-59", "d": {"n": -1}}))
        .await;
    let ops = app.operator_token("acme-ops", &["acme"]);
    let body = call(&app, &ops, Some("acme"), BULK, json!({ "p": profiles })).await;
    assert_eq!(error_code(&body), "CONFLICT", "{}", error_message(&body));
    assert!(error_message(&body).contains(&users[99]), "{body}");
    assert!(error_message(&body).contains("app-59"), "{body}");
    let first = json!({"u": users[0], "a": "app-00"});
    let nothing = ok_in(&app, &ops, "acme", READ, first.clone()).await;
    assert_eq!(nothing["appProfile"], Value::Null);

    // Documents are checked while earlier batches are written: a bad one in the second batch
    // rolls back the first, and is reported before the existing pair.
    let mut spoiled = profiles.clone();
    spoiled[5_500]["data"] = json!(["not", "an", "object"]);
    for on in ["FAIL", "REPLACE"] {
        let variables = json!({ "p": spoiled, "on": on });
        let body = call(&app, &ops, Some("acme"), BULK, variables).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{on}: {body}");
        assert_eq!(problem_fields(&body), ["/profiles/5500/data"]);
        let nothing = ok_in(&app, &ops, "acme", READ, first.clone()).await;
        assert_eq!(nothing["appProfile"], Value::Null, "{on} wrote");
    }

    let replace = json!({ "p": profiles, "on": "REPLACE" });
    let done = ok_in(&app, &ops, "acme", BULK, replace).await;
    assert_eq!(
        done["createAppProfiles"],
        json!({"created": 5_999, "replaced": 1})
    );

    let read = ok_in(&app, &ops, "acme", READ, first).await;
    assert_eq!(read["appProfile"]["data"]["app"], "app-00");
    assert_eq!(read["appProfile"]["version"], 1);
    let user = app.user_token(&subjects[42], &[("acme", "member")]);
    let mine = app.ok(&user, MINE, json!({})).await["myAppProfiles"].clone();
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 60);
    assert!(
        mine.iter()
            .all(|p| p["userId"] == users[42].as_str() && p["data"]["n"] == 42)
    );
    assert_eq!(mine[7]["data"]["tags"], json!(["x", {"deep": true}]));
    let replaced = app.ok(&last, MINE, json!({"a": "app-59"})).await;
    assert_eq!(replaced["myAppProfiles"][0]["data"]["n"], 99);
    assert_eq!(replaced["myAppProfiles"][0]["version"], 2);
}

storage_test!(an_operator_bulk_creates_100_000_profiles_in_one_call);
async fn an_operator_bulk_creates_100_000_profiles_in_one_call(app: TestApp) {
    // 1 000 users x 100 apps, each document different; the benchmark times the same request.
    let apps: Vec<String> = (0..100).map(|i| format!("app-{i:03}")).collect();
    futures::stream::iter(&apps)
        .for_each_concurrent(8, |id| register(&app, id, None))
        .await;
    let subjects: Vec<String> = (0..1_000).map(|i| format!("user-{i:04}")).collect();
    let users = sign_in(&app, &subjects, "acme").await;
    let profiles: Vec<Value> = users
        .iter()
        .enumerate()
        .flat_map(|(u, user)| {
            apps.iter().enumerate().map(move |(a, id)| {
                item(
                    user,
                    id,
                    json!({"visits": u * 100 + a, "flags": {"beta": a % 2 == 0}}),
                )
            })
        })
        .collect();
    assert_eq!(profiles.len(), 100_000);

    let ops = app.operator_token("acme-ops", &["acme"]);
    let done = ok_in(&app, &ops, "acme", BULK, json!({ "p": profiles })).await;
    assert_eq!(
        done["createAppProfiles"],
        json!({"created": 100_000, "replaced": 0})
    );

    let last = json!({"u": users[999], "a": "app-099"});
    let read = ok_in(&app, &ops, "acme", READ, last).await;
    assert_eq!(read["appProfile"]["data"]["visits"], 99_999);
    let user = app.user_token(&subjects[500], &[("acme", "member")]);
    let mine = app.ok(&user, MINE, json!({})).await["myAppProfiles"].clone();
    let visits: Vec<u64> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"]["visits"].as_u64().unwrap())
        .collect();
    assert_eq!(visits, (50_000..50_100).collect::<Vec<u64>>());
}

storage_test!(a_bulk_with_any_bad_item_writes_nothing_and_names_every_bad_item);
async fn a_bulk_with_any_bad_item_writes_nothing_and_names_every_bad_item(app: TestApp) {
    let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}});
    register(&app, "crm", Some(schema)).await;
    register(&app, "web", None).await;
    let users = sign_in(&app, &["u1".to_owned(), "u2".to_owned()], "acme").await;
    let outsider = sign_in(&app, &["o1".to_owned()], "beta").await.remove(0);
    let ops = app.operator_token("acme-ops", &["acme"]);
    let (u1, u2) = (&users[0], &users[1]);
    let good = [
        item(u1, "crm", json!({"age": 30})),
        item(u2, "web", json!({"age": "any"})),
        item(u1, "web", json!({})),
    ];

    let cases = [
        (
            item(u2, "crm", json!({"age": "x"})),
            "BAD_USER_INPUT",
            "/profiles/3/data/age",
        ),
        (
            item(u2, "crm", json!([1])),
            "BAD_USER_INPUT",
            "/profiles/3/data",
        ),
        (
            item(u2, "crm", json!("{\"age\": 1}")),
            "BAD_USER_INPUT",
            "/profiles/3/data",
        ),
        (
            item("not-a-uuid", "crm", json!({})),
            "BAD_USER_INPUT",
            "/profiles/3/userId",
        ),
        (
            item(u1, "crm", json!({"age": 31})),
            "BAD_USER_INPUT",
            "/profiles/3",
        ),
        (item(u2, "nope", json!({})), "NOT_FOUND", ""),
        (item(&outsider, "crm", json!({})), "NOT_FOUND", ""),
    ];
    for (bad, code, field) in cases {
        let mut profiles = good.to_vec();
        profiles.push(bad);
        let body = call(&app, &ops, Some("acme"), BULK, json!({ "p": profiles })).await;
        assert_eq!(error_code(&body), code, "{body}");
        if !field.is_empty() {
            assert_eq!(problem_fields(&body), [field], "{body}");
            assert!(error_message(&body).starts_with(field), "{body}");
        }
        let read = ok_in(&app, &ops, "acme", READ, json!({"u": u1, "a": "crm"})).await;
        assert_eq!(
            read["appProfile"],
            Value::Null,
            "a failed bulk wrote: {body}"
        );
    }

    // Every bad item is named, not only the first.
    let profiles = json!([
        item(u1, "crm", json!({"age": "x"})),
        item(u2, "crm", json!(7)),
        item(u1, "web", json!({})),
    ]);
    let body = call(&app, &ops, Some("acme"), BULK, json!({ "p": profiles })).await;
    assert_eq!(
        problem_fields(&body),
        ["/profiles/0/data/age", "/profiles/1/data"]
    );

    let done = ok_in(&app, &ops, "acme", BULK, json!({ "p": good })).await;
    assert_eq!(
        done["createAppProfiles"],
        json!({"created": 3, "replaced": 0})
    );
    let empty = ok_in(&app, &ops, "acme", BULK, json!({ "p": [] })).await;
    assert_eq!(
        empty["createAppProfiles"],
        json!({"created": 0, "replaced": 0})
    );
}

/// `{"a": {"a": … {}}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    (1..depth).fold(json!({}), |inner, _| json!({ "a": inner }))
}

storage_test!(bad_documents_are_refused_with_clear_errors);
async fn bad_documents_are_refused_with_clear_errors(app: TestApp) {
    let schema = json!({
        "type": "object",
        "required": ["prefs"],
        "properties": {"prefs": {"type": "object",
            "properties": {"fontSize": {"type": "integer", "minimum": 8}}}}
    });
    register(&app, "crm", Some(schema)).await;
    register(&app, "web", None).await;
    let user = app.user_token("ursula", &[("acme", "member")]);
    let create = |app_id: &str, data: Value| json!({"a": app_id, "d": data});

    for data in [json!([1, 2]), json!("{\"a\": 1}"), json!(42), json!(true)] {
        let body = call(&app, &user, None, CREATE_MINE, create("web", data)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(problem_fields(&body), ["/data"]);
        assert!(
            error_message(&body).contains("must be a JSON object"),
            "{body}"
        );
    }
    let body = call(&app, &user, None, CREATE_MINE, create("web", Value::Null)).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    let body = call(&app, &user, None, CREATE_MINE, create("web", nested(33))).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(error_message(&body).contains("deeper than 32"), "{body}");
    app.ok(&user, CREATE_MINE, create("web", nested(32))).await;

    let large = json!({ "blob": "x".repeat(70_000) });
    let body = call(&app, &user, None, CREATE_MINE, create("crm", large)).await;
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    assert!(error_message(&body).contains("65536"), "{body}");

    let body = call(
        &app,
        &user,
        None,
        CREATE_MINE,
        create("crm", json!({"prefs": {"fontSize": 4}})),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(problem_fields(&body), ["/data/prefs/fontSize"]);
    assert!(error_message(&body).contains("/prefs/fontSize"), "{body}");
    let body = call(&app, &user, None, CREATE_MINE, create("crm", json!({}))).await;
    assert_eq!(problem_fields(&body), ["/data"]);
    assert!(error_message(&body).contains("prefs"), "{body}");

    app.ok(
        &user,
        CREATE_MINE,
        create("crm", json!({"prefs": {"fontSize": 12}})),
    )
    .await;
    let patch = |p: Value| json!({"a": "crm", "p": p});
    let body = call(
        &app,
        &user,
        None,
        PATCH_MINE,
        patch(json!({"prefs": {"fontSize": "big"}})),
    )
    .await;
    assert_eq!(problem_fields(&body), ["/patch/prefs/fontSize"]);
    let body = call(&app, &user, None, PATCH_MINE, patch(json!({"prefs": null}))).await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "removing a required member"
    );
    let body = call(&app, &user, None, PATCH_MINE, patch(json!([{"op": "add"}]))).await;
    assert_eq!(problem_fields(&body), ["/patch"]);
    let body = call(
        &app,
        &user,
        None,
        PATCH_MINE,
        patch(json!({"x": nested(32)})),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let half = "y".repeat(40_000);
    app.ok(&user, PATCH_MINE, patch(json!({ "a": half }))).await;
    let body = call(&app, &user, None, PATCH_MINE, patch(json!({ "b": half }))).await;
    assert_eq!(
        error_code(&body),
        "PAYLOAD_TOO_LARGE",
        "the patched document grows too large"
    );
    let mine = app.ok(&user, MINE, json!({"a": "crm"})).await;
    assert_eq!(mine["myAppProfiles"][0]["version"], 2);
    assert_eq!(mine["myAppProfiles"][0]["data"]["prefs"]["fontSize"], 12);
}

#[tokio::test]
async fn document_limits_are_configurable() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.app_profile_bytes = 100;
        config.limits.app_profile_depth = 2;
    })
    .await;
    register(&app, "web", None).await;
    let user = app.user_token("ursula", &[("acme", "member")]);
    let create = |data: Value| json!({"a": "web", "d": data});
    let body = call(
        &app,
        &user,
        None,
        CREATE_MINE,
        create(json!({"a": "x".repeat(100)})),
    )
    .await;
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    let body = call(&app, &user, None, CREATE_MINE, create(nested(3))).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app.ok(&user, CREATE_MINE, create(nested(2))).await;
}

storage_test!(request_bodies_are_limited_by_caller_with_a_code);
async fn request_bodies_are_limited_by_caller_with_a_code(app: TestApp) {
    let big = json!({"query": "{ apps { id } }", "variables": {"pad": "x".repeat(3 << 20)}});
    let user = app.user_token("ursula", &[("acme", "member")]);
    let operator = root(&app);
    for (token, status) in [(Some(&user), 413), (None, 413), (Some(&operator), 200)] {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .json(&big);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        let body: Value = response.json().await.unwrap();
        if status == 413 {
            assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
        } else {
            assert!(body.get("errors").is_none(), "{body}");
        }
    }
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&user)
        .header("content-type", "application/json")
        .body("{\"query\": \"{ apps { id } }\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = call(&app, &user, None, "{ apps { nope } }", json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
}

storage_test!(the_database_keeps_app_profiles_references_whatever_writes_them);
async fn the_database_keeps_app_profiles_references_whatever_writes_them(app: TestApp) {
    use entity::{app_profile, user};
    use sea_orm::sea_query::Expr;
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
        SqlErr,
    };

    register(&app, "crm", None).await;
    let users = sign_in(&app, &["u1".to_owned(), "u2".to_owned()], "acme").await;
    let ids: Vec<uuid::Uuid> = users.iter().map(|u| u.parse().unwrap()).collect();
    let ops = app.operator_token("acme-ops", &["acme"]);
    let profiles = json!([
        item(&users[0], "crm", json!({})),
        item(&users[1], "crm", json!({}))
    ]);
    ok_in(&app, &ops, "acme", BULK, json!({ "p": profiles })).await;

    let row = |user_id: uuid::Uuid, app_id: &str| app_profile::ActiveModel {
        user_id: Set(user_id),
        app_id: Set(app_id.to_owned()),
        data: Set(json!({})),
        version: Set(1),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
    };
    let refused_as_foreign_key = |result: Result<app_profile::Model, sea_orm::DbErr>| {
        let error = result.expect_err("a profile with a dangling reference was stored");
        assert!(
            matches!(
                error.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{error}"
        );
    };
    refused_as_foreign_key(row(uuid::Uuid::new_v4(), "crm").insert(&app.db).await);
    refused_as_foreign_key(row(ids[0], "nope").insert(&app.db).await);
    let moved = app_profile::Entity::update_many()
        .col_expr(app_profile::Column::AppId, Expr::value("nope"))
        .filter(app_profile::Column::UserId.eq(ids[0]))
        .exec(&app.db)
        .await;
    assert!(moved.is_err(), "a profile was moved to no app");
    let kept = app_profile::Entity::find_by_id((ids[0], "crm".to_owned()))
        .one(&app.db)
        .await
        .unwrap();
    assert!(kept.is_some());

    // Deleting a user deletes their profiles, and only theirs.
    user::Entity::delete_by_id(ids[0])
        .exec(&app.db)
        .await
        .unwrap();
    let left = app_profile::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].user_id, ids[1]);
    assert_eq!(app_profile::Entity::find().count(&app.db).await.unwrap(), 1);
}

storage_test!(users_delete_only_their_own_profiles);
async fn users_delete_only_their_own_profiles(app: TestApp) {
    register(&app, "crm", None).await;
    let alice = app.user_token("alice", &[("acme", "member")]);
    let bob = app.user_token("bob", &[("acme", "owner")]);
    app.ok(&alice, CREATE_MINE, json!({"a": "crm", "d": {"n": 1}}))
        .await;
    app.ok(&alice, PATCH_MINE, json!({"a": "crm", "p": {"n": 2}}))
        .await;

    // Another user, even the tenant's owner, reaches only their own (absent) profile.
    let theirs = call(&app, &bob, None, DELETE_MINE, json!({"a": "crm"})).await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");
    let ops = app.operator_token("acme-ops", &["acme"]);
    let operator = call(&app, &ops, Some("acme"), DELETE_MINE, json!({"a": "crm"})).await;
    assert_eq!(error_code(&operator), "FORBIDDEN", "{operator}");

    let stale = call(&app, &alice, None, DELETE_MINE, json!({"a": "crm", "v": 1})).await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    assert_eq!(
        app.ok(&alice, MINE, json!({})).await["myAppProfiles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let deleted = app
        .ok(&alice, DELETE_MINE, json!({"a": "crm", "v": 2}))
        .await;
    assert_eq!(deleted["deleteMyAppProfile"]["data"], json!({"n": 2}));
    assert_eq!(deleted["deleteMyAppProfile"]["version"], 2);
    assert_eq!(
        app.ok(&alice, MINE, json!({})).await["myAppProfiles"],
        json!([])
    );
    let again = call(&app, &alice, None, DELETE_MINE, json!({"a": "crm"})).await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again}");

    // Deleted, it can be created afresh, at version 1.
    let created = app
        .ok(&alice, CREATE_MINE, json!({"a": "crm", "d": {}}))
        .await;
    assert_eq!(created["createMyAppProfile"]["version"], 1);
}
