//! The documented APIs of the replaced platform, driven exactly as their documents show them
//! (shared/seeds/001-app-profiles-api.txt, shared/seeds/004-multitenant-me-type.txt).

use reqwest::Method;
use serde_json::{Map, Value, json};
use userprofile::http::compat::{ENDPOINTS, OPENAPI, OPENAPI_PATH};

use crate::common::TestApp;
use crate::fields::{UPDATE, field_id};
use crate::storage_test;

/// The `me` query of the document, verbatim (comment included).
const DOCUMENTED_ME: &str = "query {
  me {
    UserID
    Username
    Email
    FirstName
    LastName
    TenantID
    TenantName
    # Use Tenants for multi-tenant access
    Tenants {
      ID
      Name
      Role
    }
  }
}";

/// The bulk example of the document, verbatim.
const DOCUMENTED_BULK: &str = r#"{
"profiles": [
{
"app_id": 0,
"profile_data": {
"additionalProp1": {}
},
"user_id": "string"
},
{
"app_id": 0,
"profile_data": {
"additionalProp1": {}
},
"user_id": "string"
}
]
}"#;

const CREATE_APP: &str = "mutation($input: CreateAppInput!) { createApp(input: $input) { id } }";

/// Sends a REST request and returns the status and the JSON body (`null` when empty).
async fn rest(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    tenant: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(tenant) = tenant {
        request = request.header("X-Tenant-Id", tenant);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn compat_me(app: &TestApp, token: Option<&str>, query: &str) -> (u16, Value) {
    let body = json!({ "query": query }).to_string();
    rest(
        app,
        Method::POST,
        "/compat/graphql",
        token,
        None,
        Some(body),
    )
    .await
}

/// Registers the apps `0` (a numeric id, as the document's clients send) and `crm`, the latter
/// with a JSON Schema.
async fn register_apps(app: &TestApp) {
    let root = app.operator_token("root-ops", &["*"]);
    app.ok(
        &root,
        CREATE_APP,
        json!({"input": {"id": "0", "name": "Zero", "domain": "zero.example.com"}}),
    )
    .await;
    let schema = json!({"type": "object", "properties": {"theme": {"type": "string"}}});
    app.ok(
        &root,
        CREATE_APP,
        json!({"input": {"id": "crm", "name": "CRM", "jsonSchema": schema}}),
    )
    .await;
}

fn claims(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

storage_test!(the_documented_me_query_answers_field_for_field);
async fn the_documented_me_query_answers_field_for_field(app: TestApp) {
    let extra = claims(
        json!({"preferred_username": "mia", "email": "mia@example.com",
        "given_name": "Mia", "family_name": "Wallace"}),
    );
    let token = app.token(
        "mia",
        &[("acme", "admin"), ("beta", "member")],
        false,
        3600,
        extra,
    );
    let user_id = app.user_id(&token).await;
    let (status, body) = compat_me(&app, Some(&token), DOCUMENTED_ME).await;
    assert_eq!(status, 200, "{body}");
    let me = &body["data"]["me"];
    assert_eq!(me["UserID"], user_id.as_str());
    assert_eq!(me["Username"], "mia");
    assert_eq!(me["Email"], "mia@example.com");
    assert_eq!(me["FirstName"], "Mia");
    assert_eq!(me["LastName"], "Wallace");
    assert_eq!(me["TenantName"], "acme");
    let tenants = me["Tenants"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = tenants
        .iter()
        .map(|t| (t["Name"].as_str().unwrap(), t["Role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("acme", "admin"), ("beta", "member")]);
    assert_eq!(me["TenantID"], tenants[0]["ID"]);

    // The deprecated tuples still answer.
    let (_, body) = compat_me(
        &app,
        Some(&token),
        "{ me { AssignedRoles { Role TenantID } } }",
    )
    .await;
    assert_eq!(
        body["data"]["me"]["AssignedRoles"][1]["Role"], "member",
        "{body}"
    );
}

storage_test!(the_compat_me_applies_the_same_access_rule_and_falls_back_to_empty_text);
async fn the_compat_me_applies_the_same_access_rule_and_falls_back_to_empty_text(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let extra = claims(json!({"email": "mia@example.com", "given_name": "Mia"}));
    let member = app.token("mia", &[("acme", "member")], false, 3600, extra);
    app.user_id(&member).await;
    let hide =
        json!({"id": field_id(&app, &admin, "email").await, "input": {"ownerAccess": "HIDDEN"}});
    app.ok(&admin, UPDATE, hide).await;
    let (_, body) = compat_me(&app, Some(&member), DOCUMENTED_ME).await;
    let me = &body["data"]["me"];
    assert_eq!(me["Email"], "", "hidden from its owner: {body}");
    assert_eq!(me["LastName"], "", "never given: {body}");
    assert_eq!(me["FirstName"], "Mia");

    let (status, body) = compat_me(&app, None, DOCUMENTED_ME).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (200, Some("UNAUTHENTICATED"))
    );
    let (status, _) = compat_me(&app, Some("forged.token.here"), DOCUMENTED_ME).await;
    assert_eq!(status, 401);
}

storage_test!(the_documented_bulk_example_is_refused_naming_each_bad_user_id);
async fn the_documented_bulk_example_is_refused_naming_each_bad_user_id(app: TestApp) {
    register_apps(&app).await;
    app.user_id(&app.user_token("ann", &[("acme", "member")]))
        .await;
    let operator = app.operator_token("crm-sync", &["acme"]);
    let (status, body) = rest(
        &app,
        Method::POST,
        "/operator/profile/create-bulk",
        Some(&operator),
        Some("acme"),
        Some(DOCUMENTED_BULK.to_owned()),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT");
    let fields: Vec<&str> = body["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["/profiles/0/user_id", "/profiles/1/user_id"],
        "{body}"
    );
}

storage_test!(the_operator_endpoints_create_all_or_nothing_and_read_back);
async fn the_operator_endpoints_create_all_or_nothing_and_read_back(app: TestApp) {
    register_apps(&app).await;
    let ann = app
        .user_id(&app.user_token("ann", &[("acme", "member")]))
        .await;
    let bob = app
        .user_id(&app.user_token("bob", &[("acme", "member")]))
        .await;
    let outsider = app
        .user_id(&app.user_token("zed", &[("other", "member")]))
        .await;
    let operator = app.operator_token("crm-sync", &["acme"]);
    let bulk = |entries: Value| Some(json!({"profiles": entries}).to_string());
    let post = |body| {
        rest(
            &app,
            Method::POST,
            "/operator/profile/create-bulk",
            Some(&operator),
            Some("acme"),
            body,
        )
    };

    let (status, body) = post(bulk(json!([
        {"app_id": 0, "profile_data": {"additionalProp1": {}}, "user_id": ann},
        {"app_id": "crm", "profile_data": {"theme": "dark"}, "user_id": ann},
        {"app_id": 0, "profile_data": {"level": 3}, "user_id": bob},
    ])))
    .await;
    assert_eq!((status, &body), (201, &json!({"created": 3})));

    let path = format!("/operator/users/profile/{ann}/0");
    let (status, profile) = rest(
        &app,
        Method::GET,
        &path,
        Some(&operator),
        Some("acme"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(
        profile["app_id"], 0,
        "a numeric app id is answered as a number"
    );
    assert_eq!(profile["profile_data"], json!({"additionalProp1": {}}));
    assert_eq!(profile["user_id"], ann.as_str());

    // One existing pair refuses the whole request: the new pair beside it is not written.
    let (status, body) = post(bulk(json!([
        {"app_id": "crm", "profile_data": {"theme": "light"}, "user_id": bob},
        {"app_id": 0, "profile_data": {}, "user_id": ann},
    ])))
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT")),
        "{body}"
    );
    let path = format!("/operator/users/profile/{bob}/crm");
    let (status, _) = rest(
        &app,
        Method::GET,
        &path,
        Some(&operator),
        Some("acme"),
        None,
    )
    .await;
    assert_eq!(status, 404, "nothing of the refused request was written");

    // A schema violation, a user of another tenant, an unknown app.
    for (entry, code, status_wanted) in [
        (
            json!({"app_id": "crm", "profile_data": {"theme": 5}, "user_id": bob}),
            "BAD_USER_INPUT",
            400,
        ),
        (
            json!({"app_id": 0, "profile_data": {}, "user_id": outsider}),
            "NOT_FOUND",
            404,
        ),
        (
            json!({"app_id": 99, "profile_data": {}, "user_id": bob}),
            "NOT_FOUND",
            404,
        ),
    ] {
        let (status, body) = post(bulk(json!([entry]))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (status_wanted, Some(code)),
            "{body}"
        );
    }
    let path = format!("/operator/users/profile/{outsider}/0");
    let (status, _) = rest(
        &app,
        Method::GET,
        &path,
        Some(&operator),
        Some("acme"),
        None,
    )
    .await;
    assert_eq!(status, 404, "another tenant's user is not found");
}

storage_test!(the_operator_endpoints_refuse_whoever_is_not_an_operator_of_the_tenant);
async fn the_operator_endpoints_refuse_whoever_is_not_an_operator_of_the_tenant(app: TestApp) {
    register_apps(&app).await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let ann = app
        .user_id(&app.user_token("ann", &[("acme", "member")]))
        .await;
    let foreign = app.operator_token("other-sync", &["other"]);
    let body =
        Some(json!({"profiles": [{"app_id": 0, "profile_data": {}, "user_id": ann}]}).to_string());
    let path = "/operator/profile/create-bulk";
    for (token, tenant, status) in [
        (None, Some("acme"), 401),
        (Some("forged.token.here"), Some("acme"), 401),
        (Some(admin.as_str()), Some("acme"), 403),
        (Some(foreign.as_str()), Some("acme"), 403),
    ] {
        let (got, body) = rest(&app, Method::POST, path, token, tenant, body.clone()).await;
        assert_eq!(got, status, "{token:?}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}

storage_test!(users_create_and_read_their_own_profiles);
async fn users_create_and_read_their_own_profiles(app: TestApp) {
    register_apps(&app).await;
    let token = app.user_token("ann", &[("acme", "member")]);
    let create = |body: Value| {
        rest(
            &app,
            Method::POST,
            "/user/profiles/create",
            Some(&token),
            None,
            Some(body.to_string()),
        )
    };
    let (status, created) =
        create(json!({"app_id": 0, "profile_data": {"additionalProp1": {}}})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["version"], 1);
    let (status, body) = create(json!({"app_id": 0, "profile_data": {}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT"))
    );
    let (status, body) = create(json!({"app_id": "crm", "profile_data": {"theme": 5}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BAD_USER_INPUT"))
    );
    let (status, body) = create(json!({"app_id": "crm", "profile_data": []})).await;
    assert_eq!(status, 400, "a profile is a JSON object: {body}");
    let (status, _) = create(json!({"profile_data": {}})).await;
    assert_eq!(status, 400, "the app id is required");
    let huge = json!({"app_id": "crm", "profile_data": {"theme": "x".repeat(3 * 1024 * 1024)}});
    let (status, body) = create(huge).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );

    let (status, mine) = rest(
        &app,
        Method::GET,
        "/user/profiles/0",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mine, json!([created]));
    let (status, mine) = rest(
        &app,
        Method::GET,
        "/user/profiles/crm",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!((status, mine), (200, json!([])));
    let (status, _) = rest(
        &app,
        Method::GET,
        "/user/profiles/nope",
        Some(&token),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = rest(&app, Method::GET, "/user/profiles/0", None, None, None).await;
    assert_eq!(status, 401);

    let (status, apps) = rest(&app, Method::GET, "/apps", Some(&token), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        apps[0],
        json!({"app_id": 0, "name": "Zero", "domain": "zero.example.com", "description": null})
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_as_checked_in_and_lists_every_endpoint() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let (status, served) = rest(&app, Method::GET, OPENAPI_PATH, None, None, None).await;
    assert_eq!(status, 200);
    let checked_in: Value =
        serde_json::from_str(include_str!("../../openapi/app-profiles.json")).unwrap();
    assert_eq!(served, checked_in);
    assert_eq!(serde_json::from_str::<Value>(OPENAPI).unwrap(), checked_in);
    let mut documented: Vec<(String, String)> = checked_in["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let mut served: Vec<(String, String)> = ENDPOINTS
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
}

#[test]
fn the_compat_sdl_is_checked_in() {
    assert_eq!(
        userprofile::graphql::compat::sdl(),
        include_str!("../../compat.graphql"),
        "compat.graphql is stale: run `cargo run -q -- schema --compat > compat.graphql`"
    );
}
