//! Traces and JSON logs, from the real binary (the subscriber is process-wide): spans exported
//! over OTLP/HTTP to a receiver written here, continuing the caller's `traceparent`.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use serde_json::{Map, Value, json};
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP (JSON) receiver keeping every span it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::Json<Value>| async move {
            let batch = body.0["resourceSpans"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for resource in batch {
                for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                    let mut spans = kept.lock().unwrap();
                    spans.extend(scope["spans"].as_array().into_iter().flatten().cloned());
                }
            }
            axum::Json(json!({}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), spans)
}

fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_traced_from_the_callers_traceparent_to_its_sql() {
    let (collector, spans) = receiver().await;
    let data_dir = tempfile::tempdir().unwrap();
    let logs = data_dir.path().join("stderr.log");
    let address = free_address();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_userprofile"))
        .args(["serve", "--dev"])
        .env("USERPROFILE_LISTEN", address.to_string())
        .env("USERPROFILE_DATA_DIR", data_dir.path())
        .env(
            "USERPROFILE_DATABASE_URL",
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("u.db").display()
            ),
        )
        .env("USERPROFILE_TELEMETRY__OTLP_ENDPOINT", &collector)
        .env("USERPROFILE_TELEMETRY__OTLP_PROTOCOL", "json")
        .env("USERPROFILE_TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "info,userprofile::http=debug")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("USERPROFILE_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&logs).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(healthy, "the service did not start");
    let token = DevKey::load_or_create(data_dir.path())
        .unwrap()
        .issue(&DevTokenRequest {
            subject: "ann".into(),
            tenants: vec![DevTenant {
                id: "acme".into(),
                name: None,
                role: "member".into(),
            }],
            operator: false,
            ttl_seconds: 600,
            extra_claims: Map::new(),
        })
        .unwrap();
    let answer: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(&json!({"query": "query Me { me { id profile { version } } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["data"]["me"]["id"].is_string(), "{answer}");

    let names = |spans: &[Value]| -> Vec<String> {
        spans
            .iter()
            .filter(|s| s["traceId"] == TRACE_ID)
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mut traced = Vec::new();
    for _ in 0..100 {
        traced = names(&spans.lock().unwrap());
        if traced.iter().any(|n| n == "POST /graphql") && traced.iter().any(|n| n == "Query.me") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(traced.iter().any(|n| n == "POST /graphql"), "{traced:?}");
    assert!(traced.iter().any(|n| n == "graphql Me"), "{traced:?}");
    assert!(traced.iter().any(|n| n == "Query.me"), "{traced:?}");
    assert!(
        traced.iter().any(|n| n.starts_with("sea_orm.")),
        "{traced:?}"
    );
    let server = spans
        .lock()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "POST /graphql")
        .cloned()
        .unwrap();
    assert_eq!(server["parentSpanId"], CALLER_SPAN, "{server}");

    child.kill().await.unwrap();
    let lines = std::fs::read_to_string(&logs).unwrap();
    let answered = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| {
            line["fields"]["message"] == "answered" && line["span"]["http.route"] == "/graphql"
        })
        .unwrap_or_else(|| panic!("no JSON line for the answer in:\n{lines}"));
    assert_eq!(answered["span"]["trace_id"], TRACE_ID, "{answered}");
}
