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

/// A save held up by a row lock another connection holds on the card, under `configure`:
/// checks it is answered `TIMEOUT` (503) and wrote nothing.
async fn held_up_save_times_out(configure: impl FnOnce(&mut userprofile::config::Config)) {
    let app = TestApp::spawn_with(Backend::Postgres, configure).await;
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
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!((status, error_code(&body)), (503, "TIMEOUT"), "{body}");
    lock.rollback().await.unwrap();

    let after = app.ok(&token, card, json!({})).await;
    assert_eq!(after, before, "the stopped save wrote nothing");
}

/// A request held up past `limits.request_seconds` is answered `TIMEOUT` at that time, and
/// what it had begun to write is rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_is_stopped_and_writes_nothing() {
    crate::common::skippable(held_up_save_times_out(|config| {
        config.limits.request_seconds = 1;
    }))
    .await
}

/// A statement past `limits.statement_seconds` is cancelled by PostgreSQL, well before the
/// request's own limit: `TIMEOUT`, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_its_time_is_cancelled_and_writes_nothing() {
    crate::common::skippable(held_up_save_times_out(|config| {
        config.limits.request_seconds = 600;
        config.limits.statement_seconds = 1;
    }))
    .await
}

/// Writes `head` on a fresh connection, then trickles `body` a byte at a time every 200 ms,
/// and returns what the server answered (up to its closing the connection), with how long it
/// took to stop listening.
async fn trickle(app: &TestApp, head: &str, body: &[u8]) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base_url.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = std::time::Instant::now();
    writer.write_all(head.as_bytes()).await.unwrap();
    let body = body.to_vec();
    let sending = tokio::spawn(async move {
        for byte in body {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        reader.read_to_end(&mut answer),
    )
    .await;
    sending.abort();
    assert!(read.is_ok(), "the server still listens after 20 s");
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// A body trickled slower than `limits.body_seconds` allows is cut off: 408 with `TIMEOUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_cut_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.body_seconds = 1;
    })
    .await;
    // Trickled whole, this body would take 13 s.
    let body = format!("{}{}", r#"{"query": "{ __typename }"}"#, " ".repeat(40));
    let body = body.as_bytes();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (answer, took) = trickle(&app, &head, body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("TIMEOUT"), "{answer}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

/// Headers trickled slower than `limits.body_seconds` allows: the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_headers_are_cut_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.limits.body_seconds = 1;
    })
    .await;
    let headers = b"Host: test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let (answer, took) = trickle(&app, "GET /healthz HTTP/1.1\r\n", headers).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // Trickled whole, these headers would take 14 s.
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}
