//! Serving GraphQL the way production clients and CDNs expect: automatic persisted queries
//! (also over GET, read-only) and compressed responses.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Backend, TestApp, error_code, error_message};

const ME: &str = "query { me { id tenants { slug role } } }";

fn apq(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn get(app: &TestApp, token: &str, params: &[(&str, String)]) -> Value {
    let response = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_query_is_sent_once_and_then_by_hash_alone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("ann", &[("acme", "member")]);
    let hash = sha256(ME);

    let unknown = post(&app, &token, json!({"extensions": apq(&hash)})).await;
    assert_eq!(error_message(&unknown), "PersistedQueryNotFound");
    assert_eq!(error_code(&unknown), "PERSISTED_QUERY_NOT_FOUND");

    let registered = post(&app, &token, json!({"query": ME, "extensions": apq(&hash)})).await;
    assert_eq!(
        registered["data"]["me"]["tenants"][0]["slug"], "acme",
        "{registered}"
    );
    let by_hash = post(&app, &token, json!({"extensions": apq(&hash)})).await;
    assert_eq!(by_hash["data"], registered["data"]);

    let extensions = apq(&hash).to_string();
    let over_get = get(&app, &token, &[("extensions", extensions)]).await;
    assert_eq!(over_get["data"], registered["data"], "{over_get}");

    let wrong = post(
        &app,
        &token,
        json!({"query": "{ __typename }", "extensions": apq(&hash)}),
    )
    .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_query_checks_every_requests_variables() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("ann", &[("acme", "member")]);
    let query = "query($l: String) { me { profile(locale: $l) { locale } } }";
    let hash = sha256(query);
    let first = json!({"query": query, "variables": {"l": "de"}, "extensions": apq(&hash)});
    assert!(post(&app, &token, first).await.get("errors").is_none());
    let nul = json!({"variables": {"l": "d\u{0}e"}, "extensions": apq(&hash)});
    let refused = post(&app, &token, nul).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_requests_only_read() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("ann", &[("acme", "member")]);
    let read = get(&app, &token, &[("query", ME.to_owned())]).await;
    assert_eq!(read["data"]["me"]["tenants"][0]["slug"], "acme", "{read}");

    let change = "mutation { updateMyProfile(input: {values: [{key: \"nickname\", value: \"x\"}]}) { version } }";
    let refused = get(&app, &token, &[("query", change.to_owned())]).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(error_message(&refused).contains("POST"), "{refused}");
    let card = app
        .ok(
            &token,
            "{ me { profile { value(key: \"nickname\") { text } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        card["me"]["profile"]["value"]["text"],
        Value::Null,
        "nothing was saved"
    );

    // The same mutation persisted over POST is still refused by hash over GET.
    let hash = sha256(change);
    let persisted = post(
        &app,
        &token,
        json!({"query": change, "extensions": apq(&hash)}),
    )
    .await;
    assert!(persisted.get("errors").is_none(), "{persisted}");
    let by_get = get(&app, &token, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(error_code(&by_get), "BAD_USER_INPUT", "{by_get}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_responses_are_compressed_and_small_ones_are_not() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("ann", &[("acme", "admin")]);
    let send = |query: &'static str, encoding: &'static str| {
        let request = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&token)
            .header("Accept-Encoding", encoding)
            .json(&json!({ "query": query }));
        async move { request.send().await.unwrap() }
    };
    let large = "{ fieldTemplates { key kind label { text } } }";
    for encoding in ["gzip", "br", "zstd"] {
        let response = send(large, encoding).await;
        assert_eq!(response.headers()["content-encoding"], encoding);
    }
    let small = send("{ __typename }", "gzip").await;
    assert!(small.headers().get("content-encoding").is_none());
}

/// The test database refuses connections and drops the ones it has, as during a restart:
/// requests answer 503 `UNAVAILABLE` with `Retry-After`, `/readyz` is not ready; once it takes
/// connections again the service answers without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_unavailable_and_the_service_recovers_by_itself() {
    crate::common::skippable(async {
        let app = TestApp::spawn(Backend::Postgres).await;
        let token = app.user_token("ann", &[("acme", "member")]);
        app.user_id(&token).await;
        let admin = crate::common::postgres_admin().await;
        let name = crate::common::database_name(&app).await;

        crate::common::set_connections(&admin, &name, false).await;
        let (status, retry_after, body) = me(&app, &token).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(error_code(&body), "UNAVAILABLE", "{body}");
        let ready = app
            .client
            .get(format!("{}/readyz", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 503);

        crate::common::set_connections(&admin, &name, true).await;
        let (status, _, body) = me(&app, &token).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["me"]["id"].is_string(), "{body}");
    })
    .await
}

async fn me(app: &TestApp, token: &str) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

/// A request held up past `limits.request_seconds` (here by a row lock another connection
/// holds on the card) is answered `TIMEOUT` at that time, and what it had begun to write is
/// rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_is_stopped_and_writes_nothing() {
    crate::common::skippable(async {
        let app = TestApp::spawn_with(Backend::Postgres, |config| {
            config.limits.request_seconds = 1;
        })
        .await;
        let token = app.user_token("ann", &[("acme", "member")]);
        let user = app.user_id(&token).await;
        let card = "{ me { profile { version value(key: \"nickname\") { text } } } }";
        let before = app.ok(&token, card, json!({})).await;

        let lock = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &lock,
            &format!("SELECT 1 FROM memberships WHERE user_id = '{user}' FOR UPDATE"),
        )
        .await
        .unwrap();
        let save = "mutation { updateMyProfile(input: {values: [{key: \"nickname\", value: \"Nan\"}]}) { version } }";
        let response = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&token)
            .json(&json!({"query": save}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "TIMEOUT", "{body}");
        lock.rollback().await.unwrap();

        let after = app.ok(&token, card, json!({})).await;
        assert_eq!(after, before, "the stopped save wrote nothing");
    })
    .await
}
