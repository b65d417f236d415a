//! A client of the real test OpenID provider (scripts/peers/oidc-provider.mjs): registers
//! accounts, signs in with authorization code + PKCE, gets client-credentials tokens.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use userprofile::config::IssuerConfig;

/// The audience of the service's access tokens at the test provider.
pub const API: &str = "urn:userprofile:api";
const CALLBACK: &str = "http://127.0.0.1/callback";

/// A test OpenID provider.
pub struct OidcProvider {
    pub issuer: String,
    http: reqwest::Client,
    _process: Option<tokio::process::Child>,
}

impl OidcProvider {
    /// The provider scripts/test.sh started (`OIDC_ISSUER`).
    pub fn shared() -> OidcProvider {
        let issuer = std::env::var("OIDC_ISSUER").unwrap_or_else(|_| {
            panic!("OIDC_ISSUER is not set: run the tests through scripts/test.sh, which starts the OpenID provider")
        });
        OidcProvider {
            issuer,
            http: client(),
            _process: None,
        }
    }

    /// A provider of this test's own (for key rotation, which would disturb other tests).
    pub async fn own() -> OidcProvider {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/peers/oidc-provider.mjs"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .env("OIDC_PORT", port.to_string())
            .stdout(std::process::Stdio::piped())
            // Its complaints (a port taken, a crash) belong in the test log.
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test OpenID provider");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        // Generous: node starts slowly while the suite loads both cores.
        let ready = tokio::time::timeout(std::time::Duration::from_secs(90), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line == "ready" {
                    return true;
                }
            }
            false
        });
        let ready = ready
            .await
            .expect("the OpenID provider did not start within 90 s");
        assert!(ready, "the OpenID provider exited before it was ready");
        OidcProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            http: client(),
            _process: Some(child),
        }
    }

    /// The service's configuration for this provider: operator client `userprofile-operator`
    /// granted every tenant, no clock leeway (so expiry tests need not wait).
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig {
            issuer: self.issuer.clone(),
            audiences: vec![API.to_owned()],
            operator_scope: "userprofile:operator".to_owned(),
            operator_tenants: [("userprofile-operator".to_owned(), vec!["*".to_owned()])].into(),
            tenants_claim: "tenants".to_owned(),
            memberships: Default::default(),
            claim_mappings: Default::default(),
            leeway_seconds: 0,
            jwks_refresh_floor_seconds: 0,
        }
    }

    /// Registers (or replaces) an account with claims; `in_access_token` copies them into
    /// access tokens, otherwise only userinfo has them.
    pub async fn register(&self, subject: &str, claims: Value, in_access_token: bool) {
        let body =
            json!({"sub": subject, "claims": claims, "claimsInAccessToken": in_access_token});
        let response = self
            .http
            .post(format!("{}/__test/accounts", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    /// Signs `subject` in with authorization code + PKCE and returns an access token for
    /// `resource`.
    pub async fn user_token(&self, subject: &str, resource: &str) -> String {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&format!("{}/auth", self.issuer)).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", "userprofile-test")
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("scope", "openid profile email")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "test-state")
            .append_pair("login_hint", subject);
        let code = self.follow_to_callback(url).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", "userprofile-test"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", CALLBACK),
            ("resource", resource),
        ];
        self.token_request(&form, None).await
    }

    async fn follow_to_callback(&self, mut url: reqwest::Url) -> String {
        for _ in 0..10 {
            let response = self.http.get(url.clone()).send().await.unwrap();
            let location = response
                .headers()
                .get("location")
                .unwrap_or_else(|| panic!("no redirect from {url}: {}", response.status()))
                .to_str()
                .unwrap()
                .to_owned();
            let next = url.join(&location).unwrap();
            if next.as_str().starts_with(CALLBACK) {
                let pairs: std::collections::HashMap<_, _> =
                    next.query_pairs().into_owned().collect();
                return pairs
                    .get("code")
                    .cloned()
                    .unwrap_or_else(|| panic!("no code: {next}"));
            }
            url = next;
        }
        panic!("too many redirects signing in");
    }

    /// A client-credentials token of `client` asking for `scope`.
    pub async fn client_token(&self, client: &str, secret: &str, scope: &str) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", API),
        ];
        self.token_request(&form, Some((client, secret))).await
    }

    async fn token_request(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> String {
        let mut request = self.http.post(format!("{}/token", self.issuer)).form(form);
        if let Some((client, secret)) = basic {
            request = request.basic_auth(client, Some(secret));
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {body}"))
            .to_owned()
    }

    /// Replaces the provider's signing keys; only the new ones are published afterwards.
    pub async fn rotate_keys(&self) {
        let response = self
            .http
            .post(format!("{}/__test/rotate-keys", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
