//! Subscriptions over graphql-ws (`/graphql/ws`), from a Rust client speaking the protocol:
//! each subscriber sees what it may see, standing is checked again when it changes, and a
//! change on one instance reaches a subscriber on another.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::{Backend, Call, TestApp};
use crate::fields::CREATE;
use crate::storage_test;

const SAVE: &str = "mutation($values: [FieldValueInput!]!) { updateMyProfile(input: {values: $values}) { version } }";
const SAVE_FOR: &str = "mutation($id: ID!, $values: [FieldValueInput!]!) { updateProfile(userId: $id, input: {values: $values}) { version } }";
const CARD_CHANGES: &str = "subscription($id: ID) { profileChanged(userId: $id) { userId version changedBy changedFields profile { version values { key json } } } }";
const TENANT_CHANGES: &str = "subscription { profilesChanged { userId version changedFields profile { values { key json } } } }";
const DEFINITION_CHANGES: &str = "subscription { fieldDefinitionsChanged { change } }";
const CHANGE_ROLE: &str =
    "mutation($id: ID!, $role: Role!) { changeMemberRole(userId: $id, role: $role) { role } }";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-ws (`graphql-transport-ws`) client.
struct Client {
    socket: Socket,
}

/// How a connection attempt ended when it was not acknowledged: the close code.
#[derive(Debug)]
struct Refused(u16);

impl Client {
    async fn connect(app: &TestApp, payload: Value) -> Result<Client, Refused> {
        let url = format!("{}/graphql/ws", app.base_url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client { socket };
        client
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        match client.receive(Duration::from_secs(10)).await {
            Some(Ok(message)) if message["type"] == "connection_ack" => Ok(client),
            Some(Err(code)) => Err(Refused(code)),
            other => panic!("unexpected answer to connection_init: {other:?}"),
        }
    }

    async fn signed_in(app: &TestApp, token: &str) -> Client {
        let payload = json!({"authorization": format!("Bearer {token}")});
        Client::connect(app, payload).await.unwrap()
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let payload = json!({"query": query, "variables": variables});
        self.send(json!({"id": id, "type": "subscribe", "payload": payload}))
            .await;
    }

    /// The next protocol message, `Err(close code)` when the server closed, `None` when
    /// nothing came within `wait`.
    async fn receive(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        loop {
            let message = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            // A connection dropped without a close frame: 1006, as browsers report it.
            let Some(Ok(message)) = message else {
                return Some(Err(1006));
            };
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    // The end of a subscription (after its error, or ours) says nothing new.
                    if value["type"] == "complete" {
                        continue;
                    }
                    return Some(Ok(value));
                }
                Message::Close(frame) => return Some(Err(frame.map_or(1005, |f| f.code.into()))),
                _ => continue,
            }
        }
    }

    /// The next `next` or `error` message for a subscription.
    async fn event(&mut self) -> Value {
        match self.receive(Duration::from_secs(10)).await {
            Some(Ok(message)) => message,
            other => panic!("no event within 10 s: {other:?}"),
        }
    }

    /// Nothing arrives for a while (events are delivered within milliseconds here).
    async fn stays_quiet(&mut self) {
        let message = self.receive(Duration::from_millis(500)).await;
        assert!(message.is_none(), "unexpected message: {message:?}");
    }
}

