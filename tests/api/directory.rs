//! The directory: `profiles`, a Relay connection over the active tenant's cards, for admins,
//! and for members while the tenant opens its member directory.

use std::collections::HashSet;

use serde_json::{Value, json};
use userprofile::db::StatementCounter;

use crate::common::{Backend, Call, TestApp, error_code, error_message};
use crate::storage_test;

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String,
        $order: ProfileOrder) {
    profiles(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { userId version values { key json } } } } }";

const SAVE: &str = "mutation($values: [FieldValueInput!]!) {
    updateMyProfile(input: {values: $values}) { version } }";

const CREATE_FIELD: &str =
    "mutation($input: CreateFieldInput!) { createFieldDefinition(input: $input) { key } }";

const OPEN: &str =
    "mutation($on: Boolean!) { setMemberDirectory(enabled: $on) { memberDirectory } }";

/// Signs `count` members into acme, each with a `note` value; returns their user ids in order.
async fn add_members(app: &TestApp, from: usize, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for index in from..from + count {
        let token = app.user_token(&format!("member-{index}"), &[("acme", "member")]);
        let values = json!({"values": [{"key": "note", "value": format!("note {index}")}]});
        app.ok(&token, SAVE, values).await;
        ids.push(app.user_id(&token).await);
    }
    ids
}

/// An admin of acme who defined a `note` field that members see and a `secret` one they don't.
async fn admin_with_fields(app: &TestApp) -> String {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    for (key, member_access) in [("note", "READ"), ("secret", "HIDDEN")] {
        let input = json!({"input": {"key": key, "kind": "SHORT_TEXT", "labels": [],
            "memberAccess": member_access}});
        app.ok(&admin, CREATE_FIELD, input).await;
    }
    admin
}

async fn page(app: &TestApp, token: &str, variables: Value) -> Value {
    let body = call(app, token, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"]["profiles"].clone()
}

async fn call(app: &TestApp, token: &str, variables: Value) -> Value {
    app.graphql(Call {
        token: Some(token),
        query: PAGE,
        variables,
        ..Call::default()
    })
    .await
}

fn user_ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["userId"].as_str().unwrap().to_owned())
        .collect()
}

