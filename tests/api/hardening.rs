//! Requests built to crash the service: deeply nested documents, variables and multipart
//! operations must be refused with a code, and the service must keep serving.

use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::common::{Backend, Call, TestApp, error_code, error_message};
use crate::storage_test;

/// The nesting depths every position is tried at: a sweep through the depths where the
/// parser's grammar (which has its own stack guard) still succeeds but building the syntax
/// tree overflowed a worker's stack (about 350 levels in debug builds, 1 500 in release
/// builds), then far past it.
fn levels() -> impl Iterator<Item = usize> {
    (100..=2_000)
        .step_by(50)
        .chain([10_000, 100_000, 1_000_000])
}

/// serde_json's recursion limit, which refuses deeper JSON bodies and multipart operations.
const JSON_DEPTH: usize = 128;

/// Where a nested construct sits in a request.
#[derive(Clone, Copy, Debug)]
enum Position {
    ArgumentObject,
    ArgumentList,
    VariableDefault,
    DirectiveArgument,
    SelectionSet,
    JsonVariables,
    MultipartOperations,
}

const POSITIONS: [Position; 7] = [
    Position::ArgumentObject,
    Position::ArgumentList,
    Position::VariableDefault,
    Position::DirectiveArgument,
    Position::SelectionSet,
    Position::JsonVariables,
    Position::MultipartOperations,
];

/// `levels` nested objects `{a:{a:…1…}}`, closed.
fn object_literal(levels: usize) -> String {
    format!("{}1{}", "{a:".repeat(levels), "}".repeat(levels))
}

