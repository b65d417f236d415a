//! Prometheus `/metrics`: private unless configured, and right after a known sequence of
//! requests.

use serde_json::json;

use crate::common::{Backend, Call, TestApp};
use crate::storage_test;

const SECRET: &str = "scrape-secret-for-tests";
const CREATE_APP: &str = "mutation($input: CreateAppInput!) { createApp(input: $input) { id } }";
const BULK: &str =
    "mutation($p: [AppProfileInput!]!) { createAppProfiles(profiles: $p) { created } }";

async fn scrape(app: &TestApp, secret: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(format!("{}/metrics", app.base_url));
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of the sample `series` (name with its labels, as exposed), or 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// The token with one character of its signature changed (still valid base64url).
fn forge_signature(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

storage_test!(backend metrics_count_a_known_sequence_of_requests);
async fn metrics_count_a_known_sequence_of_requests(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics.bearer_token = Some(SECRET.to_owned());
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    for _ in 0..3 {
        app.ok(&ann, "query Me { me { id } }", json!({})).await;
    }
    let refused = app
        .graphql(Call {
            token: Some(&ann),
            query: "mutation Save { updateMyProfile(input: {values: [{key: \"nope\", value: \"x\"}]}) { version } }",
            ..Default::default()
        })
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let forged = forge_signature(&ann);
    let (status, _) = crate::common::me_status(&app, &forged).await;
    assert_eq!(status, 401);
    let root = app.operator_token("root", &["*"]);
    app.ok(
        &root,
        CREATE_APP,
        json!({"input": {"id": "crm", "name": "CRM"}}),
    )
    .await;
    let user = app.user_id(&ann).await;
    let items = json!([{"userId": user, "appId": "crm", "data": {"a": 1}}]);
    let bulk = app
        .graphql(Call {
            token: Some(&root),
            tenant: Some("acme"),
            query: BULK,
            variables: json!({"p": items}),
        })
        .await;
    assert_eq!(bulk["data"]["createAppProfiles"]["created"], 1, "{bulk}");

    let (status, text) = scrape(&app, Some(SECRET)).await;
    assert_eq!(status, 200, "{text}");
    let count = |series: &str| sample(&text, series);
    assert_eq!(
        count(r#"graphql_operation_duration_seconds_count{operation="Me",type="query"}"#),
        3.0,
        "{text}"
    );
    assert_eq!(
        count(r#"graphql_errors_total{operation="Save",type="mutation",code="BAD_USER_INPUT"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"http_requests_total{method="POST",route="/graphql",status="401"}"#),
        1.0
    );
    assert_eq!(
        count(
            r#"http_request_duration_seconds_count{method="POST",route="/graphql",status="401"}"#
        ),
        1.0
    );
    assert_eq!(
        count(r#"token_verification_failures_total{reason="signature"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(count("bulk_rows_written_total"), 1.0, "{text}");
    // Admission and the request itself each look a token up. Misses: ann's and root's
    // first, the forged one twice (never cached). Hits: the 9 other lookups of ann's 5
    // requests and the 3 of root's 2.
    let tokens = |outcome: &str| {
        count(&format!(
            r#"cache_lookups_total{{cache="verified_tokens",outcome="{outcome}"}}"#
        ))
    };
    assert_eq!((tokens("miss"), tokens("hit")), (4.0, 12.0), "{text}");
    assert!(count(r#"cache_lookups_total{cache="field_definitions",outcome="miss"}"#) >= 1.0);
    assert!(count("db_pool_max_connections") >= 1.0, "{text}");
    assert!(
        text.contains(r#"db_pool_connections{state="idle"}"#),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}

/// Pool waits reach the metrics through a tracing layer, which is process-wide: installed
/// here once, as `telemetry::init` does in the binary.
fn count_pool_waits() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        tracing_subscriber::registry()
            .with(userprofile::metrics::PoolWaitLayer::filtered())
            .init();
    });
}

storage_test!(backend waits_for_a_pool_connection_are_measured);
async fn waits_for_a_pool_connection_are_measured(backend: Backend) {
    count_pool_waits();
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics.bearer_token = Some(SECRET.to_owned());
        config.limits.pool_connections = 1;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.ok(&ann, "{ me { id } }", json!({})).await;
    // The histogram counts every pool of this test process, so only its growth is checked.
    let acquisitions = |text: &str| {
        let all = sample(text, "db_pool_acquire_duration_seconds_count");
        let at_once = sample(
            text,
            r#"db_pool_acquire_duration_seconds_bucket{le="0.0001"}"#,
        );
        (all, all - at_once)
    };
    let (before, waited_before) = acquisitions(&scrape(&app, Some(SECRET)).await.1);

    // One connection for sixteen concurrent requests: most of them queue for it.
    let requests =
        (0..16).map(|_| app.ok(&ann, "{ me { id profile { values { key } } } }", json!({})));
    futures::future::join_all(requests).await;

    let (after, waited_after) = acquisitions(&scrape(&app, Some(SECRET)).await.1);
    assert!(after - before >= 16.0, "{before} → {after}");
    assert!(
        waited_after > waited_before,
        "no wait longer than 100 µs was seen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_public() {
    let unset = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(scrape(&unset, None).await.0, 404);
    assert_eq!(scrape(&unset, Some("")).await.0, 404);
    let set = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.metrics.bearer_token = Some(SECRET.to_owned());
    })
    .await;
    assert_eq!(scrape(&set, None).await.0, 404);
    assert_eq!(scrape(&set, Some("scrape-secret")).await.0, 404);
    assert_eq!(scrape(&set, Some(SECRET)).await.0, 200);
}
