//! The web UI over plain HTTP, as a browser without JavaScript would use it: sign-in, CSRF,
//! who may open which page, in-place saves, escaping, languages. The browser scenarios (htmx,
//! uploads, axe-core, screenshots) are in `web_browser`.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::fields::TEMPLATES;
use crate::storage_test;

/// A browser's cookie jar on the service, redirects not followed (tests look at them).
pub struct Visitor {
    base: String,
    http: reqwest::Client,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor::at(&app.base_url)
    }

    /// A visitor of the service at `base`.
    pub fn at(base: &str) -> Visitor {
        Visitor {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Signs in through the development sign-in page.
    pub async fn signed_in(app: &TestApp, subject: &str, tenant: &str, role: &str) -> Visitor {
        let visitor = Visitor::new(app);
        let (status, page) = visitor.page("/signin").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let csrf = csrf_of(&page);
        let form = [
            ("csrf", csrf.as_str()),
            ("subject", subject),
            ("name", ""),
            ("tenant", tenant),
            ("role", role),
        ];
        let response = visitor.form("/signin/dev", &form).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/");
        visitor
    }

    /// Follows redirects from `url` (on any host) until one leads to `path` on the service.
    pub async fn follow_to(&self, mut url: reqwest::Url, path: &str) -> reqwest::Response {
        for _ in 0..12 {
            let response = self.http.get(url.clone()).send().await.unwrap();
            let Some(location) = response.headers().get("location") else {
                return response;
            };
            let next = url.join(location.to_str().unwrap()).unwrap();
            if next.as_str() == format!("{}{path}", self.base) {
                return response;
            }
            url = next;
        }
        panic!("too many redirects from {url}");
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        (response.status(), response.text().await.unwrap())
    }

    /// A plain form post (the CSRF token, if any, is one of the fields).
    pub async fn form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// An htmx post: the CSRF token in its header.
    pub async fn htmx(&self, path: &str, csrf: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", csrf)
            .header("HX-Request", "true")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Saves one field of a card page the way its control does; returns the field's HTML.
    pub async fn save(&self, card: &str, key: &str, value: &str) -> String {
        let (_, page) = self.page(card).await;
        let version = version_of(&page);
        let base = if card == "/" { "/card" } else { card };
        let response = self
            .htmx(
                &format!("{base}/fields/{key}"),
                &csrf_of(&page),
                &[("value", value), ("version", &version)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

/// The CSRF token a page carries (htmx's header, also in every form).
pub fn csrf_of(page: &str) -> String {
    let start = page
        .find("\"X-CSRF-Token\": \"")
        .expect("a page with a CSRF token")
        + 17;
    page[start..start + 64].to_owned()
}

/// The card version a card page holds.
fn version_of(page: &str) -> String {
    let marker = "id=\"card-version\" name=\"version\" value=\"";
    let start = page.find(marker).expect("a card page") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The internal id of a development-token user.
async fn user_id(app: &TestApp, subject: &str, tenant: &str, role: &str) -> String {
    let token = app.user_token(subject, &[(tenant, role)]);
    let me = app.ok(&token, "{ me { id } }", json!({})).await;
    me["me"]["id"].as_str().unwrap().to_owned()
}

storage_test!(signing_in_shows_the_own_card_and_signing_out_ends_the_session);
async fn signing_in_shows_the_own_card_and_signing_out_ends_the_session(app: TestApp) {
    let anonymous = Visitor::new(&app);
    let response = anonymous.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/signin");

    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (status, page) = ada.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<html lang=\"en\" dir=\"ltr\">"), "{page}");
    assert!(page.contains("id=\"field-nickname\""), "{page}");
    assert!(
        page.contains("href=\"/admin/people\""),
        "admins see the grid"
    );

    let csrf = csrf_of(&page);
    let response = ada.form("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/signin");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Max-Age=0") && cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(ada.get("/").await.status(), StatusCode::SEE_OTHER);
}

storage_test!(a_post_without_the_csrf_token_is_refused);
async fn a_post_without_the_csrf_token_is_refused(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (_, page) = ada.page("/").await;
    let csrf = csrf_of(&page);
    let wrong = "0".repeat(64);
    for token in [None, Some(wrong.as_str())] {
        let mut form = vec![("value", "Eve"), ("version", "0")];
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let response = ada.form("/card/fields/nickname", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = ada.form("/signout", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let response = ada
        .htmx("/card/fields/nickname", &wrong, &[("value", "Eve")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, page) = ada.page("/").await;
    assert!(!page.contains("value=\"Eve\""), "nothing was saved");
    // The session's token works, as a form field too.
    let form = [("csrf", csrf.as_str()), ("value", "Ada"), ("version", "0")];
    let response = ada.form("/card/fields/nickname", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
}

storage_test!(a_forged_session_cookie_is_anonymous);
async fn a_forged_session_cookie_is_anonymous(app: TestApp) {
    let _ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in [
        "up_session=".to_owned() + &"a".repeat(64),
        "up_session=x".into(),
    ] {
        let response = client
            .get(format!("{}/", app.base_url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie}");
        assert_eq!(response.headers()["location"], "/signin");
        let response = client
            .post(format!("{}/card/fields/nickname", app.base_url))
            .header("cookie", &cookie)
            .header("X-CSRF-Token", "a".repeat(64))
            .form(&[("value", "Eve")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}

storage_test!(a_member_cannot_open_admin_pages_nor_another_members_card);
async fn a_member_cannot_open_admin_pages_nor_another_members_card(app: TestApp) {
    let ada_id = user_id(&app, "ada", "acme", "admin").await;
    let mia = Visitor::signed_in(&app, "mia", "acme", "member").await;
    let (_, page) = mia.page("/").await;
    assert!(!page.contains("href=\"/admin/people\""), "{page}");
    for path in ["/admin/people", &format!("/admin/people/{ada_id}")] {
        let (status, page) = mia.page(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("member directory"), "{page}");
    }
    let response = mia
        .htmx(
            &format!("/admin/people/{ada_id}/fields/nickname"),
            &csrf_of(&page),
            &[("value", "Eve"), ("version", "0")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let ada = app.user_token("ada", &[("acme", "admin")]);
    let card = app
        .ok(
            &ada,
            "{ me { profile { value(key: \"nickname\") { text } } } }",
            json!({}),
        )
        .await;
    assert!(card["me"]["profile"]["value"]["text"].is_null(), "{card}");
    let (status, _) = mia.page("/admin/people/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

storage_test!(an_admin_edits_a_members_card_from_the_grid);
async fn an_admin_edits_a_members_card_from_the_grid(app: TestApp) {
    let mia_id = user_id(&app, "mia", "acme", "member").await;
    let mia_token = app.user_token("mia", &[("acme", "member")]);
    app.ok(
        &mia_token,
        "mutation { updateMyProfile(input: { values: [{ key: \"name\", value: \"Mia Wong\" }] }) { version } }",
        json!({}),
    )
    .await;
    let _ = user_id(&app, "bob", "acme", "member").await;
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (status, grid) = ada.page("/admin/people").await;
    assert_eq!(status, StatusCode::OK);
    assert!(grid.contains("Mia Wong") && grid.contains(&format!("/admin/people/{mia_id}")));
    let response = ada
        .http
        .get(format!("{}/admin/people?q=wong&role=", ada.base))
        .header("HX-Request", "true")
        .header("HX-Target", "tiles")
        .send()
        .await
        .unwrap();
    let tiles = response.text().await.unwrap();
    assert!(
        tiles.contains("Mia Wong") && !tiles.contains("<html"),
        "{tiles}"
    );
    assert_eq!(tiles.matches("class=\"tile\"").count(), 1, "{tiles}");
    let (_, admins) = ada.page("/admin/people?role=admin").await;
    assert!(!admins.contains("Mia Wong"), "{admins}");

    let card = format!("/admin/people/{mia_id}");
    let fragment = ada.save(&card, "nickname", "Mimi").await;
    assert!(fragment.contains("notice saved"), "{fragment}");
    let (_, page) = ada.page(&card).await;
    assert!(page.contains("value=\"Mimi\""), "{page}");
}

storage_test!(in_place_saves_check_the_version_and_validation);
async fn in_place_saves_check_the_version_and_validation(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (_, page) = ada.page("/").await;
    let (csrf, version) = (csrf_of(&page), version_of(&page));
    let saved = ada
        .htmx(
            "/card/fields/nickname",
            &csrf,
            &[("value", "Countess"), ("version", &version)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(saved.contains("notice saved") && saved.contains("hx-swap-oob"));
    // The page's old version is stale now: the save is refused, the field says why.
    let stale = ada
        .htmx(
            "/card/fields/nickname",
            &csrf,
            &[("value", "Ada"), ("version", &version)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        stale.contains("notice refused") && stale.contains("changed elsewhere"),
        "{stale}"
    );
    let invalid = ada.save("/", "website", "not a url").await;
    assert!(invalid.contains("notice refused"), "{invalid}");
    assert!(
        invalid.contains("value=\"not a url\""),
        "what was typed stays"
    );
    let (_, page) = ada.page("/").await;
    assert!(page.contains("value=\"Countess\"") && !page.contains("not a url"));
    let cleared = ada.save("/", "nickname", "").await;
    assert!(cleared.contains("notice saved") && !cleared.contains("Countess"));
}

storage_test!(pages_escape_hostile_field_values);
async fn pages_escape_hostile_field_values(app: TestApp) {
    let hostile = "<script>alert(1)</script>\u{202E}gpj.exe\"'";
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    ada.save("/", "name", hostile).await;
    ada.save("/", "nickname", hostile).await;
    let (_, card) = ada.page("/").await;
    let (_, grid) = ada.page("/admin/people").await;
    for page in [&card, &grid] {
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&#60;script&#62;alert(1)"), "{page}");
        // The name is isolated, so its override cannot reorder the text around it.
        assert!(page.contains("<bdi"), "{page}");
    }
}

storage_test!(languages_follow_the_cookie_then_accept_language);
async fn languages_follow_the_cookie_then_accept_language(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let response = ada
        .http
        .get(format!("{}/", ada.base))
        .header("Accept-Language", "he-IL, en;q=0.5")
        .send()
        .await
        .unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("<html lang=\"he\" dir=\"rtl\">"), "{page}");
    let form = [
        ("csrf", csrf_of(&page)),
        ("lang", "ar".into()),
        ("back", "/".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = ada.form("/language", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = ada.page("/").await;
    assert!(page.contains("<html lang=\"ar\" dir=\"rtl\">"), "{page}");
    assert!(page.contains("بطاقتي"), "the texts are Arabic");
    let form = [
        ("csrf", csrf_of(&page)),
        ("lang", "ja".into()),
        ("back", "/".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ada.form("/language", &form).await;
    let (_, page) = ada.page("/").await;
    assert!(page.contains("<html lang=\"ja\" dir=\"ltr\">"), "{page}");
}

storage_test!(the_tenant_switcher_changes_the_active_card);
async fn the_tenant_switcher_changes_the_active_card(app: TestApp) {
    let token = app.user_token("ada", &[("acme", "admin"), ("globex", "member")]);
    let me = app
        .ok(&token, "{ me { tenants { id slug } } }", json!({}))
        .await;
    let globex = me["me"]["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "globex")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (_, page) = ada.page("/").await;
    assert!(page.contains("id=\"tenant-switch\""), "{page}");
    let form = [("csrf", csrf_of(&page)), ("tenant", globex)];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = ada.form("/tenant", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = ada.page("/").await;
    assert!(
        !page.contains("href=\"/admin/people\""),
        "a member in globex: {page}"
    );
    let form = [("csrf", csrf_of(&page)), ("tenant", "initech".to_owned())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        ada.form("/tenant", &form).await.status(),
        StatusCode::FORBIDDEN
    );
}

storage_test!(uploads_from_the_card_show_a_preview);
async fn uploads_from_the_card_show_a_preview(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["avatar"]})).await;
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (_, page) = ada.page("/").await;
    let png = crate::files::png(90, 60);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png).file_name("me.png"),
    );
    let response = ada
        .http
        .post(format!("{}/card/fields/avatar/upload", ada.base))
        .header("X-CSRF-Token", csrf_of(&page))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let fragment = response.text().await.unwrap();
    assert!(fragment.contains("notice saved"), "{fragment}");
    assert!(fragment.contains("id=\"preview-avatar\""), "{fragment}");
    let (_, page) = ada.page("/").await;
    assert!(page.contains("id=\"card-avatar\""), "{page}");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"not an image".to_vec()).file_name("x.png"),
    );
    let refused = ada
        .http
        .post(format!("{}/card/fields/avatar/upload", ada.base))
        .header("X-CSRF-Token", csrf_of(&page))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(refused.contains("notice refused"), "{refused}");
}

/// Reads a server-sent event stream until an event named `changed`; returns its data.
async fn next_change(response: &mut reqwest::Response) -> String {
    let mut text = String::new();
    let wait = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(at) = text.find("event: changed\ndata: ") {
                let data = &text[at + 21..];
                if let Some(end) = data.find('\n') {
                    return data[..end].to_owned();
                }
            }
        }
        panic!("the stream ended: {text}");
    });
    wait.await.expect("a change within 10 s")
}

storage_test!(open_cards_and_grids_hear_about_changes_made_elsewhere);
async fn open_cards_and_grids_hear_about_changes_made_elsewhere(app: TestApp) {
    let mia_id = user_id(&app, "mia", "acme", "member").await;
    let mia = Visitor::signed_in(&app, "mia", "acme", "member").await;
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (status, _) = mia.page("/admin/people/live").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the member directory is closed"
    );
    let (status, _) = mia
        .page(&format!(
            "/admin/people/{}/live",
            user_id(&app, "ada", "acme", "admin").await
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut own = mia.get("/card/live").await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.headers()["content-type"], "text/event-stream");
    let mut grid = ada.get("/admin/people/live").await;
    assert_eq!(grid.status(), StatusCode::OK);
    // The admin edits Mia's card from the grid; Mia's open card and the grid hear of it.
    let fragment = ada
        .save(&format!("/admin/people/{mia_id}"), "nickname", "Mimi")
        .await;
    assert!(fragment.contains("notice saved"), "{fragment}");
    assert_eq!(next_change(&mut own).await, "1");
    assert_eq!(next_change(&mut grid).await, "0");
}

/// Posts a designer form as `visitor` (its CSRF token from the designer page).
async fn design(visitor: &Visitor, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let (_, page) = visitor.page("/admin/fields").await;
    let csrf = csrf_of(&page);
    let mut form = form.to_vec();
    form.push(("csrf", &csrf));
    visitor.form(path, &form).await
}

/// The id and version of field `key` on the designer page.
async fn designed(visitor: &Visitor, key: &str) -> (String, String) {
    let (_, page) = visitor.page("/admin/fields").await;
    let row = &page[page
        .find(&format!("id=\"design-{key}\""))
        .expect("the field's row")..];
    let id = row.split("action=\"/admin/fields/").nth(1).unwrap();
    let id = id.split(['"', '/']).next().unwrap().to_owned();
    let version = row.split("name=\"version\" value=\"").nth(1).unwrap();
    (id, version.split('"').next().unwrap().to_owned())
}

/// Where `key` comes on the card page (its field's offset).
fn place(page: &str, key: &str) -> usize {
    page.find(&format!("id=\"field-{key}\""))
        .unwrap_or_else(|| panic!("no field {key}"))
}

storage_test!(an_admin_designs_the_fields_and_members_see_them);
async fn an_admin_designs_the_fields_and_members_see_them(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let mia = Visitor::signed_in(&app, "mia", "acme", "member").await;
    let (status, page) = ada.page("/admin/fields").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("value=\"job_title\""),
        "the catalogue is offered"
    );

    // From the catalogue, and by hand.
    let response = design(
        &ada,
        "/admin/fields/templates",
        &[("template", "job_title")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let form = [("key", "team"), ("kind", "SHORT_TEXT"), ("label", "Squad")];
    assert_eq!(
        design(&ada, "/admin/fields", &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, card) = mia.page("/").await;
    assert!(
        card.contains("id=\"field-job_title\"") && card.contains(">Squad<"),
        "{card}"
    );
    assert!(place(&card, "job_title") < place(&card, "team"));

    // Refused input says why, on the designer.
    let form = [("key", "Bad Key"), ("kind", "SHORT_TEXT"), ("label", "")];
    let response = design(&ada, "/admin/fields", &form).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("class=\"problem\""));

    // Relabel in the visit's language, make it read-only for the owner; a stale version is refused.
    let (team, version) = designed(&ada, "team").await;
    let settings = [
        ("label", "Team"),
        ("owner", "READ"),
        ("member", "READ"),
        ("admin", "EDIT"),
        ("version", version.as_str()),
    ];
    let path = format!("/admin/fields/{team}");
    assert_eq!(
        design(&ada, &path, &settings).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        design(&ada, &path, &settings).await.status(),
        StatusCode::CONFLICT
    );
    let (_, card) = mia.page("/").await;
    let field = &card[place(&card, "team")..];
    assert!(
        field.contains(">Team<") && field.contains("Read only"),
        "{field}"
    );

    // Move up, before job_title.
    let moved = design(
        &ada,
        &format!("/admin/fields/{team}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let (_, card) = mia.page("/").await;
    assert!(place(&card, "team") < place(&card, "job_title"));

    // Drag and drop sends the whole order: team back after job_title.
    let (_, page) = ada.page("/admin/fields").await;
    let ids: Vec<String> = page
        .split("draggable=\"true\"")
        .filter_map(|before| before.rsplit("data-id=\"").next())
        .filter_map(|tail| tail.split('"').next().filter(|id| id.len() == 36))
        .map(str::to_owned)
        .collect();
    let (job, _) = designed(&ada, "job_title").await;
    let mut order: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| *id != job)
        .collect();
    let at = order.iter().position(|id| *id == team).unwrap();
    order.insert(at, &job);
    let mut form: Vec<(&str, &str)> = order.iter().map(|id| ("id", *id)).collect();
    let response = design(&ada, "/admin/fields/order", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, card) = mia.page("/").await;
    assert!(place(&card, "job_title") < place(&card, "team"));
    form.pop();
    let response = design(&ada, "/admin/fields/order", &form).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "an order must list every field"
    );

    // Archive hides it, restore brings it back.
    let (team, version) = designed(&ada, "team").await;
    let path = format!("/admin/fields/{team}/archive");
    let form = [("archived", "true"), ("version", version.as_str())];
    assert_eq!(
        design(&ada, &path, &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, card) = mia.page("/").await;
    assert!(!card.contains("id=\"field-team\""));
    let (_, version) = designed(&ada, "team").await;
    let form = [("archived", "false"), ("version", version.as_str())];
    assert_eq!(
        design(&ada, &path, &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, card) = mia.page("/").await;
    assert!(card.contains("id=\"field-team\""));

    // Members may not design.
    let (status, _) = mia.page("/admin/fields").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = mia.page("/").await;
    let form = [("csrf", csrf_of(&page)), ("template", "department".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = mia.form("/admin/fields/templates", &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

storage_test!(the_designer_sets_options_and_validation);
async fn the_designer_sets_options_and_validation(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let form = [
        ("key", "size"),
        ("kind", "SINGLE_CHOICE"),
        ("label", "Size"),
        ("options", "s = Small\nm = Medium\n"),
    ];
    assert_eq!(
        design(&ada, "/admin/fields", &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let form = [("key", "code"), ("kind", "SHORT_TEXT"), ("label", "Code")];
    assert_eq!(
        design(&ada, "/admin/fields", &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, card) = ada.page("/").await;
    let size = &card[place(&card, "size")..];
    assert!(
        size.contains("<option value=\"m\">Medium</option>"),
        "{size}"
    );
    ada.save("/", "size", "m").await;
    let (_, grid) = ada.page("/admin/people").await;
    let fact = "<dt>Size</dt><dd><bdi>Medium</bdi></dd>";
    assert!(grid.contains(fact), "tiles show option labels: {grid}");

    let (code, version) = designed(&ada, "code").await;
    let path = format!("/admin/fields/{code}/rules");
    let form = [("max_length", "three"), ("version", version.as_str())];
    let refused = design(&ada, &path, &form).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("is not a number"));
    let form = [("min", "1"), ("version", version.as_str())];
    let refused = design(&ada, &path, &form).await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "min applies to numbers only"
    );
    let form = [("max_length", "3"), ("version", version.as_str())];
    assert_eq!(
        design(&ada, &path, &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let saved = ada.save("/", "code", "abcd").await;
    assert!(saved.contains("notice refused"), "{saved}");
    let saved = ada.save("/", "code", "abc").await;
    assert!(saved.contains("notice saved"), "{saved}");

    // Options relabelled in another language keep the English labels.
    let (size, version) = designed(&ada, "size").await;
    let (_, page) = ada.page("/").await;
    let form = [
        ("csrf", csrf_of(&page)),
        ("lang", "de".into()),
        ("back", "/".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ada.form("/language", &form).await;
    let form = [("options", "s = Klein\nm\n"), ("version", version.as_str())];
    let path = format!("/admin/fields/{size}/rules");
    assert_eq!(
        design(&ada, &path, &form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, card) = ada.page("/").await;
    assert!(
        card.contains(">Klein</option>") && card.contains(">Medium</option>"),
        "{card}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_pages_spend_the_anonymous_rate_limit() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |config| {
        config.rate_limits.anonymous_per_minute = 3;
    })
    .await;
    let visitor = Visitor::new(&app);
    for _ in 0..3 {
        assert_eq!(visitor.page("/signin").await.0, StatusCode::OK);
    }
    let (status, _) = visitor.page("/signin").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "no endless session rows"
    );
    assert_eq!(
        visitor.get("/assets/app-2.css").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_a_sign_in_method_says_so() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |config| {
        config.dev_mode = false;
    })
    .await;
    let (status, page) = Visitor::new(&app).page("/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No sign-in is configured"), "{page}");
    assert!(!page.contains("/signin/dev") && !page.contains("provider-sign-in"));
}

storage_test!(session_tokens_are_sealed_at_rest_and_expired_sessions_swept);
async fn session_tokens_are_sealed_at_rest_and_expired_sessions_swept(app: TestApp) {
    use entity::web_session::{ActiveModel, Column, Entity};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let eve = Visitor::new(&app);
    assert_eq!(eve.page("/signin").await.0, StatusCode::OK);
    let rows = Entity::find().all(&app.db).await.unwrap();
    let (signed_in, signed_out): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.sealed_tokens.is_some());
    let (ada_row, eve_row) = (signed_in[0].clone(), signed_out[0].clone());
    let sealed = ada_row.sealed_tokens.clone().unwrap();
    assert!(
        !sealed.contains('.'),
        "a JWT's dots show through: the token is stored in the clear"
    );

    // Ada's sealed tokens copied onto the session Eve holds open nothing for Eve.
    let mut stolen: ActiveModel = eve_row.clone().into();
    stolen.sealed_tokens = Set(Some(sealed));
    stolen.issuer = Set(ada_row.issuer.clone());
    stolen.update(&app.db).await.unwrap();
    let (status, _) = eve.page("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "Eve is not signed in as Ada");
    assert_eq!(ada.page("/").await.0, StatusCode::OK);

    // An expired session is swept; a live one stays.
    let mut expired: ActiveModel = eve_row.into();
    expired.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    expired.update(&app.db).await.unwrap();
    let swept = userprofile::web::delete_expired_sessions(&app.db)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let left = Entity::find()
        .filter(Column::IdHash.eq(ada_row.id_hash))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(ada.page("/").await.0, StatusCode::OK);
}

/// Creates a field through GraphQL as `admin` (the designer's form has no access inputs).
async fn create_field(app: &TestApp, admin: &str, input: serde_json::Value) {
    let create =
        "mutation($input: CreateFieldInput!) { createFieldDefinition(input: $input) { key } }";
    app.ok(admin, create, json!({ "input": input })).await;
}

/// Saves `values` on `subject`'s own card in acme through GraphQL.
async fn card_of(app: &TestApp, subject: &str, values: serde_json::Value) {
    let token = app.user_token(subject, &[("acme", "member")]);
    let save = "mutation($values: [FieldValueInput!]!) { updateMyProfile(input: {values: $values}) { version } }";
    app.ok(&token, save, json!({ "values": values })).await;
}

/// The tiles' names on a grid page.
fn tile_names(page: &str) -> Vec<String> {
    page.split("<bdi class=\"name\">")
        .skip(1)
        .filter_map(|tail| tail.split("</bdi>").next())
        .map(str::to_owned)
        .collect()
}

/// The grid's link to the next page, unescaped.
fn next_link(page: &str) -> Option<String> {
    let nav = &page[page.find("class=\"pages\"")?..];
    let links: Vec<&str> = nav.split("<a href=\"").skip(1).collect();
    let next = links.last()?.split('"').next()?;
    next.contains("after=").then(|| next.replace("&#38;", "&"))
}

storage_test!(the_grid_filters_by_field_values_the_viewer_may_read);
async fn the_grid_filters_by_field_values_the_viewer_may_read(app: TestApp) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    let option =
        |v: &str, label: &str| json!({"value": v, "labels": [{"locale": "en", "text": label}]});
    create_field(
        &app,
        &admin,
        json!({"key": "size", "kind": "SINGLE_CHOICE", "labels": [{"locale": "en", "text": "Size"}],
            "options": [option("s", "Small"), option("m", "Medium")]}),
    )
    .await;
    create_field(
        &app,
        &admin,
        json!({"key": "band", "kind": "SINGLE_CHOICE", "labels": [], "memberAccess": "HIDDEN",
            "options": [option("a", "A"), option("b", "B")]}),
    )
    .await;
    create_field(
        &app,
        &admin,
        json!({"key": "remote", "kind": "SWITCH", "labels": [{"locale": "en", "text": "Remote"}]}),
    )
    .await;
    // 25 medium members: more than a page (24), so paging has to keep the filter.
    for index in 1..=25 {
        let values = json!([
            {"key": "name", "value": format!("Member {index:02}")},
            {"key": "size", "value": "m"},
            {"key": "band", "value": "a"},
            {"key": "remote", "value": index == 1}
        ]);
        card_of(&app, &format!("member-{index:02}"), values).await;
    }
    let small = json!([{"key": "name", "value": "Bob Small"}, {"key": "size", "value": "s"}]);
    card_of(&app, "bob", small).await;

    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (status, grid) = ada.page("/admin/people").await;
    assert_eq!(status, StatusCode::OK);
    assert!(grid.contains("<select name=\"f.size\">"), "{grid}");
    assert!(
        grid.contains("<option value=\"m\">Medium</option>"),
        "options show their labels: {grid}"
    );
    assert!(
        grid.contains("<select name=\"f.band\">"),
        "admins read band"
    );

    let (status, small) = ada.page("/admin/people?q=&role=&f.size=s&f.band=").await;
    assert_eq!(status, StatusCode::OK, "{small}");
    assert_eq!(tile_names(&small), ["Bob Small"]);
    assert!(
        small.contains("<option value=\"s\" selected>Small</option>"),
        "the select shows the filter: {small}"
    );
    assert!(next_link(&small).is_none());

    let (_, medium) = ada.page("/admin/people?f.size=m").await;
    let first = tile_names(&medium);
    assert_eq!(first.len(), 24, "{medium}");
    assert!(
        first.iter().all(|name| name.starts_with("Member ")),
        "{first:?}"
    );
    let next = next_link(&medium).expect("a link to the next page");
    assert!(next.contains("f.size=m"), "paging keeps the filter: {next}");
    let (status, rest) = ada.page(&next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tile_names(&rest), ["Member 25"], "{rest}");

    // A switch: "no" is every card where it is not on, set to off or never set.
    let (_, remote) = ada.page("/admin/people?f.remote=yes").await;
    assert_eq!(tile_names(&remote), ["Member 01"]);
    let (_, office) = ada.page("/admin/people?f.remote=no").await;
    let office = tile_names(&office);
    assert!(
        !office.contains(&"Member 01".to_owned()) && office.contains(&"Bob Small".to_owned()),
        "{office:?}"
    );
    let (status, page) = ada.page("/admin/people?f.remote=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");

    let (_, set) = ada.page("/admin/people?f.band=~set").await;
    assert_eq!(tile_names(&set).len(), 24);
    let (_, unset) = ada.page("/admin/people?f.band=~unset").await;
    let unset = tile_names(&unset);
    assert!(
        unset.contains(&"Bob Small".to_owned()) && unset.len() == 2,
        "{unset:?}"
    );

    // A hand-made URL with an unknown field or value says what is wrong.
    for path in ["/admin/people?f.nope=x", "/admin/people?f.size=xl"] {
        let (status, page) = ada.page(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {page}");
        assert!(page.contains("filter"), "{page}");
    }

    // A member of an open directory filters on what members read, not on band.
    let opened = "mutation { setMemberDirectory(enabled: true) { memberDirectory } }";
    app.ok(&admin, opened, json!({})).await;
    let mia = Visitor::signed_in(&app, "mia", "acme", "member").await;
    let (status, grid) = mia.page("/admin/people?f.size=s").await;
    assert_eq!(status, StatusCode::OK, "{grid}");
    assert_eq!(tile_names(&grid), ["Bob Small"]);
    assert!(
        grid.contains("name=\"f.size\"") && !grid.contains("f.band"),
        "{grid}"
    );
    for wanted in ["a", "~set", "~unset"] {
        let (status, page) = mia.page(&format!("/admin/people?f.band={wanted}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{wanted}: {page}");
    }
}

storage_test!(the_designer_previews_a_new_field_as_the_admin_types);
async fn the_designer_previews_a_new_field_as_the_admin_types(app: TestApp) {
    let ada = Visitor::signed_in(&app, "ada", "acme", "admin").await;
    let (_, page) = ada.page("/admin/fields").await;
    assert!(
        page.contains("<option value=\"SINGLE_CHOICE\">Single choice</option>"),
        "kinds are named in the visit's language, sent as the API names them: {page}"
    );
    assert!(
        page.contains("<span class=\"badge\">Short text</span>"),
        "{page}"
    );
    assert!(!page.contains(">SHORT_TEXT<"), "{page}");
    assert!(page.contains("hx-get=\"/admin/fields/preview\""), "{page}");

    let preview =
        "/admin/fields/preview?key=team&kind=SINGLE_CHOICE&label=Squad&options=a+%3D+Alpha%0Ab";
    let (status, fragment) = ada.page(preview).await;
    assert_eq!(status, StatusCode::OK, "{fragment}");
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    assert!(
        fragment.contains("for=\"in-draft-team\"") && fragment.contains(">Squad</label>"),
        "the label typed: {fragment}"
    );
    assert!(
        fragment.contains("<option value=\"a\">Alpha</option>") && fragment.contains("hx-disable"),
        "{fragment}"
    );
    let (_, fragment) = ada
        .page("/admin/fields/preview?key=Not+yet&kind=SWITCH")
        .await;
    assert!(
        fragment.contains("type=\"checkbox\"") && fragment.contains(">New Field</label>"),
        "{fragment}"
    );
    let (status, _) = ada.page("/admin/fields/preview?key=x&kind=NOPE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A stored field's settings form previews its new label the same way.
    let (nickname, _) = designed(&ada, "nickname").await;
    let relabel = format!("/admin/fields/preview?field={nickname}&label=Moniker");
    let (status, fragment) = ada.page(&relabel).await;
    assert_eq!(status, StatusCode::OK, "{fragment}");
    assert!(
        fragment.contains("for=\"in-relabel-nickname\"") && fragment.contains(">Moniker</label>"),
        "{fragment}"
    );

    // Nothing was stored.
    let (_, page) = ada.page("/admin/fields").await;
    assert!(
        !page.contains("id=\"design-team\"") && !page.contains("Moniker"),
        "{page}"
    );
    let (_, card) = ada.page("/").await;
    assert!(
        !card.contains("field-team") && !card.contains("Squad"),
        "{card}"
    );

    // Only admins.
    let mia = Visitor::signed_in(&app, "mia", "acme", "member").await;
    let (status, _) = mia.page(preview).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = Visitor::new(&app).get(preview).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
