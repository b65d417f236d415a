//! The federated subgraph behind a real Apollo gateway (npm @apollo/gateway) composed with a
//! second subgraph (scripts/peers/orders-subgraph.mjs) whose orders are owned by our users.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use userprofile::db::StatementCounter;

use crate::common::{Backend, Peer, TestApp, error_code};
use crate::fields::TEMPLATES;
use crate::files::{png, upload};
use crate::{peer_test, storage_test};

const ORDERS: &str = "query($first: Int) { orders(first: $first) { id owner {
    id displayName avatarUrl card { values { key json } } } } }";

/// A Node test peer, stopped when dropped.
struct NodePeer {
    _child: Child,
    url: String,
}

impl NodePeer {
    /// Starts `script` (under scripts/peers) and waits for the URL it prints once it listens.
    async fn start(script: &str, env: &[(&str, &str)]) -> NodePeer {
        let peers = Peer::Gateway.require();
        let mut child = Command::new("node")
            .arg(format!("{peers}/{script}"))
            .envs(env.iter().copied())
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("listening ") {
                    return url.trim().to_owned();
                }
            }
            panic!("{script} exited before listening")
        };
        // Not a timing assertion: a peer that never starts must fail the test, not hang it.
        let url = tokio::time::timeout(Duration::from_secs(120), listening)
            .await
            .unwrap_or_else(|_| panic!("{script} did not start"));
        NodePeer { _child: child, url }
    }
}

/// The orders subgraph (owned by `owners`) and the gateway composing it with `app`.
async fn gateway(app: &TestApp, owners: &[String]) -> (NodePeer, NodePeer) {
    let orders = NodePeer::start(
        "orders-subgraph.mjs",
        &[("ORDERS_OWNERS", &owners.join(","))],
    )
    .await;
    let profiles = format!("{}/graphql", app.base_url);
    let env = [
        ("PROFILES_URL", profiles.as_str()),
        ("ORDERS_URL", orders.url.as_str()),
    ];
    let gateway = NodePeer::start("gateway.mjs", &env).await;
    (orders, gateway)
}

async fn through(
    app: &TestApp,
    gateway: &NodePeer,
    token: Option<&str>,
    tenant: &str,
    first: usize,
) -> Value {
    let mut request = app
        .client
        .post(&gateway.url)
        .header("X-Tenant-Id", tenant)
        .json(&json!({"query": ORDERS, "variables": {"first": first}}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

fn owner(body: &Value, index: usize) -> &Value {
    &body["data"]["orders"][index]["owner"]
}

fn card_keys(owner: &Value) -> Vec<&str> {
    owner["card"]["values"]
        .as_array()
        .map(|values| values.iter().filter_map(|v| v["key"].as_str()).collect())
        .unwrap_or_default()
}

storage_test!(cross_subgraph_queries_show_each_caller_what_the_access_rule_allows);
async fn cross_subgraph_queries_show_each_caller_what_the_access_rule_allows(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["avatar"]})).await;
    let names = |given: &str, family: &str| {
        json!({"given_name": given, "family_name": family})
            .as_object()
            .unwrap()
            .clone()
    };
    let ann = app.token(
        "ann",
        &[("acme", "member")],
        false,
        3600,
        names("Ann", "Lee"),
    );
    let bob = app.token(
        "bob",
        &[("acme", "member")],
        false,
        3600,
        names("Bob", "Roe"),
    );
    let zed = app.token(
        "zed",
        &[("other", "owner")],
        false,
        3600,
        names("Zed", "Xu"),
    );
    let ids = [
        app.user_id(&ann).await,
        app.user_id(&bob).await,
        app.user_id(&zed).await,
    ];
    // Bob's phone number is hidden from other members by default; his avatar is not.
    let phone = json!({"values": [{"key": "phone_number", "value": "+4915112345678"}]});
    app.ok(&bob, "mutation($values: [FieldValueInput!]!) { updateMyProfile(input: {values: $values}) { version } }", phone).await;
    let uploaded = upload(&app, &bob, "avatar", "bob.png", "image/png", png(8, 8)).await;
    assert!(uploaded.get("errors").is_none(), "{uploaded}");

    let (_orders, gateway) = gateway(&app, &ids).await;

    let as_ann = through(&app, &gateway, Some(&ann), "acme", 3).await;
    assert!(as_ann.get("errors").is_none(), "{as_ann}");
    assert_eq!(owner(&as_ann, 0)["displayName"], "Ann Lee");
    assert_eq!(owner(&as_ann, 1)["displayName"], "Bob Roe");
    assert!(
        owner(&as_ann, 1)["avatarUrl"]
            .as_str()
            .unwrap()
            .starts_with("/files/")
    );
    assert!(
        !card_keys(owner(&as_ann, 1)).contains(&"phone_number"),
        "hidden from other members"
    );
    let other_tenant = owner(&as_ann, 2);
    assert_eq!(other_tenant["id"], ids[2].as_str());
    for field in ["displayName", "avatarUrl", "card"] {
        assert_eq!(
            other_tenant[field],
            Value::Null,
            "another tenant's user: {field}"
        );
    }

    let as_admin = through(&app, &gateway, Some(&admin), "acme", 3).await;
    assert!(
        card_keys(owner(&as_admin, 1)).contains(&"phone_number"),
        "{as_admin}"
    );

    let as_bob = through(&app, &gateway, Some(&bob), "acme", 3).await;
    assert!(
        card_keys(owner(&as_bob, 1)).contains(&"phone_number"),
        "his own card"
    );

    // Identity comes only from a verified token, never from a header that claims one.
    let anonymous = through(&app, &gateway, None, "acme", 3).await;
    assert_eq!(
        owner(&anonymous, 0)["displayName"],
        Value::Null,
        "{anonymous}"
    );
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let foreign = through(&app, &gateway, Some(&ann), "other", 3).await;
    assert_eq!(error_code(&foreign), "FORBIDDEN", "{foreign}");
}

