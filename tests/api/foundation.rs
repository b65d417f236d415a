//! The service itself: health, the SDL, `me`.

use serde_json::{Value, json};

use crate::common::{Backend, Call, TestApp, error_code, error_message};
use crate::storage_test;

const ME: &str = "{ me { id username email emailVerified firstName lastName primaryTenantId
    primaryTenantName tenants { id slug name role isPrimary } assignedRoles { role tenantId tenantName } } }";

#[test]
fn checked_in_schema_matches_the_code() {
    let checked_in = include_str!("../../schema.graphql");
    assert!(
        checked_in == userprofile::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql`"
    );
}

#[test]
fn the_binary_prints_the_checked_in_schema() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_userprofile"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8(output.stdout).unwrap() == include_str!("../../schema.graphql"),
        "`userprofile schema` differs from schema.graphql"
    );
}

#[test]
fn assigned_roles_is_deprecated_in_the_sdl() {
    let sdl = userprofile::graphql::sdl();
    assert!(
        sdl.contains("assignedRoles: [AssignedRole!]! @deprecated"),
        "{sdl}"
    );
}

storage_test!(health_and_readiness_answer);
async fn health_and_readiness_answer(app: TestApp) {
    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = app
            .client
            .get(format!("{}{path}", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), body);
    }
}

storage_test!(me_returns_identity_primary_tenant_and_every_tenant_with_its_role);
async fn me_returns_identity_primary_tenant_and_every_tenant_with_its_role(app: TestApp) {
    let mut claims = serde_json::Map::new();
    claims.insert("email".into(), json!("alice@example.com"));
    claims.insert("email_verified".into(), json!(true));
    claims.insert("given_name".into(), json!("Alice"));
    claims.insert("family_name".into(), json!("Liddell"));
    claims.insert("preferred_username".into(), json!("alice"));
    let token = app.token(
        "alice",
        &[("acme", "admin"), ("beta", "member")],
        false,
        3600,
        claims,
    );
    let me = app.ok(&token, ME, json!({})).await["me"].clone();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["emailVerified"], true);
    assert_eq!(me["firstName"], "Alice");
    assert_eq!(me["lastName"], "Liddell");
    assert_eq!(me["primaryTenantName"], "acme");
    let tenants = me["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0]["slug"], "acme");
    assert_eq!(tenants[0]["role"], "ADMIN");
    assert_eq!(tenants[0]["isPrimary"], true);
    assert_eq!(tenants[0]["id"], me["primaryTenantId"]);
    assert_eq!(tenants[1]["slug"], "beta");
    assert_eq!(tenants[1]["role"], "MEMBER");
    let roles: Vec<(&str, &str)> = me["assignedRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap(),
                r["tenantName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(roles, [("ADMIN", "acme"), ("MEMBER", "beta")]);
}

storage_test!(the_same_user_signing_in_again_keeps_one_identity);
async fn the_same_user_signing_in_again_keeps_one_identity(app: TestApp) {
    let first = app
        .user_id(&app.user_token("bob", &[("acme", "member")]))
        .await;
    let second = app
        .user_id(&app.user_token("bob", &[("acme", "member")]))
        .await;
    assert_eq!(first, second);
}

storage_test!(two_first_requests_at_once_create_one_user);
async fn two_first_requests_at_once_create_one_user(app: TestApp) {
    // Different tokens for the same new user, so neither request hits the token cache.
    let tokens: Vec<String> = (0..8)
        .map(|i| {
            app.token(
                "carol",
                &[("acme", "member")],
                false,
                3600 + i,
                Default::default(),
            )
        })
        .collect();
    let ids = futures::future::join_all(tokens.iter().map(|t| app.user_id(t))).await;
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let admin = app.user_token("root", &[("acme", "admin")]);
    let members = app.ok(&admin, "{ members { userId } }", json!({})).await;
    let carols = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["userId"] == Value::String(ids[0].clone()))
        .count();
    assert_eq!(carols, 1);
}

storage_test!(a_user_without_tenants_has_no_primary_tenant);
async fn a_user_without_tenants_has_no_primary_tenant(app: TestApp) {
    let token = app.user_token("loner", &[]);
    let me = app.ok(&token, ME, json!({})).await["me"].clone();
    assert_eq!(me["primaryTenantId"], Value::Null);
    assert_eq!(me["tenants"], json!([]));
    let body = app
        .graphql(Call {
            token: Some(&token),
            query: "{ tenant { id } }",
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn graphiql_is_served_only_in_development_mode() {
    let dev = TestApp::spawn(Backend::Sqlite).await;
    let page = dev
        .client
        .get(format!("{}/graphql", dev.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));
    let prod = TestApp::spawn_with(Backend::Sqlite, |c| c.dev_mode = false).await;
    let page = prod
        .client
        .get(format!("{}/graphql", prod.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}

storage_test!(malformed_requests_get_error_codes_too);
async fn malformed_requests_get_error_codes_too(app: TestApp) {
    let token = app.user_token("alice", &[("acme", "member")]);
    for (query, code) in [
        ("{ me { id ", "GRAPHQL_VALIDATION_FAILED"),
        ("{ me { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ fieldDefinitions(includeArchived: \"yes\") { key } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ profile(userId: 5) { version } }", "BAD_USER_INPUT"),
    ] {
        let body = app
            .graphql(Call {
                token: Some(&token),
                query,
                ..Default::default()
            })
            .await;
        assert_eq!(error_code(&body), code, "{query}: {body}");
    }
    let nested = format!("{}name{}", "ofType { ".repeat(20), " }".repeat(20));
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}");
    let body = app
        .graphql(Call {
            token: Some(&token),
            query: &deep,
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(
        error_message(&body).contains("too deep") || error_message(&body).contains("depth"),
        "{body}"
    );
}

storage_test!(a_document_that_passed_validation_answers_alike_and_variables_are_checked_each_time);
/// A text without variables that passed full validation once runs on the schema that skips
/// the rules: it answers exactly as before. A text with variables is validated on every
/// request, so a later request with a value of the wrong type is still refused.
async fn a_document_that_passed_validation_answers_alike_and_variables_are_checked_each_time(
    app: TestApp,
) {
    let token = app.user_token("alice", &[("acme", "member")]);
    let call = |query, variables| Call {
        token: Some(&token),
        query,
        variables,
        ..Default::default()
    };
    let plain = "{ me { id username tenants { slug role } profile { values { key json } } } }";
    let first = app.graphql(call(plain, json!({}))).await;
    assert!(first["errors"].is_null(), "{first}");
    for _ in 0..3 {
        assert_eq!(app.graphql(call(plain, json!({}))).await, first);
    }
    let with_variable = "query($all: Boolean) { fieldDefinitions(includeArchived: $all) { key } }";
    for _ in 0..2 {
        let fine = app.graphql(call(with_variable, json!({"all": true}))).await;
        assert!(fine["errors"].is_null(), "{fine}");
        let wrong = app
            .graphql(call(with_variable, json!({"all": "yes"})))
            .await;
        assert!(wrong["data"].is_null(), "{wrong}");
        assert!(!error_code(&wrong).is_empty(), "{wrong}");
    }
}

storage_test!(unreadable_bodies_and_batches_are_bad_user_input);
async fn unreadable_bodies_and_batches_are_bad_user_input(app: TestApp) {
    let token = app.user_token("alice", &[("acme", "member")]);
    for (body, expected) in [
        ("{\"query\": \"{ me { id } }\"", "cannot be read"),
        ("not json at all", "cannot be read"),
        ("{\"query\": 7}", "cannot be read"),
        (
            "  [{\"query\": \"{ me { id } }\"}]",
            "batched requests are not supported",
        ),
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{body}: {answer}");
        assert!(
            error_message(&answer).contains(expected),
            "{body}: {answer}"
        );
    }
}
