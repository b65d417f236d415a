//! `userprofile seed`: a tenant of synthetic members that the directory lists and searches.

use entity::user;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use userprofile::seed::{self, Plan};

use crate::common::{Call, TestApp};
use crate::storage_test;

const SEARCH: &str = "query($search: String, $after: String) {
    profiles(first: 100, after: $after, search: $search) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { userId } } } }";

/// Every user id the search finds, paging through, and the total count.
async fn search_all(app: &TestApp, token: &str, search: Value) -> (u64, Vec<String>) {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(Call {
                token: Some(token),
                query: SEARCH,
                variables: json!({"search": search, "after": after}),
                ..Call::default()
            })
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        let page = &body["data"]["profiles"];
        for edge in page["edges"].as_array().unwrap() {
            ids.push(edge["node"]["userId"].as_str().unwrap().to_owned());
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (page["totalCount"].as_u64().unwrap(), ids);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

storage_test!(a_seeded_tenant_is_listed_and_searched);
async fn a_seeded_tenant_is_listed_and_searched(app: TestApp) {
    let plan = Plan {
        tenant: "demo".into(),
        members: 200,
        fields: 14,
        seed: 7,
        batch: 64,
    };
    let mut reported = Vec::new();
    let seeded = seed::run(&app.db, &plan, |done| reported.push(done))
        .await
        .unwrap();
    assert_eq!(seeded.members, 200);
    assert_eq!(reported, [64, 128, 192, 200]);
    // About 30 % of 14 fields are left empty.
    let share = seeded.values as f64 / (200.0 * 14.0);
    assert!((0.55..0.8).contains(&share), "{share}");

    let admin = app.user_token("ada", &[("demo", "admin")]);
    let (total, all) = search_all(&app, &admin, Value::Null).await;
    assert_eq!(
        (total, all.len()),
        (201, 201),
        "the seeded members and the admin"
    );

    // Seeded accented names in several scripts are found by a search without the accents and
    // in another case: every card of that name is among the matches.
    let users = user::Entity::find().all(&app.db).await.unwrap();
    let names: Vec<&str> = users
        .iter()
        .filter_map(|u| u.claims["family_name"].as_str())
        .collect();
    let accented: Vec<&str> = [
        "Müller",
        "Núñez",
        "Dvořák",
        "Çelik",
        "Ångström",
        "Петрова",
        "Смирнов",
    ]
    .into_iter()
    .filter(|name| names.contains(name))
    .collect();
    assert!(
        accented.len() >= 2,
        "seed 7 gives accented names: {accented:?}"
    );
    for name in accented {
        let search = userprofile::core::fold::fold(name).to_uppercase();
        let named: Vec<String> = users
            .iter()
            .filter(|u| u.claims["family_name"] == name)
            .map(|u| u.id.to_string())
            .collect();
        let (total, found) = search_all(&app, &admin, json!(search)).await;
        assert_eq!(total as usize, found.len());
        for id in &named {
            assert!(found.contains(id), "{search:?} finds {name} {id}");
        }
    }

    // The same seed again writes the same members, which exist: none is added.
    seed::run(&app.db, &plan, |_| ()).await.unwrap();
    let (total, _) = search_all(&app, &admin, Value::Null).await;
    assert_eq!(total, 201);
}

storage_test!(searches_count_up_to_the_limit_and_say_so);
async fn searches_count_up_to_the_limit_and_say_so(app: TestApp) {
    let plan = Plan {
        tenant: "demo".into(),
        members: 1_100,
        fields: 11,
        seed: 3,
        batch: 500,
    };
    seed::run(&app.db, &plan, |_| {}).await.unwrap();
    let admin = app.user_token("ada", &[("demo", "admin")]);
    let count = |search: Value, filter: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = app
                .graphql(Call {
                    token: Some(admin),
                    query: "query($s: String, $f: ProfileFilter) {
                        profiles(first: 1, search: $s, filter: $f) { totalCount totalCountExact } }",
                    variables: json!({"s": search, "f": filter}),
                    ..Call::default()
                })
                .await;
            assert!(body.get("errors").is_none(), "{body}");
            let totals = &body["data"]["profiles"];
            (
                totals["totalCount"].as_u64().unwrap(),
                totals["totalCountExact"].as_bool().unwrap(),
            )
        }
    };
    // Every card is counted when nothing is kept out.
    assert_eq!(count(Value::Null, Value::Null).await, (1_101, true));
    // Every seeded member's email holds "example.org": more than the limit match.
    assert_eq!(
        count(json!("example.org"), Value::Null).await,
        (1_000, false)
    );
    let members = json!({"roles": ["MEMBER"]});
    assert_eq!(count(Value::Null, members).await, (1_000, false));
    // A search matching fewer is counted exactly.
    let (few, exact) = count(json!("seed3-10"), Value::Null).await;
    assert!(exact && (1..1_000).contains(&few), "{few}");
}

storage_test!(a_few_seeded_members_get_a_photo_that_grid_tiles_show);
async fn a_few_seeded_members_get_a_photo_that_grid_tiles_show(app: TestApp) {
    let plan = Plan {
        tenant: "demo".into(),
        members: 40,
        fields: 11,
        seed: 5,
        batch: 40,
    };
    seed::run(&app.db, &plan, |_| {}).await.unwrap();
    let admin = app.user_token("ada", &[("demo", "admin")]);
    // Through this instance, so that it knows the field at once (SQLite has no shared feed).
    app.ok(
        &admin,
        crate::fields::TEMPLATES,
        json!({"keys": ["avatar"]}),
    )
    .await;
    // `userprofile seed` runs beside the service, on its database and files.
    let seeder = userprofile::AppState::new(app.config.clone())
        .await
        .unwrap();
    let scope = seed::tenant_scope(&seeder.db, "demo").await.unwrap();
    let operator = scope.admin().unwrap();
    let mut reported = Vec::new();
    let added = seed::avatars::add(seeder.stores(), &operator, &plan, 4, |n| reported.push(n))
        .await
        .unwrap();
    assert_eq!((added, reported), (4, vec![1, 2, 3, 4]));
    let again = seed::avatars::add(seeder.stores(), &operator, &plan, 4, |_| {})
        .await
        .unwrap();
    assert_eq!(again, 0, "members who have a photo keep it");

    let body = app
        .ok(
            &admin,
            "{ profiles(first: 100) { edges { node { avatar { contentType thumbnails { url } } } } } }",
            json!({}),
        )
        .await;
    let urls: Vec<String> = body["profiles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|edge| edge["node"]["avatar"]["thumbnails"][0]["url"].as_str())
        .map(str::to_owned)
        .collect();
    assert_eq!(urls.len(), 4, "{body}");
    let thumbnail = app
        .client
        .get(format!("{}{}", app.base_url, urls[0]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(thumbnail.status(), 200);
    assert!(
        thumbnail.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/")
    );
}