fn keys(node: &Value) -> Vec<&str> {
    node["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect()
}

/// Pages forward through the whole directory in `order`, `size` cards at a time.
async fn page_through(app: &TestApp, token: &str, order: Value, size: i32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({"first": size, "after": after, "order": order});
        let page = page(app, token, vars).await;
        seen.extend(user_ids(&page));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return seen;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

storage_test!(admins_page_forward_and_backward_through_every_card);
async fn admins_page_forward_and_backward_through_every_card(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let admin_id = app.user_id(&admin).await;
    let mut members = vec![admin_id];
    members.extend(add_members(&app, 0, 6).await);

    let forward = page_through(&app, &admin, json!({"key": "CREATED"}), 3).await;
    assert_eq!(forward, members, "oldest first, each card once");

    let first = page(&app, &admin, json!({"first": 3})).await;
    assert_eq!(first["totalCount"], 7);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    let last = page(&app, &admin, json!({"last": 2})).await;
    assert_eq!(user_ids(&last), members[5..].to_vec());
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = last["pageInfo"]["startCursor"].clone();
    let previous = page(&app, &admin, json!({"last": 2, "before": before})).await;
    assert_eq!(user_ids(&previous), members[3..5].to_vec());

    let newest = page_through(
        &app,
        &admin,
        json!({"key": "CREATED", "descending": true}),
        4,
    )
    .await;
    let mut reversed = members.clone();
    reversed.reverse();
    assert_eq!(newest, reversed);

    // A save moves a card to the end of the UPDATED order.
    let token = app.user_token("member-0", &[("acme", "member")]);
    let values = json!({"values": [{"key": "note", "value": "changed"}]});
    app.ok(&token, SAVE, values).await;
    let by_update = page_through(&app, &admin, json!({"key": "UPDATED"}), 5).await;
    assert_eq!(by_update.last(), Some(&members[1]));
    assert_eq!(by_update.len(), members.len());
}

storage_test!(a_page_reads_every_value_the_admin_may_see);
async fn a_page_reads_every_value_the_admin_may_see(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    add_members(&app, 0, 1).await;
    let page = page(&app, &admin, json!({"first": 10})).await;
    let member = &page["edges"][1]["node"];
    assert!(keys(member).contains(&"secret"), "admins see every field");
    let note = member["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "note")
        .unwrap();
    assert_eq!(note["json"], "note 0");
}

storage_test!(members_list_cards_only_while_the_directory_is_open_and_only_readable_fields);
async fn members_list_cards_only_while_the_directory_is_open_and_only_readable_fields(
    app: TestApp,
) {
    let admin = admin_with_fields(&app).await;
    add_members(&app, 0, 2).await;
    let member = app.user_token("member-0", &[("acme", "member")]);

    let closed = call(&app, &member, json!({})).await;
    assert_eq!(error_code(&closed), "FORBIDDEN", "{closed}");
    assert!(error_message(&closed).contains("member directory"));
    // Members cannot open it themselves.
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: OPEN,
            variables: json!({"on": true}),
            ..Call::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    let opened = app.ok(&admin, OPEN, json!({"on": true})).await;
    assert_eq!(opened["setMemberDirectory"]["memberDirectory"], true);
    let page = page(&app, &member, json!({"first": 10})).await;
    assert_eq!(page["totalCount"], 3);
    let other = &page["edges"][2]["node"];
    assert!(keys(other).contains(&"note"), "member access READ: shown");
    assert!(
        !keys(other).contains(&"secret"),
        "member access HIDDEN: absent"
    );

    app.ok(&admin, OPEN, json!({"on": false})).await;
    let closed = call(&app, &member, json!({})).await;
    assert_eq!(
        error_code(&closed),
        "FORBIDDEN",
        "closing takes effect at once"
    );
}

storage_test!(the_directory_shows_only_the_active_tenants_cards);
async fn the_directory_shows_only_the_active_tenants_cards(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let ours = add_members(&app, 0, 2).await;
    let stranger = app.user_token("eve", &[("globex", "admin")]);
    app.user_id(&stranger).await;
    let theirs = page(&app, &stranger, json!({})).await;
    assert_eq!(theirs["totalCount"], 1, "only globex's own admin");
    assert!(user_ids(&theirs).iter().all(|id| !ours.contains(id)));

    // A cursor of acme's directory lists nothing of acme in globex.
    let acme = page(&app, &admin, json!({"first": 1})).await;
    let cursor = acme["pageInfo"]["endCursor"].clone();
    let crossed = page(&app, &stranger, json!({"first": 10, "after": cursor})).await;
    assert!(user_ids(&crossed).iter().all(|id| !ours.contains(id)));

    // Naming acme in X-Tenant-Id without a membership there is refused.
    let body = app
        .graphql(Call {
            token: Some(&stranger),
            tenant: Some("acme"),
            query: PAGE,
            variables: json!({}),
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

storage_test!(odd_paging_arguments_are_bad_user_input);
async fn odd_paging_arguments_are_bad_user_input(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let first = page(&app, &admin, json!({"first": 1})).await;
    let cursor = first["pageInfo"]["endCursor"].clone();
    let long = "A".repeat(100_000);
    for vars in [
        json!({"first": -1}),
        json!({"first": 101}),
        json!({"first": 1, "last": 1}),
        json!({"after": "not a cursor"}),
        json!({"after": "\u{0}"}),
        json!({"after": long}),
        json!({"before": "Zm9v"}),
        json!({"after": cursor, "order": {"key": "UPDATED"}}),
    ] {
        let body = call(&app, &admin, vars.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{vars}: {body}");
    }
}

storage_test!(backend a_page_of_100_costs_as_many_statements_as_a_page_of_10);
async fn a_page_of_100_costs_as_many_statements_as_a_page_of_10(backend: Backend) {
    let counter = StatementCounter::default();
    let app = TestApp::spawn_with(backend, |config| {
        config.statement_counter = Some(counter.clone());
    })
    .await;
    let admin = admin_with_fields(&app).await;
    add_members(&app, 0, 100).await;
    // Plain, searched, and searched and filtered pages: each costs the same for 10 and 100.
    for (search, filter) in [
        (Value::Null, Value::Null),
        (
            json!("note"),
            json!({"roles": ["MEMBER"], "fields": [{"key": "note", "isSet": true}]}),
        ),
    ] {
        let mut costs = Vec::new();
        for size in [10, 100] {
            let vars = json!({"first": size, "search": search, "filter": filter});
            let before = counter.count();
            let body = app
                .graphql(Call {
                    token: Some(&admin),
                    query: COUNTED,
                    variables: vars,
                    ..Call::default()
                })
                .await;
            costs.push(counter.count() - before);
            assert!(body.get("errors").is_none(), "{body}");
            assert_eq!(user_ids(&body["data"]["profiles"]).len(), size as usize);
        }
        assert_eq!(
            costs[0], costs[1],
            "statements for 10 and 100 cards: {costs:?}"
        );
    }
}

const COUNTED: &str = "query($first: Int, $search: String, $filter: ProfileFilter) {
    profiles(first: $first, search: $search, filter: $filter) {
        totalCount edges { cursor node { userId values { key json } } } } }";

storage_test!(paging_holds_while_members_join_and_save);
async fn paging_holds_while_members_join_and_save(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let mut existing = vec![app.user_id(&admin).await];
    existing.extend(add_members(&app, 0, 12).await);
    existing.extend(add_named(&app, 0, 8).await);

    let orders = [
        ("CREATED", false),
        ("CREATED", true),
        ("DISPLAY_NAME", false),
        ("DISPLAY_NAME", true),
    ];
    for (round, (key, descending)) in orders.into_iter().enumerate() {
        let order = json!({"key": key, "descending": descending});
        let writes = async {
            add_members(&app, 1000 * (round + 1), 4).await;
            add_named(&app, 1000 * (round + 1), 4).await;
            for index in 0..4 {
                let token = app.user_token(&format!("member-{index}"), &[("acme", "member")]);
                let values =
                    json!({"values": [{"key": "note", "value": format!("saved {round}")}]});
                app.ok(&token, SAVE, values).await;
            }
        };
        let paging = async {
            let mut seen = Vec::new();
            let mut after = Value::Null;
            loop {
                let vars = json!({"first": 2, "after": after, "order": order});
                let page = page(&app, &admin, vars).await;
                seen.extend(user_ids(&page));
                if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    return seen;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
        };
        let (seen, ()) = tokio::join!(paging, writes);
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no card twice: {seen:?}");
        for id in &existing {
            assert!(seen.contains(id), "{id} skipped in {order}");
        }
    }
}

/// Signs `count` members with names in several scripts into acme; returns their user ids.
async fn add_named(app: &TestApp, from: usize, count: usize) -> Vec<String> {
    let names = ["Zoë", "Émile", "anna", "Алёна", "李", "Ωmega", "Bob"];
    let mut ids = Vec::new();
    for index in from..from + count {
        let name = format!("{} {index}", names[index % names.len()]);
        let subject = format!("named-{index}");
        let token = member_named(app, &subject, &name, &format!("{subject}@example.com")).await;
        ids.push(app.user_id(&token).await);
    }
    ids
}

const SEARCH: &str = "query($search: String) {
    profiles(first: 100, search: $search) { totalCount edges { node { userId } } } }";

const HIDE_FROM_MEMBERS: &str = "mutation($id: ID!) {
    updateFieldDefinition(id: $id, input: {memberAccess: HIDDEN}) { key } }";

/// Signs a member into acme with identity claims from the provider; returns the token.
async fn member_named(app: &TestApp, subject: &str, name: &str, email: &str) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert("name".into(), json!(name));
    claims.insert("email".into(), json!(email));
    claims.insert("preferred_username".into(), json!(subject));
    let token = app.token(subject, &[("acme", "member")], false, 3600, claims);
    app.user_id(&token).await;
    token
}

async fn search(app: &TestApp, token: &str, text: &str) -> Value {
    app.graphql(Call {
        token: Some(token),
        query: SEARCH,
        variables: json!({"search": text}),
        ..Call::default()
    })
    .await
}

/// What a search finds, checked to be the same both ways a card can match: by its search
/// document (every stale one rebuilt first) and by its stored values (every document made
/// stale by a bump of the search versions, as a change of field rules does).
async fn found(app: &TestApp, token: &str, text: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    use userprofile::profiles::search_rebuild;

    for tenant in search_rebuild::stale_tenants(&app.db).await.unwrap() {
        search_rebuild::rebuild(&app.db, tenant).await.unwrap();
    }
    let by_documents = found_once(app, token, text).await;
    app.db
        .execute_unprepared("UPDATE tenants SET search_version = search_version + 1")
        .await
        .unwrap();
    let by_values = found_once(app, token, text).await;
    assert_eq!(
        by_documents, by_values,
        "{text:?}: documents and values disagree"
    );
    by_documents
}

async fn found_once(app: &TestApp, token: &str, text: &str) -> Vec<String> {
    let body = search(app, token, text).await;
    assert!(body.get("errors").is_none(), "{text:?}: {body}");
    let page = &body["data"]["profiles"];
    let ids = user_ids(page);
    assert_eq!(page["totalCount"], ids.len(), "{text:?}");
    ids
}

async fn search_error(app: &TestApp, token: &str, text: &str) -> String {
    error_code(&search(app, token, text).await).to_owned()
}

async fn save(app: &TestApp, token: &str, key: &str, value: &str) {
    let values = json!({"values": [{"key": key, "value": value}]});
    app.ok(token, SAVE, values).await;
}

storage_test!(quick_search_ignores_case_and_accents_in_any_script);
async fn quick_search_ignores_case_and_accents_in_any_script(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let zoe = member_named(&app, "zoe", "Zoë Müller", "zoe@example.com").await;
    let alena = member_named(&app, "alena", "Алёна Петрова", "alena@example.org").await;
    let li = member_named(&app, "li", "李小龙", "li@example.net").await;
    save(&app, &li, "note", "Lives in 北京, likes Ñandú").await;
    let (zoe, alena, li) = (
        app.user_id(&zoe).await,
        app.user_id(&alena).await,
        app.user_id(&li).await,
    );

    for (search, expected) in [
        ("zoe", vec![&zoe]),
        ("MULLER", vec![&zoe]),
        ("Müll", vec![&zoe]),
        ("  zoë   müller ", vec![&zoe]),
        ("алена", vec![&alena]),
        ("ПЕТРОВ", vec![&alena]),
        ("小龙", vec![&li]),
        ("北京", vec![&li]),
        ("nandu", vec![&li]),
        ("example.org", vec![&alena]),
        ("alena@", vec![&alena]),
        ("%", vec![]),
        ("_", vec![]),
        ("nobody-has-this", vec![]),
    ] {
        let ids = found(&app, &admin, search).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids, expected, "{search:?}");
    }
    assert_eq!(
        found(&app, &admin, "").await.len(),
        4,
        "an empty search lists all"
    );

    // A changed value is searched, the old one no longer.
    let token = app.user_token("li", &[("acme", "member")]);
    save(&app, &token, "note", "moved to Paris").await;
    assert!(found(&app, &admin, "北京").await.is_empty());
    assert_eq!(found(&app, &admin, "paris").await, [li]);
}

storage_test!(hidden_fields_never_make_a_card_match);
async fn hidden_fields_never_make_a_card_match(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let alice = member_named(&app, "alice", "Alice Liddell", "alice@wonder.land").await;
    let bob = member_named(&app, "bob", "Bob Builder", "bob@example.com").await;
    let alice_id = app.user_id(&alice).await;
    let secret = json!({"values": [{"key": "secret", "value": "Classified Ünicorn"}]});
    app.ok(
        &admin,
        "mutation($id: ID!, $values: [FieldValueInput!]!) {
        updateProfile(userId: $id, input: {values: $values}) { version } }",
        json!({"id": alice_id, "values": secret["values"]}),
    )
    .await;
    app.ok(&admin, OPEN, json!({"on": true})).await;

    assert_eq!(
        found(&app, &admin, "unicorn").await,
        std::slice::from_ref(&alice_id)
    );
    assert!(
        found(&app, &bob, "unicorn").await.is_empty(),
        "secret is HIDDEN from members"
    );
    assert_eq!(
        found(&app, &bob, "wonder.land").await,
        std::slice::from_ref(&alice_id)
    );

    // Once email is hidden from members, the provider's email no longer matches for them.
    let fields = app
        .ok(&admin, "{ fieldDefinitions { id key } }", json!({}))
        .await;
    let email = fields["fieldDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "email")
        .unwrap()["id"]
        .clone();
    app.ok(&admin, HIDE_FROM_MEMBERS, json!({"id": email}))
        .await;
    // At once, whether or not the documents built under the old rules are rebuilt yet.
    assert!(found_once(&app, &bob, "wonder.land").await.is_empty());
    assert!(found(&app, &bob, "wonder.land").await.is_empty());
    assert_eq!(found(&app, &admin, "wonder.land").await, [alice_id]);
}

storage_test!(odd_search_texts_are_refused_or_harmless);
async fn odd_search_texts_are_refused_or_harmless(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    member_named(&app, "zoe", "Zoë", "zoe@example.com").await;
    assert_eq!(
        search_error(&app, &admin, "a\u{0}b").await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        search_error(&app, &admin, &"é".repeat(201)).await,
        "BAD_USER_INPUT"
    );
    for odd in ["' OR 1=1 --", "\\", "%%", "\u{202e}zoe", "🦀🦀🦀", "ｚｏｅ"] {
        let ids = found(&app, &admin, odd).await;
        assert!(ids.len() <= 1, "{odd:?}: {ids:?}");
    }
    assert_eq!(
        found(&app, &admin, "ｚｏｅ").await.len(),
        1,
        "full-width folds too"
    );
    let blank = found(&app, &admin, "\u{1f}\t ").await;
    assert_eq!(blank.len(), 2, "nothing left after folding: no search");
}

const FILTER: &str = "query($filter: ProfileFilter, $search: String) {
    profiles(first: 100, filter: $filter, search: $search) {
        totalCount edges { node { userId } } } }";

/// Defines typed fields (all readable by members but `salary`) and three members with values.
async fn typed_cards(app: &TestApp) -> (String, Vec<String>) {
    let admin = admin_with_fields(app).await;
    let option =
        |v: &str| json!({"value": v, "labels": [{"locale": "en", "text": v.to_uppercase()}]});
    for input in [
        json!({"key": "age", "kind": "INTEGER", "labels": []}),
        json!({"key": "started", "kind": "DATE", "labels": []}),
        json!({"key": "remote", "kind": "SWITCH", "labels": []}),
        json!({"key": "team", "kind": "SINGLE_CHOICE", "labels": [],
            "options": [option("red"), option("blue")]}),
        json!({"key": "langs", "kind": "MULTI_CHOICE", "labels": [],
            "options": [option("en"), option("fr"), option("de")]}),
        json!({"key": "salary", "kind": "NUMBER", "labels": [], "memberAccess": "HIDDEN"}),
    ] {
        app.ok(&admin, CREATE_FIELD, json!({"input": input})).await;
    }
    let cards = [
        json!([
            ["age", 30],
            ["started", "2020-01-15"],
            ["remote", true],
            ["team", "red"],
            ["langs", ["en", "fr"]],
            ["salary", 5000.5]
        ]),
        json!([
            ["age", 45],
            ["started", "2023-06-01"],
            ["remote", false],
            ["team", "blue"],
            ["langs", ["de"]],
            ["salary", 9000]
        ]),
        json!([["note", "nothing else"]]),
    ];
    let mut ids = Vec::new();
    for (index, card) in cards.iter().enumerate() {
        let token = app.user_token(&format!("typed-{index}"), &[("acme", "member")]);
        let values: Vec<Value> = card
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| json!({"key": kv[0], "value": kv[1]}))
            .collect();
        app.ok(&token, SAVE, json!({"values": values})).await;
        ids.push(app.user_id(&token).await);
    }
    (admin, ids)
}

async fn filtered(app: &TestApp, token: &str, filter: Value) -> Value {
    app.graphql(Call {
        token: Some(token),
        query: FILTER,
        variables: json!({"filter": filter}),
        ..Call::default()
    })
    .await
}

storage_test!(filters_combine_and_are_typed_by_kind);
async fn filters_combine_and_are_typed_by_kind(app: TestApp) {
    let (admin, ids) = typed_cards(&app).await;
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let ada = app.user_id(&admin).await;
    let field = |f: Value| json!({"fields": [f]});
    for (filter, expected) in [
        (field(json!({"key": "age", "min": 40})), vec![b]),
        (
            field(json!({"key": "age", "min": 30, "max": 45})),
            vec![a, b],
        ),
        (
            field(json!({"key": "started", "max": "2021-12-31"})),
            vec![a],
        ),
        (field(json!({"key": "remote", "equals": true})), vec![a]),
        (field(json!({"key": "remote", "equals": false})), vec![b]),
        (
            field(json!({"key": "team", "oneOf": ["red", "blue"]})),
            vec![a, b],
        ),
        (field(json!({"key": "team", "equals": "blue"})), vec![b]),
        (
            field(json!({"key": "langs", "containsAny": ["fr", "de"]})),
            vec![a, b],
        ),
        (
            field(json!({"key": "langs", "containsAll": ["en", "fr"]})),
            vec![a],
        ),
        (
            field(json!({"key": "langs", "containsAll": ["en", "de"]})),
            vec![],
        ),
        (field(json!({"key": "age", "isSet": false})), vec![c, &ada]),
        (field(json!({"key": "note", "isSet": true})), vec![c]),
        (field(json!({"key": "salary", "min": 6000})), vec![b]),
        (json!({"roles": ["ADMIN"]}), vec![&ada]),
        (json!({"roles": ["OWNER"]}), vec![]),
        (
            json!({"roles": ["MEMBER"], "fields": [{"key": "age", "min": 1},
                {"key": "team", "equals": "red"}]}),
            vec![a],
        ),
    ] {
        let body = filtered(&app, &admin, filter.clone()).await;
        assert!(body.get("errors").is_none(), "{filter}: {body}");
        let mut found = user_ids(&body["data"]["profiles"]);
        found.sort();
        let mut expected: Vec<String> = expected.into_iter().cloned().collect();
        expected.sort();
        assert_eq!(found, expected, "{filter}");
    }

    // Search and filter together.
    let body = app
        .graphql(Call {
            token: Some(&admin),
            query: FILTER,
            variables: json!({"search": "nothing", "filter": field(json!({"key": "age", "isSet": false}))}),
            ..Call::default()
        })
        .await;
    assert_eq!(
        user_ids(&body["data"]["profiles"]),
        std::slice::from_ref(c),
        "{body}"
    );
}

storage_test!(bad_filters_are_refused_with_their_field);
async fn bad_filters_are_refused_with_their_field(app: TestApp) {
    let (admin, _) = typed_cards(&app).await;
    app.ok(&admin, OPEN, json!({"on": true})).await;
    let member = app.user_token("typed-0", &[("acme", "member")]);
    let field = |f: Value| json!({"fields": [f]});

    let hidden = filtered(&app, &member, field(json!({"key": "salary", "min": 1}))).await;
    assert_eq!(error_code(&hidden), "FORBIDDEN", "{hidden}");
    assert!(error_message(&hidden).contains("salary"));
    let secret = filtered(
        &app,
        &member,
        field(json!({"key": "secret", "isSet": true})),
    )
    .await;
    assert_eq!(error_code(&secret), "FORBIDDEN", "{secret}");

    for filter in [
        field(json!({"key": "nope", "isSet": true})),
        field(json!({"key": "age", "min": "old"})),
        field(json!({"key": "age", "equals": "thirty"})),
        field(json!({"key": "started", "min": "yesterday"})),
        field(json!({"key": "remote", "equals": "yes"})),
        field(json!({"key": "team", "equals": "green"})),
        field(json!({"key": "langs", "containsAny": ["xx"]})),
        field(json!({"key": "team", "containsAny": ["red"]})),
        field(json!({"key": "note", "min": 1})),
        field(json!({"key": "age"})),
        field(json!({"key": "age", "isSet": true, "min": 1})),
    ] {
        let body = filtered(&app, &admin, filter.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{filter}: {body}");
    }
}

storage_test!(a_provider_value_the_card_no_longer_shows_never_matches);
async fn a_provider_value_the_card_no_longer_shows_never_matches(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let zoe = member_named(&app, "zoe", "Zoë Old-Name", "zoe@example.com").await;
    let id = app.user_id(&zoe).await;
    assert_eq!(
        found(&app, &admin, "old-name").await,
        std::slice::from_ref(&id)
    );
    save(&app, &zoe, "name", "Zoë New-Name").await;
    assert!(found(&app, &admin, "old-name").await.is_empty());
    assert_eq!(
        found(&app, &admin, "new-name").await,
        std::slice::from_ref(&id)
    );
}

/// User ids in the order of the run of cards without a sort value (by user id).
fn by_id(ids: &[&String], descending: bool) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).clone()).collect();
    ids.sort();
    if descending {
        ids.reverse();
    }
    ids
}

