//! Rate limits: each caller's request budget, the anonymous budget per client address (which
//! forged tokens spend too), and the budgets of costly operations.

use serde_json::{Value, json};

use crate::common::{Backend, Call, TestApp, error_code};
use crate::files::{png, upload};

const ME: &str = "{ me { id } }";
const CREATE_APP: &str = "mutation($input: CreateAppInput!) { createApp(input: $input) { id } }";
const BULK: &str =
    "mutation($p: [AppProfileInput!]!) { createAppProfiles(profiles: $p) { created } }";

/// POSTs a query and returns the HTTP status, the `Retry-After` header and the body.
async fn post(app: &TestApp, token: Option<&str>, query: &str) -> (u16, Option<u64>, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.json().await.unwrap())
}

fn assert_limited((status, retry_after, body): &(u16, Option<u64>, Value)) {
    assert_eq!(*status, 429, "{body}");
    assert_eq!(error_code(body), "RATE_LIMITED", "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    assert_eq!(
        body["errors"][0]["extensions"]["retryAfter"].as_u64(),
        *retry_after
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_principal_has_its_own_request_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.rate_limits.requests_per_minute = 3;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let bob = app.user_token("bob", &[("acme", "member")]);
    for _ in 0..3 {
        assert_eq!(post(&app, Some(&ann), ME).await.0, 200);
    }
    assert_limited(&post(&app, Some(&ann), ME).await);
    assert_eq!(
        post(&app, Some(&bob), ME).await.0,
        200,
        "bob's budget is his own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_forged_requests_share_the_address_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.rate_limits.anonymous_per_minute = 3;
    })
    .await;
    assert_eq!(post(&app, None, "{ __typename }").await.0, 200);
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert_eq!(post(&app, Some(forged), ME).await.0, 401);
    assert_eq!(post(&app, Some("other.made.up"), ME).await.0, 401);
    assert_limited(&post(&app, Some(forged), ME).await);
    assert_limited(&post(&app, None, "{ __typename }").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_spend_their_own_budget_on_every_path() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.rate_limits.bulk_per_minute = 1;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let user = app.user_id(&ann).await;
    let root = app.operator_token("root", &["*"]);
    app.ok(
        &root,
        CREATE_APP,
        json!({"input": {"id": "crm", "name": "CRM"}}),
    )
    .await;
    let bulk = |app_id: &str| {
        let items = json!([{"userId": user, "appId": app_id, "data": {}}]);
        Call {
            token: Some(&root),
            tenant: Some("acme"),
            query: BULK,
            variables: json!({ "p": items }),
        }
    };
    let first = app.graphql(bulk("crm")).await;
    assert_eq!(first["data"]["createAppProfiles"]["created"], 1, "{first}");
    let second = app.graphql(bulk("crm")).await;
    assert_eq!(error_code(&second), "RATE_LIMITED", "{second}");
    // Ordinary requests of the same operator still pass.
    app.ok(&root, "{ apps { id } }", json!({})).await;
    // The compatibility endpoint spends the same budget.
    let response = app
        .client
        .post(format!("{}/operator/profile/create-bulk", app.base_url))
        .bearer_auth(&root)
        .header("X-Tenant-Id", "acme")
        .json(&json!({"profiles": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_spend_their_own_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.rate_limits.uploads_per_minute = 1;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;
    let first = upload(&app, &ann, "avatar", "a.png", "image/png", png(8, 8)).await;
    assert_ne!(error_code(&first), "RATE_LIMITED", "{first}");
    let second = upload(&app, &ann, "avatar", "a.png", "image/png", png(8, 8)).await;
    assert_eq!(error_code(&second), "RATE_LIMITED", "{second}");
    assert_eq!(
        post(&app, Some(&ann), ME).await.0,
        200,
        "other requests pass"
    );
}