/// `levels` nested lists `[[…1…]]`, closed.
fn list_literal(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

/// The GraphQL document and the variables JSON of a request nesting `levels` deep at `position`.
fn request(position: Position, levels: usize) -> (String, String) {
    let plain = "mutation($v: JSON!) { createMyAppProfile(appId: \"crm\", data: $v) { version } }";
    match position {
        Position::ArgumentObject => (
            format!("{{ profile(userId: {}) {{ id }} }}", object_literal(levels)),
            "{}".into(),
        ),
        Position::ArgumentList => (
            format!("{{ profile(userId: {}) {{ id }} }}", list_literal(levels)),
            "{}".into(),
        ),
        Position::VariableDefault => (
            format!(
                "query($v: JSON = {}) {{ me {{ id }} }}",
                list_literal(levels)
            ),
            "{}".into(),
        ),
        Position::DirectiveArgument => (
            format!("{{ me @include(if: {}) {{ id }} }}", object_literal(levels)),
            "{}".into(),
        ),
        Position::SelectionSet => (
            format!("{}id{}", "{ me ".repeat(levels), " }".repeat(levels)),
            "{}".into(),
        ),
        Position::JsonVariables | Position::MultipartOperations => {
            (plain.into(), format!("{{\"v\": {}}}", list_literal(levels)))
        }
    }
}

/// Sends one nested request; bodies past the anonymous limit go as an operator, whose limit
/// is larger, so that every one reaches the parsers. Returns the status and the body.
async fn send(app: &TestApp, position: Position, levels: usize) -> (u16, Value) {
    let (query, variables) = request(position, levels);
    let body = format!(
        "{{\"query\": {}, \"variables\": {variables}}}",
        Value::String(query)
    );
    let url = format!("{}/graphql", app.base_url);
    let mut builder = match position {
        Position::MultipartOperations => {
            let form = Form::new()
                .text("operations", body.clone())
                .text("map", "{}");
            app.client.post(&url).multipart(form)
        }
        _ => app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone()),
    };
    // Variables go through the JSON scalar and the app profile checks of a signed-in user.
    if body.len() > 2 * 1024 * 1024 - 1024 {
        builder = builder.bearer_auth(app.operator_token("ops", &["*"]));
    } else if matches!(
        position,
        Position::JsonVariables | Position::MultipartOperations
    ) {
        builder = builder.bearer_auth(app.user_token("alice", &[("acme", "member")]));
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn assert_still_serving(app: &TestApp) {
    let health = reqwest::get(format!("{}/healthz", app.base_url))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_anywhere_is_refused_and_the_service_keeps_serving() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for position in POSITIONS {
        for levels in levels() {
            let (status, body) = send(&app, position, levels).await;
            let code = body["errors"][0]["extensions"]["code"].as_str();
            let refused = matches!(code, Some("BAD_USER_INPUT" | "GRAPHQL_PARSE_FAILED"));
            // Shallower JSON reaches the resolver, which answers for itself.
            let answered = code.is_some_and(|code| code != "INTERNAL_SERVER_ERROR");
            assert!(
                refused || (levels <= JSON_DEPTH && answered),
                "{position:?} x {levels}: HTTP {status}, {body}"
            );
            assert!(status < 500, "{position:?} x {levels}: HTTP {status}");
            assert_still_serving(&app).await;
        }
    }
}

/// The limit leaves room for what clients really send: the deepest app profile document the
/// service stores, as a literal inside a mutation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deepest_app_profile_literal_still_parses() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let operator = app.operator_token("root-ops", &["*"]);
    app.ok(
        &operator,
        "mutation { createApp(input: {id: \"crm\", name: \"CRM\"}) { id } }",
        json!({}),
    )
    .await;
    let depth = userprofile::config::Limits::default().app_profile_depth;
    let document = format!(
        "mutation {{ createMyAppProfile(appId: \"crm\", data: {}{{}}{}) {{ version }} }}",
        "{a:".repeat(depth - 1),
        "}".repeat(depth - 1)
    );
    let user = app.user_token("alice", &[("acme", "member")]);
    let data = app.ok(&user, &document, json!({})).await;
    assert_eq!(data["createMyAppProfile"]["version"], 1);
}

#[test]
fn nested_requests_have_the_advertised_depth() {
    let (query, _) = request(Position::ArgumentList, 3);
    assert_eq!(query, "{ profile(userId: [[[1]]]) { id } }");
    let (query, _) = request(Position::SelectionSet, 2);
    assert_eq!(query, "{ me { me id } }");
}

/// The real binary, serving on a fresh SQLite database and a free port.
struct Served {
    child: tokio::process::Child,
    address: std::net::SocketAddr,
    _data_dir: tempfile::TempDir,
}

impl Served {
    async fn start() -> Served {
        let data_dir = tempfile::tempdir().unwrap();
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let database = data_dir.path().join("userprofile.db");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_userprofile"))
            .arg("serve")
            .env("USERPROFILE_LISTEN", address.to_string())
            .env("USERPROFILE_DATA_DIR", data_dir.path())
            .env(
                "USERPROFILE_DATABASE_URL",
                format!("sqlite://{}?mode=rwc", database.display()),
            )
            .env_remove("USERPROFILE_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let served = Served {
            child,
            address,
            _data_dir: data_dir,
        };
        served.wait_until_healthy().await;
        served
    }

    async fn wait_until_healthy(&self) {
        let url = format!("http://{}/healthz", self.address);
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service did not become healthy at {url}");
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let id = self.child.id().expect("the process is running");
        let pid = rustix::process::Pid::from_raw(i32::try_from(id).unwrap()).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }
}

/// Container platforms stop a service with SIGTERM: the request under way still gets its
/// answer, then the process exits with status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut served = Served::start().await;
    let body = br#"{"query": "{ __typename }"}"#;
    let (first, rest) = body.split_at(10);
    let mut connection = tokio::net::TcpStream::connect(served.address)
        .await
        .unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await.unwrap();
    connection.write_all(first).await.unwrap();
    // The server has the request (its handler waits for the rest of the body) when it is told to stop.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    served.signal(rustix::process::Signal::TERM);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        served.child.try_wait().unwrap().is_none(),
        "the process quit with a request in flight"
    );
    connection.write_all(rest).await.unwrap();
    let mut response = String::new();
    let read = connection.read_to_string(&mut response);
    tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .expect("the in-flight request is answered")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""__typename":"Query""#), "{response}");

    let status = tokio::time::timeout(std::time::Duration::from_secs(5), served.child.wait())
        .await
        .expect("the process exits within 5 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

storage_test!(a_new_tenants_default_locale_must_be_a_language_tag);
/// Found by the fuzzer: a default locale that is no language tag was stored, and one longer
/// than its column failed on PostgreSQL with an internal error.
async fn a_new_tenants_default_locale_must_be_a_language_tag(app: TestApp) {
    let operator = app.operator_token("root-ops", &["*"]);
    let create = "mutation($input: CreateTenantInput!) { createTenant(input: $input) { slug defaultLocale } }";
    for locale in ["00000000-0000-0000-0000-000000000000", "not a locale", ""] {
        let input = json!({"slug": "globex", "name": "Globex", "defaultLocale": locale});
        let body = app
            .graphql(Call {
                token: Some(&operator),
                query: create,
                variables: json!({ "input": input }),
                ..Default::default()
            })
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{locale:?}: {body}");
    }
    let input = json!({"slug": "globex", "name": "Globex", "defaultLocale": "pt-BR"});
    let data = app.ok(&operator, create, json!({ "input": input })).await;
    assert_eq!(data["createTenant"]["defaultLocale"], "pt-BR");
}

storage_test!(a_tenant_slug_cannot_be_a_uuid);
/// Found by the fuzzer: tenants are found by UUID or slug, so a tenant created with a UUID as
/// its slug could not be read back and the creation failed with an internal error.
async fn a_tenant_slug_cannot_be_a_uuid(app: TestApp) {
    let operator = app.operator_token("root-ops", &["*"]);
    let input = json!({"slug": "00000000-0000-0000-0000-000000000000", "name": "Nil"});
    let body = app
        .graphql(Call {
            token: Some(&operator),
            query: "mutation($input: CreateTenantInput!) { createTenant(input: $input) { slug } }",
            variables: json!({ "input": input }),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(error_message(&body).contains("not a UUID"), "{body}");
}

/// `n` fragments on Query, each spreading the next one twice: a kilobyte that expands to
/// 2^(n-1) fields.
fn doubling_fragments(n: usize) -> String {
    let fragments: Vec<String> = (0..n)
        .map(|i| {
            let body = if i + 1 < n {
                format!("...F{next} ...F{next}", next = i + 1)
            } else {
                "__typename".to_owned()
            };
            format!("fragment F{i} on Query {{ {body} }}")
        })
        .collect();
    format!("query {{ ...F0 }} {}", fragments.join(" "))
}

/// Validation walked every expansion of such a document: 25 fragments held a runtime worker
/// for over 30 seconds and two requests stopped the service. Each size below must be refused
/// with a code (or, when small, answered) while the service keeps serving; all are sent at
/// once, more than there are workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_spread_exponentially_are_refused_before_validation() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let sizes = [5usize, 12, 20, 25, 28, 31, 40, 64];
    let answers = futures::future::join_all(sizes.map(|n| {
        let document = doubling_fragments(n);
        let app = &app;
        async move {
            let call = Call {
                token: None,
                tenant: None,
                query: &document,
                variables: json!({}),
            };
            (n, app.graphql(call).await)
        }
    }))
    .await;
    for (n, body) in answers {
        if n <= 5 {
            assert_eq!(body["data"]["__typename"], "Query", "{n}: {body}");
            continue;
        }
        assert_eq!(
            error_code(&body),
            "GRAPHQL_VALIDATION_FAILED",
            "{n}: {body}"
        );
        let message = error_message(&body);
        assert!(
            message.contains("fragments") || message.contains("recursion depth"),
            "{n}: {message}"
        );
    }
    assert_still_serving(&app).await;
}

/// Found as a flaky test: a body refused before it was all read (too large) left the client
/// believing the connection could carry its next request, which the server had closed; the
/// refusal must say `Connection: close`, and the next request on the same client succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_oversized_body_closes_its_connection_cleanly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("ann", &[("acme", "member")]);
    let huge = json!({"query": format!("{{ me {{ id }} }} # {}", "x".repeat(3 * 1024 * 1024))});
    for attempt in 0..30 {
        let refused = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&token)
            .json(&huge)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 413, "attempt {attempt}");
        assert_eq!(
            refused.headers().get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "attempt {attempt}"
        );
        refused.bytes().await.unwrap();
        let next = app
            .client
            .get(format!("{}/healthz", app.base_url))
            .send()
            .await;
        assert!(next.is_ok(), "attempt {attempt}: {next:?}");
    }
}