storage_test!(backend an_entity_batch_costs_as_many_statements_for_100_owners_as_for_10);
async fn an_entity_batch_costs_as_many_statements_for_100_owners_as_for_10(backend: Backend) {
    let counter = StatementCounter::default();
    let app = TestApp::spawn_with(backend, |config| {
        config.statement_counter = Some(counter.clone());
    })
    .await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.user_id(&admin).await;
    let mut owners = Vec::new();
    for index in 0..100 {
        let token = app.user_token(&format!("owner-{index}"), &[("acme", "member")]);
        owners.push(app.user_id(&token).await);
    }
    let (_orders, gateway) = gateway(&app, &owners).await;
    // Warm the per-tenant caches (field definitions, the signed-in token) that any first
    // request fills, so that only what depends on the number of owners is compared.
    through(&app, &gateway, Some(&admin), "acme", 1).await;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let before = counter.count();
        let body = through(&app, &gateway, Some(&admin), "acme", first).await;
        costs.push(counter.count() - before);
        assert!(body.get("errors").is_none(), "{body}");
        let orders = body["data"]["orders"].as_array().unwrap();
        assert_eq!(orders.len(), first);
        assert!(
            orders
                .iter()
                .all(|o| o["owner"]["card"]["values"].is_array())
        );
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 10 and 100 owners: {costs:?}"
    );
}

peer_test!(the_subgraph_composes_with_another_without_errors_or_hints);
async fn the_subgraph_composes_with_another_without_errors_or_hints() {
    let peers = Peer::Gateway.require();
    let sdl = concat!(env!("CARGO_MANIFEST_DIR"), "/subgraph.graphql");
    let output = Command::new("node")
        .arg(format!("{peers}/compose.mjs"))
        .arg(sdl)
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{printed}");
    assert!(!printed.contains("hint"), "{printed}");
}

#[test]
fn the_subgraph_sdl_is_checked_in() {
    assert_eq!(
        userprofile::graphql::subgraph_sdl(),
        include_str!("../../subgraph.graphql"),
        "subgraph.graphql is stale: run `cargo run -q -- schema --subgraph > subgraph.graphql`"
    );
}

const PROFILE_ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) {
    ... on Profile { userId tenantId values { key } } } }";

storage_test!(a_profile_reference_outside_the_callers_tenant_resolves_to_null);
async fn a_profile_reference_outside_the_callers_tenant_resolves_to_null(app: TestApp) {
    let ann = app.user_token("ann", &[("acme", "member")]);
    let zed = app.user_token("zed", &[("other", "member")]);
    let ann_id = app.user_id(&ann).await;
    let zed_id = app.user_id(&zed).await;
    let tenant = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move {
            let me = app.ok(&token, "{ me { tenants { id } } }", json!({})).await;
            me["me"]["tenants"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let (acme, other) = (tenant(&ann).await, tenant(&zed).await);
    let reference = |user: &str, tenant: &str| json!({"__typename": "Profile", "userId": user, "tenantId": tenant});
    let found = app
        .ok(
            &ann,
            PROFILE_ENTITIES,
            json!({"r": [reference(&ann_id, &acme)]}),
        )
        .await;
    assert_eq!(found["_entities"][0]["userId"], ann_id.as_str());
    for refused in [reference(&zed_id, &other), reference(&zed_id, &acme)] {
        let body = app
            .ok(&ann, PROFILE_ENTITIES, json!({"r": [refused]}))
            .await;
        assert_eq!(body["_entities"], json!([null]), "resolves to null: {body}");
    }
}
