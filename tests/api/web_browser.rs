//! The web UI signing in at the real test OpenID provider (authorization code + PKCE), over
//! plain HTTP and in headless Chromium (htmx saves, an upload, the grid's search, filter and
//! live update, the designer's preview as typed, Arabic, axe-core on every page, screenshots
//! under `target/ui-screenshots/`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};

use crate::common::oidc::{API, OidcProvider};
use crate::common::{Backend, Peer, databases};
use crate::peer_test;
use crate::web::{Visitor, csrf_of};

/// Where the browser test saves its screenshots (README, "Web UI").
const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/ui-screenshots");

/// The service as a process, configured from a file like a deployment: the web UI's client at
/// the provider (its secret from the environment), the provider trusted for bearer tokens.
struct WebProcess {
    base_url: String,
    data_dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl WebProcess {
    async fn start(backend: Backend, provider: &OidcProvider, dev: bool) -> WebProcess {
        WebProcess::start_for(backend, provider, dev, API).await
    }

    /// The service asking the provider for access tokens of `resource` (its lifetime is the
    /// resource's), with no clock leeway, so that an expired token is refused at once.
    async fn start_for(
        backend: Backend,
        provider: &OidcProvider,
        dev: bool,
        resource: &str,
    ) -> WebProcess {
        let data_dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let database_url = match backend {
            Backend::Sqlite => databases::fresh_sqlite(&data_dir.path().join("web.db")).await,
            Backend::Postgres => databases::fresh_postgres(&Peer::Postgres.require()).await,
        };
        let issuer = &provider.issuer;
        let config = format!(
            r#"
listen = "127.0.0.1:{port}"
database_url = "{database_url}"
data_dir = "{data}"
[web]
issuer = "{issuer}"
client_id = "userprofile-web"
redirect_uri = "{base_url}/auth/callback"
resource = "{resource}"
[[oidc.issuers]]
issuer = "{issuer}"
audiences = ["{API}"]
leeway_seconds = 0
"#,
            data = data_dir.path().display(),
        );
        let file = data_dir.path().join("userprofile.toml");
        std::fs::write(&file, config).unwrap();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_userprofile"));
        command.arg("--config").arg(&file).arg("serve");
        if dev {
            command.arg("--dev");
        }
        let child = command
            .env("USERPROFILE_WEB__CLIENT_SECRET", "web-secret")
            .env("RUST_LOG", "warn")
            .env_remove("USERPROFILE_CONFIG")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..400 {
            let health = reqwest::get(format!("{base_url}/healthz")).await;
            if health.is_ok_and(|r| r.status() == 200) {
                return WebProcess {
                    base_url,
                    data_dir,
                    _child: child,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service did not start");
    }

    /// A development token (the process runs in dev mode) for a member of `tenant`.
    fn dev_token(&self, subject: &str, tenant: &str, role: &str) -> String {
        let key = DevKey::load_or_create(self.data_dir.path()).unwrap();
        key.issue(&DevTokenRequest {
            subject: subject.to_owned(),
            tenants: vec![DevTenant {
                id: tenant.to_owned(),
                name: None,
                role: role.to_owned(),
            }],
            operator: false,
            ttl_seconds: 600,
            extra_claims: Default::default(),
        })
        .unwrap()
    }

    async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = reqwest::Client::new()
            .post(format!("{}/graphql", self.base_url))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        body
    }
}

/// Registers a provider account that is an admin of `acme`, its claims in its access tokens.
async fn admin_account(provider: &OidcProvider, subject: &str) {
    let claims = json!({
        "name": "Olga Admin",
        "preferred_username": subject,
        "tenants": [{"id": "acme", "name": "Acme", "role": "admin"}],
    });
    provider.register(subject, claims, true).await;
}

peer_test!(the_web_ui_signs_in_with_the_code_flow_and_out_at_the_provider);
async fn the_web_ui_signs_in_with_the_code_flow_and_out_at_the_provider() {
    let provider = OidcProvider::own().await;
    let service = WebProcess::start(Backend::Sqlite, &provider, true).await;
    admin_account(&provider, "olga").await;
    let visitor = Visitor::at(&service.base_url);
    let (_, page) = visitor.page("/signin").await;
    assert!(page.contains("id=\"provider-sign-in\""), "{page}");

    // A callback this browser did not start is refused with a reason.
    let (status, page) = visitor.page("/auth/callback?code=x&state=y").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("not started here"), "{page}");

    let start = format!("{}/signin/oidc?login_hint=olga", service.base_url);
    let back = visitor.follow_to(start.parse().unwrap(), "/").await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER, "{:?}", back.headers());
    let (status, page) = visitor.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Olga Admin"), "{page}");
    assert!(
        page.contains("href=\"/admin/people\""),
        "the tenant claim made her an admin"
    );

    // A browser that comes straight to the provider's button gets its session on the way.
    let direct = Visitor::at(&service.base_url);
    direct.follow_to(start.parse().unwrap(), "/").await;
    assert_eq!(direct.page("/").await.0, StatusCode::OK);

    let response = visitor
        .form("/signout", &[("csrf", csrf_of(&page).as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end = response.headers()["location"].to_str().unwrap();
    assert!(
        end.starts_with(&format!("{}/session/end", provider.issuer)),
        "{end}"
    );
    assert!(end.contains("id_token_hint=") && end.contains("post_logout_redirect_uri="));
    assert_eq!(visitor.get("/").await.status(), StatusCode::SEE_OTHER);

    // Outside development mode the session cookie is Secure, and no development sign-in.
    let production = WebProcess::start(Backend::Sqlite, &provider, false).await;
    let response = reqwest::get(format!("{}/signin", production.base_url))
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert!(!response.text().await.unwrap().contains("/signin/dev"));
}

peer_test!(an_expired_access_token_is_renewed_with_the_refresh_token);
async fn an_expired_access_token_is_renewed_with_the_refresh_token() {
    let provider = OidcProvider::own().await;
    // Access tokens of this resource last 2 seconds.
    let short = "urn:userprofile:short";
    let service = WebProcess::start_for(Backend::Sqlite, &provider, true, short).await;
    admin_account(&provider, "olga").await;
    let visitor = Visitor::at(&service.base_url);
    let start = format!("{}/signin/oidc?login_hint=olga", service.base_url);
    visitor.follow_to(start.parse().unwrap(), "/").await;
    let (status, page) = visitor.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Olga Admin"), "{page}");

    for _ in 0..2 {
        // Past the token's `exp` (whole seconds): refused without a renewal.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        // The requests a page makes at once share one renewal.
        let pages = futures::future::join_all((0..4).map(|_| visitor.page("/"))).await;
        for (status, page) in pages {
            assert_eq!(status, StatusCode::OK, "renewed, still signed in");
            assert!(page.contains("Olga Admin"), "{page}");
        }
    }
}

peer_test!(a_browser_signs_in_edits_uploads_searches_and_reads_arabic);
async fn a_browser_signs_in_edits_uploads_searches_and_reads_arabic() {
    Peer::Browser.require();
    let provider = OidcProvider::own().await;
    let service = WebProcess::start(Backend::Postgres, &provider, true).await;
    admin_account(&provider, "olga").await;
    // The admin adds the avatar and a country field (the grid filters on it); a member with a
    // name to search for.
    let olga = provider.user_token("olga", API).await;
    let templates = "mutation { addFieldsFromTemplates(templateKeys: [\"avatar\", \"job_title\", \"country\"]) { added { key } } }";
    service.graphql(&olga, templates, json!({})).await;
    let bob = service.dev_token("bob", "acme", "member");
    let named = "mutation { updateMyProfile(input: { values: [{ key: \"name\", value: \"Bob Wong\" }] }) { version } }";
    service.graphql(&bob, named, json!({})).await;
    let avatar = service.data_dir.path().join("me.png");
    std::fs::write(&avatar, crate::files::png(120, 80)).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/peers/browser-web.mjs");
    let output = tokio::process::Command::new("node")
        .arg(script)
        .arg(&service.base_url)
        .arg("olga")
        .arg(&avatar)
        .arg("wong")
        .arg(SCREENSHOTS)
        .arg(&bob)
        .arg(&olga)
        .output()
        .await
        .expect("node runs the headless browser");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(outcome.get("error").is_none(), "{outcome:#}");
    assert!(
        outcome["signedInAs"]
            .as_str()
            .unwrap()
            .contains("Olga Admin"),
        "{outcome}"
    );
    assert_eq!(outcome["notice"], "Saved");
    assert_eq!(outcome["reloadedNickname"], "Countess");
    assert_eq!(
        outcome["liveNickname"], "Duchess",
        "the open card updated live"
    );
    assert!(outcome["thumbnailWidth"].as_i64().unwrap() > 0, "{outcome}");
    assert_eq!(outcome["tilesBefore"], 2);
    assert_eq!(outcome["tiles"], json!(["Bob Wong"]));
    assert_eq!(
        outcome["liveTiles"],
        json!(["Bob Wongstein"]),
        "the grid updated live"
    );
    let filtered = outcome["filteredUrl"].as_str().unwrap();
    assert!(filtered.contains("f.country=FR"), "{outcome}");
    assert_eq!(
        outcome["draftLabel"], "Crew",
        "the designer's preview as typed"
    );
    assert_eq!(
        (&outcome["lang"], &outcome["dir"]),
        (&json!("ar"), &json!("rtl"))
    );
    for (page, violations) in outcome["axe"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {page}: {violations:#}");
    }
}