/// The code of a refusal: a resolver's error comes as a `next` with `errors`, one refused
/// before it ran as an `error` message.
fn refusal(message: &Value) -> String {
    let errors = match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"],
        Some("error") => &message["payload"],
        _ => panic!("not a refusal: {message}"),
    };
    errors[0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn create_field(app: &TestApp, admin: &str, input: Value) {
    app.ok(admin, CREATE, json!({ "input": input })).await;
}

fn values(pairs: &[(&str, Value)]) -> Value {
    pairs
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

storage_test!(an_owner_sees_each_save_of_their_card);
async fn an_owner_sees_each_save_of_their_card(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    create_field(
        &app,
        &admin,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": []}),
    )
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let ann_id = app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client.subscribe("1", CARD_CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.ok(
        &ann,
        SAVE,
        json!({"values": values(&[("desk", json!("B-2"))])}),
    )
    .await;
    let event = client.event().await;
    assert_eq!(event["type"], "next", "{event}");
    let change = &event["payload"]["data"]["profileChanged"];
    assert_eq!(change["userId"], ann_id.as_str());
    assert_eq!(change["version"], 1);
    assert_eq!(change["changedBy"], format!("user:{ann_id}"));
    assert_eq!(change["changedFields"], json!(["desk"]));
    let desk = change["profile"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "desk")
        .cloned();
    assert_eq!(desk.unwrap()["json"], "B-2");
}

storage_test!(a_hidden_field_never_reaches_a_subscriber_not_even_its_key);
async fn a_hidden_field_never_reaches_a_subscriber_not_even_its_key(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    create_field(
        &app,
        &admin,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": []}),
    )
    .await;
    let secret =
        json!({"key": "appraisal", "kind": "SHORT_TEXT", "labels": [], "ownerAccess": "HIDDEN"});
    create_field(&app, &admin, secret).await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let ann_id = app.user_id(&ann).await;
    let mut own = Client::signed_in(&app, &ann).await;
    own.subscribe("1", CARD_CHANGES, json!({})).await;
    let mut all = Client::signed_in(&app, &admin).await;
    all.subscribe("1", TENANT_CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let both = values(&[("desk", json!("B-2")), ("appraisal", json!("exceeds"))]);
    app.ok(&admin, SAVE_FOR, json!({"id": ann_id, "values": both}))
        .await;
    let seen_by_ann = own.event().await;
    assert_eq!(
        seen_by_ann["payload"]["data"]["profileChanged"]["changedFields"],
        json!(["desk"])
    );
    let text = seen_by_ann.to_string();
    assert!(
        !text.contains("appraisal") && !text.contains("exceeds"),
        "{text}"
    );
    let seen_by_admin = all.event().await;
    let change = &seen_by_admin["payload"]["data"]["profilesChanged"];
    assert_eq!(change["changedFields"], json!(["desk", "appraisal"]));
    // Only hidden fields changed: the owner hears of the new version, and of nothing else.
    let hidden_only = values(&[("appraisal", json!("meets"))]);
    app.ok(
        &admin,
        SAVE_FOR,
        json!({"id": ann_id, "values": hidden_only}),
    )
    .await;
    let seen_by_ann = own.event().await;
    assert_eq!(
        seen_by_ann["payload"]["data"]["profileChanged"]["changedFields"],
        json!([])
    );
    assert!(!seen_by_ann.to_string().contains("meets"));
}

storage_test!(a_member_may_follow_only_their_own_card);
async fn a_member_may_follow_only_their_own_card(app: TestApp) {
    let ann = app.user_token("ann", &[("acme", "member")]);
    let bob = app.user_token("bob", &[("acme", "member")]);
    let bob_id = app.user_id(&bob).await;
    app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client
        .subscribe("1", CARD_CHANGES, json!({"id": bob_id}))
        .await;
    assert_eq!(refusal(&client.event().await), "FORBIDDEN");
    client.subscribe("2", TENANT_CHANGES, json!({})).await;
    assert_eq!(refusal(&client.event().await), "FORBIDDEN");
}

storage_test!(a_member_follows_another_card_while_the_directory_is_open);
async fn a_member_follows_another_card_while_the_directory_is_open(app: TestApp) {
    const DIRECTORY: &str =
        "mutation($on: Boolean!) { setMemberDirectory(enabled: $on) { memberDirectory } }";
    let admin = app.user_token("ada", &[("acme", "admin")]);
    create_field(
        &app,
        &admin,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": [], "memberAccess": "READ"}),
    )
    .await;
    let private =
        json!({"key": "salary", "kind": "INTEGER", "labels": [], "memberAccess": "HIDDEN"});
    create_field(&app, &admin, private).await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let bob = app.user_token("bob", &[("acme", "member")]);
    let bob_id = app.user_id(&bob).await;
    app.user_id(&ann).await;
    app.ok(&admin, DIRECTORY, json!({"on": true})).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client
        .subscribe("1", CARD_CHANGES, json!({"id": bob_id}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let both = values(&[("desk", json!("C-3")), ("salary", json!(5000))]);
    app.ok(&bob, SAVE, json!({"values": both})).await;
    let event = client.event().await;
    let change = &event["payload"]["data"]["profileChanged"];
    assert_eq!(change["changedFields"], json!(["desk"]), "{event}");
    assert!(!event.to_string().contains("salary"), "{event}");
    // Closed again: the next event ends the subscription.
    app.ok(&admin, DIRECTORY, json!({"on": false})).await;
    app.ok(
        &bob,
        SAVE,
        json!({"values": values(&[("desk", json!("C-4"))])}),
    )
    .await;
    assert_eq!(refusal(&client.event().await), "FORBIDDEN");
    client
        .subscribe("2", CARD_CHANGES, json!({"id": bob_id}))
        .await;
    assert_eq!(refusal(&client.event().await), "FORBIDDEN");
}

storage_test!(backend a_silent_connection_is_closed);
async fn a_silent_connection_is_closed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.live.idle_seconds = 1;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    // Nothing from the client (no graphql-ws `ping`) for longer than `idle_seconds`.
    match client.receive(Duration::from_secs(10)).await {
        Some(Err(code)) => assert_eq!(code, 3008, "closed for silence"),
        other => panic!("the silent connection stayed open: {other:?}"),
    }
}

storage_test!(a_connection_without_a_valid_token_is_refused);
async fn a_connection_without_a_valid_token_is_refused(app: TestApp) {
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let refused = Client::connect(&app, json!({"authorization": format!("Bearer {forged}")}))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.0, 1002);
    let anonymous = Client::connect(&app, json!({}))
        .await
        .err()
        .expect("refused");
    assert_eq!(anonymous.0, 1002);
}

storage_test!(a_demoted_admin_stops_receiving_the_tenants_changes);
async fn a_demoted_admin_stops_receiving_the_tenants_changes(app: TestApp) {
    let owner = app.user_token("olga", &[("acme", "owner")]);
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let ada_id = app.user_id(&admin).await;
    app.user_id(&owner).await;
    let mut client = Client::signed_in(&app, &admin).await;
    client.subscribe("1", TENANT_CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.ok(&owner, CHANGE_ROLE, json!({"id": ada_id, "role": "MEMBER"}))
        .await;
    assert_eq!(refusal(&client.event().await), "FORBIDDEN");
    app.ok(&owner, SAVE, json!({"values": []})).await;
    client.stays_quiet().await;
}

storage_test!(an_expired_token_ends_its_subscriptions);
async fn an_expired_token_ends_its_subscriptions(app: TestApp) {
    // Expired 20 s ago: within the 30 s leeway for 10 s more, then refused.
    let tenants = [("acme", "member")];
    let ann = app.token("ann", &tenants, false, -20, serde_json::Map::new());
    app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client.subscribe("1", CARD_CHANGES, json!({})).await;
    let ended = match client.receive(Duration::from_secs(30)).await {
        Some(Ok(message)) => message,
        other => panic!("the subscription did not end: {other:?}"),
    };
    assert_eq!(refusal(&ended), "UNAUTHENTICATED", "{ended}");
    assert!(ended.to_string().contains("expired"), "{ended}");
}

storage_test!(an_open_form_hears_of_definition_changes);
async fn an_open_form_hears_of_definition_changes(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;
    app.user_id(&admin).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    create_field(
        &app,
        &admin,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": []}),
    )
    .await;
    let event = client.event().await;
    assert_eq!(
        event["payload"]["data"]["fieldDefinitionsChanged"]["change"],
        "CREATED"
    );
    // Another tenant's changes are not this tenant's.
    let other = app.user_token("oz", &[("globex", "admin")]);
    create_field(
        &app,
        &other,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": []}),
    )
    .await;
    client.stays_quiet().await;
}

storage_test!(backend subscriptions_per_connection_are_limited);
async fn subscriptions_per_connection_are_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.live.subscriptions_per_connection = 2;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    client.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    client.subscribe("2", DEFINITION_CHANGES, json!({})).await;
    // Subscriptions start concurrently: let the first two take their places.
    client.stays_quiet().await;
    client.subscribe("3", DEFINITION_CHANGES, json!({})).await;
    let refused = client.event().await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(refusal(&refused), "RATE_LIMITED");
    // Ending one frees its place.
    client.send(json!({"id": "1", "type": "complete"})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.subscribe("4", DEFINITION_CHANGES, json!({})).await;
    client.stays_quiet().await;
}

storage_test!(backend subscriptions_per_user_are_limited_across_connections);
async fn subscriptions_per_user_are_limited_across_connections(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.live.subscriptions_per_user = 2;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let bob = app.user_token("bob", &[("acme", "member")]);
    app.user_id(&ann).await;
    app.user_id(&bob).await;
    let mut first = Client::signed_in(&app, &ann).await;
    first.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    first.subscribe("2", DEFINITION_CHANGES, json!({})).await;
    first.stays_quiet().await;
    let mut second = Client::signed_in(&app, &ann).await;
    second.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    let refused = second.event().await;
    assert_eq!(refusal(&refused), "RATE_LIMITED", "{refused}");
    assert!(
        refused.to_string().contains("you already hold 2"),
        "{refused}"
    );
    // Another user is not affected; a closed connection gives its places back.
    let mut other = Client::signed_in(&app, &bob).await;
    other.subscribe("1", DEFINITION_CHANGES, json!({})).await;
    other.stays_quiet().await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.subscribe("2", DEFINITION_CHANGES, json!({})).await;
    second.stays_quiet().await;
}

storage_test!(backend a_huge_message_closes_the_connection);
async fn a_huge_message_closes_the_connection(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.limits.body_bytes = 64 * 1024;
    })
    .await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    app.user_id(&ann).await;
    let mut client = Client::signed_in(&app, &ann).await;
    let padding = " ".repeat(256 * 1024);
    let query = format!("subscription {{ fieldDefinitionsChanged {{ change }} {padding} }}");
    client.subscribe("1", &query, json!({})).await;
    match client.receive(Duration::from_secs(10)).await {
        // Closed as too big (1009), or dropped.
        Some(Err(code)) => assert!(code == 1009 || code == 1006, "{code}"),
        other => panic!("the connection stayed open: {other:?}"),
    }
}

/// Two service processes on one PostgreSQL database (this test's instance A, and B started
/// from the binary): an edit through A reaches a subscriber on B, and a definition created on
/// A is read on B right after (its cache told by `NOTIFY`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_reaches_another() {
    crate::common::skippable(async {
        let a = TestApp::spawn(Backend::Postgres).await;
        let b = a.second_process().await;
        let admin = a.user_token("ada", &[("acme", "admin")]);
        let ann = a.user_token("ann", &[("acme", "member")]);
        app_ready(&a, &admin, &ann).await;
        // B caches the definitions now.
        let read = "{ me { profile { values { key } } } }";
        b.ok(&ann, read, json!({})).await;
        let mut subscriber = Client::signed_in(&b, &ann).await;
        subscriber.subscribe("1", CARD_CHANGES, json!({})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        a.ok(
            &ann,
            SAVE,
            json!({"values": values(&[("desk", json!("A-1"))])}),
        )
        .await;
        let event = subscriber.event().await;
        assert_eq!(
            event["payload"]["data"]["profileChanged"]["version"], 1,
            "{event}"
        );

        create_field(
            &a,
            &admin,
            json!({"key": "floor", "kind": "INTEGER", "labels": []}),
        )
        .await;
        let started = std::time::Instant::now();
        loop {
            let card = b.ok(&ann, read, json!({})).await;
            if card.to_string().contains("\"floor\"") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "B never saw the new field"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!(
            "B read the new definition {:?} after A created it",
            started.elapsed()
        );

        // A demoted admin's next request on B is refused.
        let owner = a.user_token("olga", &[("acme", "owner")]);
        let ada_id = a.user_id(&admin).await;
        a.user_id(&owner).await;
        a.ok(&owner, CHANGE_ROLE, json!({"id": ada_id, "role": "MEMBER"}))
            .await;
        let refused = b
            .graphql(Call {
                token: Some(&admin),
                query: "{ members { role } }",
                ..Default::default()
            })
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused}"
        );
    })
    .await
}

async fn app_ready(app: &TestApp, admin: &str, member: &str) {
    create_field(
        app,
        admin,
        json!({"key": "desk", "kind": "SHORT_TEXT", "labels": []}),
    )
    .await;
    app.user_id(member).await;
}

/// The client frontends use (npm graphql-ws over npm ws) receives each save as it happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_npm_graphql_ws_client_receives_each_save() {
    use tokio::io::AsyncBufReadExt;
    crate::common::skippable(async {
        let peers = crate::common::Peer::Gateway.require();
        let app = TestApp::spawn(Backend::Sqlite).await;
        let admin = app.user_token("ada", &[("acme", "admin")]);
        app_ready(&app, &admin, &admin).await;
        let url = format!("{}/graphql/ws", app.base_url.replacen("http", "ws", 1));
        let mut child = tokio::process::Command::new("node")
            .arg(format!("{peers}/live-client.mjs"))
            .args([&url, &admin, CARD_CHANGES])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next_line = async || -> Value {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("the client answers within a minute")
                .unwrap()
                .expect("the client is still running");
            serde_json::from_str(&line).unwrap()
        };
        assert_eq!(next_line().await, json!({"connected": true}));
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (version, desk) in [(1, "B-1"), (2, "B-2")] {
            app.ok(
                &admin,
                SAVE,
                json!({"values": values(&[("desk", json!(desk))])}),
            )
            .await;
            let event = next_line().await;
            let change = &event["next"]["data"]["profileChanged"];
            assert_eq!(change["version"], version, "{event}");
            assert_eq!(change["changedFields"], json!(["desk"]));
        }
    })
    .await
}

/// The connection listening for changes is lost (its backend terminated): once a new one
/// listens, the instance forgets what it cached, since notices may have been missed meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listening_connection_resyncs_the_caches() {
    use sea_orm::ConnectionTrait;
    crate::common::skippable(async {
        let app = TestApp::spawn(Backend::Postgres).await;
        let admin = app.user_token("ada", &[("acme", "admin")]);
        let desk = json!({"key": "desk", "kind": "SHORT_TEXT", "labels": [{"locale": "en", "text": "Desk"}]});
        create_field(&app, &admin, desk).await;
        let read = "{ me { profile { values { key label { text } } } } }";
        let label = async || {
            let card = app.ok(&admin, read, json!({})).await;
            let values = card["me"]["profile"]["values"].as_array().unwrap().clone();
            let desk = values.into_iter().find(|v| v["key"] == "desk").unwrap();
            desk["label"]["text"].as_str().unwrap().to_owned()
        };
        assert_eq!(label().await, "Desk");
        // A change no notice announces, as one sent while the listener was away.
        app.db
            .execute_unprepared(
                "UPDATE field_definitions SET labels = '{\"en\": \"Bureau\"}' WHERE key = 'desk'",
            )
            .await
            .unwrap();
        assert_eq!(label().await, "Desk", "the definitions are cached");
        let terminated = app
            .db
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await
            .unwrap();
        assert_eq!(terminated.rows_affected(), 1, "one listening connection per instance");
        let started = std::time::Instant::now();
        while label().await != "Bureau" {
            assert!(started.elapsed() < Duration::from_secs(10), "the caches were not resynced");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// A file released through one process is no longer served by another that had its row and
/// thumbnail cached (told by `NOTIFY`), well within the caches' own lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_released_on_one_process_is_gone_on_another() {
    use crate::files::{png, upload};
    crate::common::skippable(async {
        let a = TestApp::spawn(Backend::Postgres).await;
        let b = a.second_process().await;
        let admin = a.user_token("ada", &[("acme", "admin")]);
        a.ok(
            &admin,
            crate::fields::TEMPLATES,
            json!({"keys": ["avatar"]}),
        )
        .await;
        let mia = a.user_token("mia", &[("acme", "member")]);
        a.user_id(&mia).await;
        let first = upload(&a, &mia, "avatar", "a.png", "image/png", png(300, 300)).await;
        let thumbnail = first["data"]["uploadFile"]["file"]["thumbnails"][0]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("{first}"))
            .to_owned();
        let served = |app: &TestApp| {
            let url = format!("{}{thumbnail}", app.base_url);
            let client = app.client.clone();
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(served(&b).await, 200, "B caches the row and the thumbnail");
        upload(&a, &mia, "avatar", "b.png", "image/png", png(301, 301)).await;
        assert_eq!(served(&a).await, 404);
        let started = std::time::Instant::now();
        while served(&b).await != 404 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "B still serves the released file"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}