/// Pages backward through the whole directory in `order`, `size` cards at a time.
async fn page_back(app: &TestApp, token: &str, order: Value, size: i32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut before = Value::Null;
    loop {
        let vars = json!({"last": size, "before": before, "order": order});
        let page = page(app, token, vars).await;
        let mut ids = user_ids(&page);
        ids.extend(seen);
        seen = ids;
        if !page["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            return seen;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
}

storage_test!(the_directory_sorts_by_display_name_nameless_cards_last);
async fn the_directory_sorts_by_display_name_nameless_cards_last(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let mut named = Vec::new();
    for (subject, name) in [
        ("zoe", "Zoë Müller"),
        ("alena", "Алёна Петрова"),
        ("emile", "Émile Zola"),
        ("anna", "anna Berg"),
        ("adams", "Zoe Adams"),
    ] {
        let token = member_named(&app, subject, name, &format!("{subject}@example.com")).await;
        named.push(app.user_id(&token).await);
    }
    let [zoe, alena, emile, anna, adams] = named.try_into().unwrap();
    let nameless = add_members(&app, 0, 2).await;
    let admin_id = app.user_id(&admin).await;
    let missing = [&admin_id, &nameless[0], &nameless[1]];

    let mut ascending = vec![
        anna.clone(),
        emile.clone(),
        adams.clone(),
        zoe.clone(),
        alena.clone(),
    ];
    ascending.extend(by_id(&missing, false));
    let mut descending = vec![alena, zoe.clone(), adams, emile.clone(), anna];
    descending.extend(by_id(&missing, true));
    for size in [1, 2, 3, 100] {
        let asc = json!({"key": "DISPLAY_NAME"});
        assert_eq!(
            page_through(&app, &admin, asc.clone(), size).await,
            ascending
        );
        assert_eq!(page_back(&app, &admin, asc, size).await, ascending);
        let desc = json!({"key": "DISPLAY_NAME", "descending": true});
        assert_eq!(
            page_through(&app, &admin, desc.clone(), size).await,
            descending
        );
        assert_eq!(page_back(&app, &admin, desc, size).await, descending);
    }

    // A saved name and a name from a new sign-in both move the card.
    let token = app.user_token("zoe", &[("acme", "member")]);
    save(&app, &token, "name", "Aaron Zoë").await;
    let mut claims = serde_json::Map::new();
    claims.insert("name".into(), json!("Bob Émile"));
    let token = app.token("emile", &[("acme", "member")], false, 3599, claims);
    app.user_id(&token).await;
    let order = page_through(&app, &admin, json!({"key": "DISPLAY_NAME"}), 10).await;
    assert_eq!(order[..3], [zoe, ascending[0].clone(), emile]);
}

storage_test!(the_directory_sorts_by_a_field_of_a_sortable_kind);
async fn the_directory_sorts_by_a_field_of_a_sortable_kind(app: TestApp) {
    let (admin, ids) = typed_cards(&app).await;
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let admin_id = app.user_id(&admin).await;
    for (field, low, high) in [
        ("age", a, b),
        ("started", a, b),
        ("remote", b, a),
        ("team", b, a),
        ("salary", a, b),
    ] {
        for descending in [false, true] {
            let order = json!({"key": "FIELD", "field": field, "descending": descending});
            let mut expected = match descending {
                false => vec![low.clone(), high.clone()],
                true => vec![high.clone(), low.clone()],
            };
            expected.extend(by_id(&[c, &admin_id], descending));
            assert_eq!(
                page_through(&app, &admin, order.clone(), 1).await,
                expected,
                "{order}"
            );
            assert_eq!(page_back(&app, &admin, order.clone(), 3).await, expected);
        }
    }
}

storage_test!(odd_orders_are_refused_naming_their_field);
async fn odd_orders_are_refused_naming_their_field(app: TestApp) {
    let (admin, _) = typed_cards(&app).await;
    app.ok(&admin, OPEN, json!({"on": true})).await;
    let member = app.user_token("typed-0", &[("acme", "member")]);
    for order in [
        json!({"key": "FIELD"}),
        json!({"key": "CREATED", "field": "age"}),
        json!({"key": "FIELD", "field": "nope"}),
        json!({"key": "FIELD", "field": "langs"}),
    ] {
        let body = call(&app, &admin, json!({"order": order})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{order}: {body}");
    }
    for (order, named) in [
        (json!({"key": "FIELD", "field": "salary"}), "salary"),
        (json!({"key": "FIELD", "field": "secret"}), "secret"),
    ] {
        let body = call(&app, &member, json!({"order": order})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{order}: {body}");
        assert!(error_message(&body).contains(named), "{body}");
    }
    // A cursor of one order is refused by another.
    let first = page(
        &app,
        &admin,
        json!({"first": 1, "order": {"key": "DISPLAY_NAME"}}),
    )
    .await;
    let cursor = first["pageInfo"]["endCursor"].clone();
    let other = json!({"after": cursor, "order": {"key": "FIELD", "field": "age"}});
    assert_eq!(
        error_code(&call(&app, &admin, other).await),
        "BAD_USER_INPUT"
    );

    // Members may sort by display name only while they may read every name it is made of.
    page(&app, &member, json!({"order": {"key": "DISPLAY_NAME"}})).await;
    let fields = app
        .ok(&admin, "{ fieldDefinitions { id key } }", json!({}))
        .await;
    let name = fields["fieldDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "family_name")
        .unwrap()["id"]
        .clone();
    app.ok(&admin, HIDE_FROM_MEMBERS, json!({"id": name})).await;
    let body = call(&app, &member, json!({"order": {"key": "DISPLAY_NAME"}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(error_message(&body).contains("family_name"), "{body}");
}

storage_test!(the_backfill_makes_rows_from_before_the_search_searchable_and_sorted);
async fn the_backfill_makes_rows_from_before_the_search_searchable_and_sorted(app: TestApp) {
    use sea_orm::ConnectionTrait;

    let admin = admin_with_fields(&app).await;
    let zoe = member_named(&app, "zoe", "Zoë Müller", "zoe@example.com").await;
    save(&app, &zoe, "note", "Ñandú lover").await;
    let zoe = app.user_id(&zoe).await;
    // As rows written before the search and name-order migrations were left.
    for statement in [
        "UPDATE field_values SET folded = NULL",
        "UPDATE users SET folded_identity = NULL",
        "UPDATE memberships SET sort_name = NULL, search_member = NULL, search_admin = NULL, \
         search_operator = NULL, search_version = 0",
    ] {
        app.db.execute_unprepared(statement).await.unwrap();
    }
    assert!(found(&app, &admin, "nandu").await.is_empty());
    assert!(found(&app, &admin, "muller").await.is_empty());

    userprofile::profiles::backfill::fill(&app.db)
        .await
        .unwrap();
    assert_eq!(
        found(&app, &admin, "nandu").await,
        std::slice::from_ref(&zoe)
    );
    assert_eq!(
        found(&app, &admin, "MÜLLER").await,
        std::slice::from_ref(&zoe)
    );
    let by_name = page_through(&app, &admin, json!({"key": "DISPLAY_NAME"}), 10).await;
    assert_eq!(by_name[0], zoe, "the named card before the nameless admin");
}

storage_test!(short_searches_scan_and_longer_ones_use_the_index);
async fn short_searches_scan_and_longer_ones_use_the_index(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let zoe = member_named(&app, "zoe", "Zoë Müller", "zoe@example.com").await;
    save(&app, &zoe, "note", "Ñandú lover").await;
    let zoe = app.user_id(&zoe).await;
    let me = std::slice::from_ref(&zoe);
    // One and two characters: below a trigram, served by the LIKE scan on SQLite.
    for text in ["zo", "Ü", "ñ", "lo", "zoe", "nandú", "andu lov"] {
        assert_eq!(found(&app, &admin, text).await, me, "{text:?}");
    }
    assert!(found(&app, &admin, "zx").await.is_empty());

    use sea_orm::ConnectionTrait;
    if app.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    // The FTS5 tables follow every write through their triggers.
    let hits = |table: &'static str, text: &'static str| {
        let db = app.db.clone();
        async move {
            use sea_orm::Statement;
            let sql = format!("SELECT count(*) AS n FROM {table} WHERE {table} MATCH '\"{text}\"'");
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(hits("field_values_search", "nandu").await, 1);
    assert_eq!(hits("users_search", "muller").await, 1);
    let token = app.user_token("zoe", &[("acme", "member")]);
    save(&app, &token, "note", "moved to Paris").await;
    assert_eq!(hits("field_values_search", "nandu").await, 0);
    assert_eq!(hits("field_values_search", "paris").await, 1);
    assert!(found(&app, &admin, "nandu").await.is_empty());
}

const TILES: &str = "{ profiles(first: 10) {
    edges { node { userId displayName role avatar { url } } } } }";

storage_test!(grid_tiles_show_display_name_and_role_from_what_the_caller_may_see);
/// A tile's display name is made only of name values the caller may see: once `name`, the
/// given and family names are hidden from members, a member's tile falls back to the username.
async fn grid_tiles_show_display_name_and_role_from_what_the_caller_may_see(app: TestApp) {
    let admin = admin_with_fields(&app).await;
    let zoe = member_named(&app, "zoe", "Zoë Müller", "zoe@example.com").await;
    let zoe_id = app.user_id(&zoe).await;
    app.ok(&admin, OPEN, json!({"on": true})).await;
    let tile = |body: &Value| -> Value {
        body["profiles"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["userId"] == zoe_id.as_str())
            .unwrap()["node"]
            .clone()
    };
    let seen = tile(&app.ok(&admin, TILES, json!({})).await);
    assert_eq!(
        (&seen["displayName"], &seen["role"], &seen["avatar"]),
        (&json!("Zoë Müller"), &json!("MEMBER"), &Value::Null)
    );
    let own = app.ok(&admin, TILES, json!({})).await;
    let ada = own["profiles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["role"] == "ADMIN");
    assert!(ada.is_some(), "{own}");

    let fields = app
        .ok(&admin, "{ fieldDefinitions { id key } }", json!({}))
        .await;
    for field in fields["fieldDefinitions"].as_array().unwrap() {
        if ["name", "given_name", "family_name"].contains(&field["key"].as_str().unwrap()) {
            app.ok(&admin, HIDE_FROM_MEMBERS, json!({"id": field["id"]}))
                .await;
        }
    }
    let bob = member_named(&app, "bob", "Bob Builder", "bob@example.com").await;
    let as_member = tile(&app.ok(&bob, TILES, json!({})).await);
    assert_eq!(as_member["displayName"], "zoe", "{as_member}");
    let as_admin = tile(&app.ok(&admin, TILES, json!({})).await);
    assert_eq!(as_admin["displayName"], "Zoë Müller");
}
