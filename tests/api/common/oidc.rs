//! A client of the real test OpenID provider (scripts/peers/oidc-provider.mjs): registers
//! accounts, signs in with authorization code + PKCE, gets client-credentials tokens.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use userprofile::config::IssuerConfig;

use super::Peer;

/// The audience of the service's access tokens at the test provider.
pub const API: &str = "urn:userprofile:api";
const CALLBACK: &str = "http://127.0.0.1/callback";

/// A test OpenID provider.
pub struct OidcProvider {
    pub issuer: String,
    http: reqwest::Client,
    _own: Option<OwnProcess>,
}

/// A provider started by [`OidcProvider::own`], stopped when dropped.
struct OwnProcess {
    peers_dir: tempfile::TempDir,
}

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/peers");

impl Drop for OwnProcess {
    fn drop(&mut self) {
        let _ = std::process::Command::new(format!("{PEERS}/stop-oidc.sh"))
            .env("PEERS_DIR", self.peers_dir.path())
            .status();
    }
}

impl OidcProvider {
    /// The provider scripts/test.sh started (`OIDC_ISSUER`).
    pub fn shared() -> OidcProvider {
        OidcProvider {
            issuer: Peer::Oidc.require(),
            http: client(),
            _own: None,
        }
    }

    /// A provider of this test's own (for key rotation, which would disturb other tests),
    /// started by scripts/peers/start-oidc.sh: a start that hangs fails within seconds with the
    /// process's state, a slow one (the suite loads both cores) is waited for up to a minute.
    pub async fn own() -> OidcProvider {
        Peer::Oidc.require();
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let own = OwnProcess {
            peers_dir: tempfile::tempdir().unwrap(),
        };
        let started = tokio::process::Command::new(format!("{PEERS}/start-oidc.sh"))
            .env("OIDC_PORT", port.to_string())
            .env("PEERS_DIR", own.peers_dir.path())
            .output()
            .await
            .expect("bash runs scripts/peers/start-oidc.sh");
        assert!(
            started.status.success(),
            "the OpenID provider did not start: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        OidcProvider {
            issuer: String::from_utf8_lossy(&started.stdout).trim().to_owned(),
            http: client(),
            _own: Some(own),
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
