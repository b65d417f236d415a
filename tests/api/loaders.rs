//! Lists of cards load through per-request data loaders: the statements a page costs do not
//! grow with the number of members on it.

use serde_json::{Value, json};
use userprofile::db::StatementCounter;

use crate::common::{Backend, TestApp};
use crate::fields::TEMPLATES;
use crate::files::{png, upload};
use crate::storage_test;

const SAVE: &str = "mutation($values: [FieldValueInput!]!) {
    updateMyProfile(input: {values: $values}) { version } }";

const MEMBERS_WITH_CARDS: &str = "{ members { userId role firstName
    card { version values { key json file { id url } } } } }";

/// Members who also upload an avatar: files load in the same batch as values.
const WITH_AVATAR: usize = 3;

async fn add_member(app: &TestApp, index: usize) {
    let token = app.user_token(&format!("member-{index}"), &[("acme", "member")]);
    let title = json!({"values": [{"key": "job_title", "value": format!("Engineer {index}")}]});
    app.ok(&token, SAVE, title).await;
    if index < WITH_AVATAR {
        let body = upload(app, &token, "avatar", "me.png", "image/png", png(8, 8)).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
}

/// Runs the members query and returns its members and the statements it cost.
async fn members_with_cards(
    app: &TestApp,
    counter: &StatementCounter,
    admin: &str,
) -> (Vec<Value>, u64) {
    let before = counter.count();
    let body = app.ok(admin, MEMBERS_WITH_CARDS, json!({})).await;
    let cost = counter.count() - before;
    (body["members"].as_array().unwrap().clone(), cost)
}

storage_test!(backend a_page_of_cards_costs_as_many_statements_for_100_members_as_for_10);
async fn a_page_of_cards_costs_as_many_statements_for_100_members_as_for_10(backend: Backend) {
    let counter = StatementCounter::default();
    let app = TestApp::spawn_with(backend, |config| {
        config.statement_counter = Some(counter.clone());
    })
    .await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["job_title", "avatar"]}))
        .await;

    let mut costs = Vec::new();
    let mut added = 0;
    for size in [10, 100] {
        // The admin is a member too.
        while added + 1 < size {
            add_member(&app, added).await;
            added += 1;
        }
        let (members, cost) = members_with_cards(&app, &counter, &admin).await;
        assert_eq!(members.len(), size);
        let avatars = members
            .iter()
            .filter(|m| value(m, "avatar").is_some_and(|v| v["file"]["url"].is_string()))
            .count();
        assert_eq!(
            avatars, WITH_AVATAR,
            "every uploaded avatar comes with its file"
        );
        let titled = members
            .iter()
            .filter(|m| value(m, "job_title").is_some_and(|v| v["json"].is_string()))
            .count();
        assert_eq!(
            titled,
            size - 1,
            "every member's own value is on their card"
        );
        costs.push(cost);
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 10 and for 100 members: {costs:?}"
    );
}

fn value<'a>(member: &'a Value, key: &str) -> Option<&'a Value> {
    member["card"]["values"]
        .as_array()?
        .iter()
        .find(|v| v["key"] == key)
}

storage_test!(backend a_cached_me_costs_one_statement_and_shows_a_save_at_once);
/// `me` with its card, once the card is kept, costs the one statement that reads the caller
/// (user, memberships, tenants): the card's version in it is what keeps the kept values fresh,
/// so a save shows on the next read.
async fn a_cached_me_costs_one_statement_and_shows_a_save_at_once(backend: Backend) {
    let counter = StatementCounter::default();
    let app = TestApp::spawn_with(backend, |config| {
        config.statement_counter = Some(counter.clone());
    })
    .await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["job_title"]}))
        .await;
    let token = app.user_token("mia", &[("acme", "member")]);
    let me = "{ me { id username email firstName lastName profile { values { key json } } } }";
    let title = |body: &Value| {
        let values = body["me"]["profile"]["values"].as_array().unwrap().clone();
        values
            .into_iter()
            .find(|v| v["key"] == "job_title")
            .map(|v| v["json"].clone())
    };
    app.ok(&token, me, json!({})).await;
    for _ in 0..3 {
        let before = counter.count();
        app.ok(&token, me, json!({})).await;
        assert_eq!(counter.count() - before, 1, "one statement per cached me");
    }
    let saved = json!({"values": [{"key": "job_title", "value": "Pilot"}]});
    app.ok(&token, SAVE, saved).await;
    let body = app.ok(&token, me, json!({})).await;
    assert_eq!(title(&body), Some(json!("Pilot")), "{body}");
}
