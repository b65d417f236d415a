//! The card: filling it in, validation, versions, access rules on every path, audit.

use serde_json::{Value, json};

use crate::common::{Call, TestApp, error_code, error_message};
use crate::fields::{CREATE, TEMPLATES, UPDATE, field_id, text_field};
use crate::storage_test;

const SAVE: &str = "mutation($values: [FieldValueInput!]!, $expected: Int, $locale: String) {
    updateMyProfile(input: {values: $values, expectedVersion: $expected}, locale: $locale) {
      version locale direction values { key text boolean integer number date choice { value label { text } } choices { value } json label { text direction } editable }
    } }";
const SAVE_OTHER: &str = "mutation($id: ID!, $values: [FieldValueInput!]!) {
    updateProfile(userId: $id, input: {values: $values}) { version values { key json } } }";
const MY_CARD: &str = "query($locale: String) { me { firstName profile(locale: $locale) {
    version locale direction values { key json text label { text locale direction } editable } } } }";
const CARD: &str =
    "query($id: ID!) { profile(userId: $id) { version values { key json editable } } }";

fn value_of(card: &Value, key: &str) -> Option<Value> {
    card["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == key)
        .map(|v| v["json"].clone())
}

fn keys_of(card: &Value) -> Vec<String> {
    card["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn schema_with_templates(app: &TestApp, admin: &str) {
    let keys = [
        "job_title",
        "bio",
        "country",
        "phone",
        "linkedin",
        "tshirt_size",
        "skills",
        "start_date",
        "email_notifications",
        "years_of_experience",
        "hourly_rate",
    ];
    app.ok(admin, TEMPLATES, json!({"keys": keys})).await;
}

storage_test!(a_member_fills_in_the_card_in_arabic_and_english);
async fn a_member_fills_in_the_card_in_arabic_and_english(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    schema_with_templates(&app, &admin).await;
    let member = app.user_token("layla", &[("acme", "member")]);
    let values = json!([
        {"key": "job_title", "value": "  مهندسة برمجيات  "},
        {"key": "bio", "value": "أحب البرمجة.\nI love programming."},
        {"key": "country", "value": "eg"},
        {"key": "phone", "value": "+20 100 123 4567"},
        {"key": "tshirt_size", "value": "m"},
        {"key": "skills", "value": ["design", "leadership"]},
        {"key": "start_date", "value": "2024-02-29"},
        {"key": "email_notifications", "value": true},
        {"key": "years_of_experience", "value": 7},
        {"key": "given_name", "value": "ليلى"},
    ]);
    let saved = app
        .ok(&member, SAVE, json!({"values": values, "locale": "ar"}))
        .await["updateMyProfile"]
        .clone();
    assert_eq!(saved["version"], 1);
    assert_eq!(
        (saved["locale"].as_str(), saved["direction"].as_str()),
        (Some("ar"), Some("RTL"))
    );
    let job = saved["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "job_title")
        .unwrap()
        .clone();
    assert_eq!(job["text"], "مهندسة برمجيات", "trimmed");
    assert_eq!(
        job["label"],
        json!({"text": "المسمى الوظيفي", "direction": "RTL"})
    );
    assert_eq!(value_of(&saved, "country"), Some(json!("EG")));
    assert_eq!(value_of(&saved, "phone"), Some(json!("+201001234567")));
    assert_eq!(
        value_of(&saved, "skills"),
        Some(json!(["design", "leadership"]))
    );
    let size = saved["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "tshirt_size")
        .unwrap()
        .clone();
    assert_eq!(size["choice"]["value"], "m");

    let english = app.ok(&member, MY_CARD, json!({"locale": "en-US"})).await["me"].clone();
    assert_eq!(
        english["firstName"], "ليلى",
        "the card's edit is the first name"
    );
    let card = &english["profile"];
    assert_eq!(
        (card["locale"].as_str(), card["direction"].as_str()),
        (Some("en"), Some("LTR"))
    );
    let bio = card["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "bio")
        .unwrap()
        .clone();
    assert_eq!(bio["label"]["text"], "Bio");
    assert_eq!(bio["text"], "أحب البرمجة.\nI love programming.");
    assert_eq!(
        keys_of(card)
            .iter()
            .filter(|k| k.as_str() == "hourly_rate")
            .count(),
        1,
        "own private field is visible to the owner"
    );
}

storage_test!(every_invalid_value_is_reported_at_once_and_nothing_is_saved);
async fn every_invalid_value_is_reported_at_once_and_nothing_is_saved(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    schema_with_templates(&app, &admin).await;
    app.ok(&admin, CREATE, json!({"input": {"key": "desk", "kind": "SHORT_TEXT", "labels": [], "validation": {"pattern": "[A-Z]-[0-9]{3}"}, "required": true}})).await;
    let member = app.user_token("mia", &[("acme", "member")]);
    let values = json!([
        {"key": "job_title", "value": "Fine"},
        {"key": "country", "value": "XX"},
        {"key": "phone", "value": "0301234"},
        {"key": "linkedin", "value": "javascript:alert(1)"},
        {"key": "tshirt_size", "value": "xxxxl"},
        {"key": "start_date", "value": "2023-02-30"},
        {"key": "years_of_experience", "value": 3.5},
        {"key": "email_notifications", "value": "yes"},
        {"key": "desk", "value": "b204"},
        {"key": "no_such_field", "value": 1},
    ]);
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: SAVE,
            variables: json!({"values": values}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let problems: Vec<&str> = body["errors"][0]["extensions"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            "country",
            "phone",
            "linkedin",
            "tshirt_size",
            "start_date",
            "years_of_experience",
            "email_notifications",
            "desk",
            "no_such_field"
        ]
    );
    let card = app.ok(&member, MY_CARD, json!({})).await["me"]["profile"].clone();
    assert_eq!(card["version"], 0);
    assert_eq!(
        value_of(&card, "job_title"),
        Some(Value::Null),
        "all or nothing"
    );
    let clear_required = json!([{"key": "desk", "value": null}]);
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: SAVE,
            variables: json!({"values": clear_required}),
            ..Default::default()
        })
        .await;
    assert!(error_message(&body).contains("required"), "{body}");
}

storage_test!(hidden_and_locked_fields_hold_on_every_path);
async fn hidden_and_locked_fields_hold_on_every_path(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let secret = json!({"input": {"key": "salary_band", "kind": "SHORT_TEXT", "labels": [], "ownerAccess": "HIDDEN", "memberAccess": "HIDDEN"}});
    app.ok(&admin, CREATE, secret).await;
    let locked = json!({"input": {"key": "employee_no", "kind": "SHORT_TEXT", "labels": [], "ownerAccess": "READ"}});
    app.ok(&admin, CREATE, locked).await;
    let private = json!({"input": {"key": "home_city", "kind": "SHORT_TEXT", "labels": [], "memberAccess": "HIDDEN"}});
    app.ok(&admin, CREATE, private).await;
    let member = app.user_token("mia", &[("acme", "member")]);
    let mia = app.user_id(&member).await;
    app.ok(
        &member,
        SAVE,
        json!({"values": [{"key": "home_city", "value": "Lyon"}]}),
    )
    .await;
    app.ok(&admin, SAVE_OTHER, json!({"id": mia, "values": [{"key": "salary_band", "value": "B3"}, {"key": "employee_no", "value": "E-17"}]})).await;

    // The owner: the hidden field is absent (not null) in me, profile and userinfo.
    let own = app.ok(&member, MY_CARD, json!({})).await["me"]["profile"].clone();
    assert!(!keys_of(&own).contains(&"salary_band".to_owned()));
    assert_eq!(value_of(&own, "employee_no"), Some(json!("E-17")));
    let own_by_id = app.ok(&member, CARD, json!({"id": mia})).await;
    assert!(
        !own_by_id.to_string().contains("salary_band") && !own_by_id.to_string().contains("B3")
    );
    let userinfo: Value = app
        .client
        .get(format!("{}/userinfo", app.base_url))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        userinfo["custom_attributes"],
        json!({"employee_no": "E-17", "home_city": "Lyon"})
    );
    let by_key = app
        .ok(
            &member,
            "{ me { profile { value(key: \"salary_band\") { key } } } }",
            json!({}),
        )
        .await;
    assert_eq!(by_key["me"]["profile"]["value"], Value::Null);
    let definitions = app
        .ok(&member, "{ fieldDefinitions { key } }", json!({}))
        .await;
    assert!(!definitions.to_string().contains("salary_band"));

    // Writing: hidden and locked are FORBIDDEN, naming the field.
    for key in ["salary_band", "employee_no", "email"] {
        let body = app
            .graphql(Call {
                token: Some(&member),
                query: SAVE,
                variables: json!({"values": [{"key": key, "value": "x@example.com"}]}),
                ..Default::default()
            })
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{key}: {body}");
        assert!(error_message(&body).contains(key), "{body}");
    }
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: SAVE_OTHER,
            variables: json!({"id": mia, "values": [{"key": "employee_no", "value": "E-1"}]}),
            ..Default::default()
        })
        .await;
    assert_eq!(
        error_code(&body),
        "FORBIDDEN",
        "members cannot use the admin mutation"
    );

    // Another member sees neither the hidden nor the members-hidden field; the admin sees all.
    let colleague = app.user_token("carl", &[("acme", "member")]);
    let seen = app.ok(&colleague, CARD, json!({"id": mia})).await["profile"].clone();
    assert!(
        !keys_of(&seen).contains(&"salary_band".to_owned())
            && !keys_of(&seen).contains(&"home_city".to_owned())
    );
    assert!(
        seen["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["editable"] == false)
    );
    let body = app
        .graphql(Call {
            token: Some(&colleague),
            query: SAVE_OTHER,
            variables: json!({"id": mia, "values": [{"key": "home_city", "value": "Paris"}]}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let admin_view = app.ok(&admin, CARD, json!({"id": mia})).await["profile"].clone();
    assert_eq!(value_of(&admin_view, "salary_band"), Some(json!("B3")));
    assert_eq!(value_of(&admin_view, "home_city"), Some(json!("Lyon")));
}

storage_test!(another_tenants_cards_are_out_of_reach);
async fn another_tenants_cards_are_out_of_reach(app: TestApp) {
    let victim = app.user_token("vic", &[("acme", "member")]);
    let victim_id = app.user_id(&victim).await;
    let attacker = app.user_token("eve", &[("evil", "owner")]);
    let body = app
        .graphql(Call {
            token: Some(&attacker),
            query: CARD,
            variables: json!({"id": victim_id}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .graphql(Call {
            token: Some(&attacker),
            tenant: Some("acme"),
            query: CARD,
            variables: json!({"id": victim_id}),
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let write = json!({"id": victim_id, "values": [{"key": "name", "value": "pwned"}]});
    let body = app
        .graphql(Call {
            token: Some(&attacker),
            query: SAVE_OTHER,
            variables: write.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let operator = app.operator_token("crm", &["evil"]);
    let body = app
        .graphql(Call {
            token: Some(&operator),
            tenant: Some("acme"),
            query: SAVE_OTHER,
            variables: write,
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let userinfo = app
        .client
        .get(format!("{}/userinfo", app.base_url))
        .bearer_auth(&attacker)
        .header("X-Tenant-Id", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 403);
}

storage_test!(a_stale_version_is_a_conflict);
async fn a_stale_version_is_a_conflict(app: TestApp) {
    let member = app.user_token("mia", &[("acme", "member")]);
    let first = app
        .ok(
            &member,
            SAVE,
            json!({"values": [{"key": "nickname", "value": "M"}], "expected": 0}),
        )
        .await;
    assert_eq!(first["updateMyProfile"]["version"], 1);
    let body = app
        .graphql(Call {
            token: Some(&member),
            query: SAVE,
            variables: json!({"values": [{"key": "nickname", "value": "X"}], "expected": 0}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(error_message(&body).contains("version 1"), "{body}");
}

storage_test!(fifty_concurrent_writers_lose_no_update);
async fn fifty_concurrent_writers_lose_no_update(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(
        &admin,
        CREATE,
        json!({"input": {"key": "counter", "kind": "INTEGER", "labels": []}}),
    )
    .await;
    let member = app.user_token("mia", &[("acme", "member")]);
    let read = "{ me { profile { version value(key: \"counter\") { integer } } } }";
    let increment = |_: usize| async {
        loop {
            let card = app.ok(&member, read, json!({})).await["me"]["profile"].clone();
            let count = card["value"]["integer"].as_i64().unwrap_or(0);
            let variables = json!({"values": [{"key": "counter", "value": count + 1}], "expected": card["version"]});
            let body = app
                .graphql(Call {
                    token: Some(&member),
                    query: SAVE,
                    variables,
                    ..Default::default()
                })
                .await;
            match body.get("errors") {
                None => return,
                Some(_) => assert_eq!(error_code(&body), "CONFLICT", "{body}"),
            }
        }
    };
    futures::future::join_all((0..50).map(increment)).await;
    let card = app.ok(&member, read, json!({})).await["me"]["profile"].clone();
    assert_eq!(card["value"]["integer"], 50);
    assert_eq!(card["version"], 50);
}

storage_test!(an_opened_email_stays_unique_in_the_tenant);
async fn an_opened_email_stays_unique_in_the_tenant(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let mut claims = serde_json::Map::new();
    claims.insert("email".into(), json!("bob@example.com"));
    let bob = app.token("bob", &[("acme", "member")], false, 3600, claims);
    app.user_id(&bob).await;
    let id = field_id(&app, &admin, "email").await;
    app.ok(
        &admin,
        UPDATE,
        json!({"id": id, "input": {"ownerAccess": "EDIT"}}),
    )
    .await;
    let mia = app.user_token("mia", &[("acme", "member")]);
    let body = app
        .graphql(Call {
            token: Some(&mia),
            query: SAVE,
            variables: json!({"values": [{"key": "email", "value": "BOB@example.com"}]}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let body = app
        .graphql(Call {
            token: Some(&mia),
            query: SAVE,
            variables: json!({"values": [{"key": "email", "value": "not-an-email"}]}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app.ok(
        &mia,
        SAVE,
        json!({"values": [{"key": "email", "value": "mia@example.com"}]}),
    )
    .await;
}

storage_test!(sign_in_refreshes_provider_values_but_never_overwrites_edits);
async fn sign_in_refreshes_provider_values_but_never_overwrites_edits(app: TestApp) {
    let token = |given: &str, family: &str, ttl: i64| {
        let mut claims = serde_json::Map::new();
        claims.insert("given_name".into(), json!(given));
        claims.insert("family_name".into(), json!(family));
        app.token("ida", &[("acme", "member")], false, ttl, claims)
    };
    let first = token("Ida", "Old", 3600);
    app.ok(
        &first,
        SAVE,
        json!({"values": [{"key": "given_name", "value": "Idy"}]}),
    )
    .await;
    let second = token("Idalia", "New", 3601);
    let me = app
        .ok(&second, "{ me { firstName lastName } }", json!({}))
        .await;
    assert_eq!(me["me"], json!({"firstName": "Idy", "lastName": "New"}));
}

storage_test!(changes_are_audited_for_admins);
async fn changes_are_audited_for_admins(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let member = app.user_token("mia", &[("acme", "member")]);
    let mia = app.user_id(&member).await;
    app.ok(
        &member,
        SAVE,
        json!({"values": [{"key": "nickname", "value": "M"}]}),
    )
    .await;
    app.ok(
        &member,
        SAVE,
        json!({"values": [{"key": "nickname", "value": "Mi"}]}),
    )
    .await;
    let query = "query($id: ID!) { auditEvents(userId: $id) { actor action change } }";
    let events = app.ok(&admin, query, json!({"id": mia})).await["auditEvents"].clone();
    let updates: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "profile.update")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[0]["change"],
        json!({"before": {"nickname": "M"}, "after": {"nickname": "Mi"}})
    );
    assert_eq!(updates[0]["actor"], format!("user:{mia}"));
    let body = app
        .graphql(Call {
            token: Some(&member),
            query,
            variables: json!({"id": mia}),
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

storage_test!(userinfo_shows_standard_claims_and_custom_attributes);
async fn userinfo_shows_standard_claims_and_custom_attributes(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let mut claims = serde_json::Map::new();
    claims.insert("email".into(), json!("uma@example.com"));
    claims.insert("given_name".into(), json!("Uma"));
    let uma = app.token("uma", &[("acme", "member")], false, 3600, claims);
    app.ok(&uma, SAVE, json!({"values": [{"key": "desk", "value": "C-3"}, {"key": "family_name", "value": "Thurman"}]})).await;
    let response = app
        .client
        .get(format!("{}/userinfo", app.base_url))
        .bearer_auth(&uma)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.unwrap();
    assert_eq!(info["sub"], "uma");
    assert_eq!(info["email"], "uma@example.com");
    assert_eq!(info["given_name"], "Uma");
    assert_eq!(info["family_name"], "Thurman");
    assert_eq!(info["custom_attributes"], json!({"desk": "C-3"}));
    assert!(info.get("nickname").is_none(), "empty claims are left out");
    let anonymous = app
        .client
        .get(format!("{}/userinfo", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

storage_test!(a_value_may_point_only_at_an_accepted_image_type);
async fn a_value_may_point_only_at_an_accepted_image_type(app: TestApp) {
    use entity::file;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["avatar"]})).await;
    let attachment = json!({"input": {"key": "attachment", "kind": "FILE", "labels": []}});
    app.ok(&admin, CREATE, attachment).await;
    let mia = app.user_token("mia", &[("acme", "member")]);
    let mia_id = app.user_id(&mia).await;
    let tenant = app.ok(&mia, "{ tenant { id } }", json!({})).await["tenant"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Rows that no upload makes today (uploads refuse these types), as an older version or an
    // import may have left them.
    for (content_type, key) in [
        ("image/svg+xml", "avatar"),
        ("image/bmp", "avatar"),
        ("image/bmp", "attachment"),
    ] {
        let id = uuid::Uuid::new_v4();
        file::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant),
            owner_id: Set(mia_id.parse().unwrap()),
            object_key: Set(format!("{tenant}/{id}")),
            content_type: Set(content_type.to_owned()),
            byte_size: Set(10),
            sha256: Set("0".repeat(64)),
            width: Set(None),
            height: Set(None),
            created_at: Set(chrono::Utc::now()),
            original_name: Set("x".into()),
            thumbnails: Set(json!([])),
        }
        .insert(&app.db)
        .await
        .unwrap();
        let body = app
            .graphql(Call {
                token: Some(&mia),
                query: SAVE,
                variables: json!({"values": [{"key": key, "value": id.to_string()}]}),
                ..Default::default()
            })
            .await;
        assert_eq!(
            error_code(&body),
            "BAD_USER_INPUT",
            "{content_type} in {key}: {body}"
        );
        assert!(
            error_message(&body).contains("invalid file values"),
            "{body}"
        );
    }
}

const MY_DESK: &str = "{ me { profile { version values { key json } } } }";

/// The desk value on the caller's own card, and the card's version.
async fn my_desk(app: &TestApp, token: &str) -> (Value, Value) {
    let me = app.ok(token, MY_DESK, json!({})).await;
    let card = &me["me"]["profile"];
    (
        value_of(card, "desk").unwrap_or(Value::Null),
        card["version"].clone(),
    )
}

async fn save_desk(app: &TestApp, token: &str, desk: &str) {
    app.ok(
        token,
        SAVE,
        json!({"values": [{"key": "desk", "value": desk}]}),
    )
    .await;
}

storage_test!(backend the_own_card_is_cached_by_version_and_never_stale);
async fn the_own_card_is_cached_by_version_and_never_stale(backend: crate::common::Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics.bearer_token = Some("scrape".to_owned());
    })
    .await;
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, CREATE, text_field("desk", json!([]))).await;
    let ann = app.user_token("ann", &[("acme", "member")]);
    let ann_id = app.user_id(&ann).await;
    save_desk(&app, &ann, "A-1").await;
    assert_eq!(my_desk(&app, &ann).await, (json!("A-1"), json!(1)));
    assert_eq!(my_desk(&app, &ann).await, (json!("A-1"), json!(1)));
    save_desk(&app, &ann, "B-2").await;
    assert_eq!(my_desk(&app, &ann).await, (json!("B-2"), json!(2)));
    // An admin's save bumps the same version.
    app.ok(
        &admin,
        SAVE_OTHER,
        json!({"id": ann_id, "values": [{"key": "desk", "value": "C-3"}]}),
    )
    .await;
    assert_eq!(my_desk(&app, &ann).await, (json!("C-3"), json!(3)));

    let scrape = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .bearer_auth("scrape")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits = scrape
        .lines()
        .find_map(|line| line.strip_prefix(r#"cache_lookups_total{cache="cards",outcome="hit"} "#))
        .unwrap_or("0");
    assert_eq!(
        hits, "1",
        "only the unchanged second read is served from the cache: {scrape}"
    );
}

/// Two processes on one database: a save through one is read at once through the other,
/// which had cached the previous version (no wait for a change notice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_on_one_instance_is_read_at_once_on_another() {
    crate::common::skippable(async {
        let a = TestApp::spawn(crate::common::Backend::Postgres).await;
        let b = a.second_process().await;
        let admin = a.user_token("ada", &[("acme", "admin")]);
        a.ok(&admin, CREATE, text_field("desk", json!([]))).await;
        let ann = a.user_token("ann", &[("acme", "member")]);
        a.user_id(&ann).await;
        for round in 0..20 {
            let desk = format!("D-{round}");
            save_desk(&a, &ann, &desk).await;
            assert_eq!(my_desk(&b, &ann).await, (json!(desk), json!(round + 1)));
        }
    })
    .await;
}
