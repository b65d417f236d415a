//! Real sign-in against a real OpenID provider: provisioning, claims, operators, attacks.

use base64::Engine;
use serde_json::{Value, json};

use crate::common::oidc::{API, OidcProvider};
use crate::common::{Backend, TestApp, error_code, error_message, me_status};
use crate::peer_test;
use crate::storage_test;

const ME: &str =
    "{ me { id username email emailVerified firstName lastName tenants { slug name role } } }";

async fn app_for(backend: Backend, provider: &OidcProvider) -> TestApp {
    let issuer = provider.issuer_config();
    TestApp::spawn_with(backend, |c| c.oidc.issuers = vec![issuer]).await
}

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

async fn assert_refused(app: &TestApp, token: &str, check: &str) {
    let (status, body) = me_status(app, token).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(
        error_message(&body).contains(check),
        "expected {check:?}: {body}"
    );
}

storage_test!(backend first_sign_in_provisions_the_card_from_token_claims);
async fn first_sign_in_provisions_the_card_from_token_claims(backend: Backend) {
    let provider = OidcProvider::shared();
    let app = app_for(backend, &provider).await;
    let sub = unique("alice");
    let claims = json!({
        "email": "alice@example.com", "email_verified": true, "preferred_username": "alice",
        "given_name": "Alice", "family_name": "Liddell", "name": "Alice Liddell",
        "picture": "https://example.com/alice.png", "locale": "en-GB",
        "tenants": [{"id": "wonderland", "name": "Wonderland", "role": "owner"}, {"id": "looking-glass", "role": "member"}]
    });
    provider.register(&sub, claims, true).await;
    let token = provider.user_token(&sub, API).await;
    let me = app.ok(&token, ME, json!({})).await["me"].clone();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["emailVerified"], true);
    assert_eq!(me["firstName"], "Alice");
    assert_eq!(me["lastName"], "Liddell");
    assert_eq!(
        me["tenants"],
        json!([{"slug": "wonderland", "name": "Wonderland", "role": "OWNER"},
               {"slug": "looking-glass", "name": "looking-glass", "role": "MEMBER"}])
    );
}

storage_test!(backend claims_missing_from_the_token_come_from_userinfo);
async fn claims_missing_from_the_token_come_from_userinfo(backend: Backend) {
    let provider = OidcProvider::shared();
    let app = app_for(backend, &provider).await;
    let sub = unique("bob");
    let claims = json!({"email": "bob@example.com", "given_name": "Bob", "family_name": "Builder",
        "tenants": [{"id": "builders", "role": "admin"}]});
    provider.register(&sub, claims, false).await;
    let token = provider.user_token(&sub, API).await;
    let me = app.ok(&token, ME, json!({})).await["me"].clone();
    assert_eq!(me["email"], "bob@example.com");
    assert_eq!(me["firstName"], "Bob");
    assert_eq!(me["tenants"][0]["role"], "ADMIN");
}

storage_test!(backend later_sign_ins_refresh_identity_claims);
async fn later_sign_ins_refresh_identity_claims(backend: Backend) {
    let provider = OidcProvider::shared();
    let app = app_for(backend, &provider).await;
    let sub = unique("carol");
    provider
        .register(
            &sub,
            json!({"email": "carol@old.example", "email_verified": false}),
            true,
        )
        .await;
    let first = app
        .ok(&provider.user_token(&sub, API).await, ME, json!({}))
        .await;
    provider
        .register(
            &sub,
            json!({"email": "carol@new.example", "email_verified": true}),
            true,
        )
        .await;
    let second = app
        .ok(&provider.user_token(&sub, API).await, ME, json!({}))
        .await;
    assert_eq!(first["me"]["id"], second["me"]["id"]);
    assert_eq!(second["me"]["email"], "carol@new.example");
    assert_eq!(second["me"]["emailVerified"], true);
}

storage_test!(backend zitadel_roles_claims_become_memberships);
async fn zitadel_roles_claims_become_memberships(backend: Backend) {
    let provider = OidcProvider::shared();
    let mut issuer = provider.issuer_config();
    issuer.tenants_claim = "urn:zitadel:iam:org:project:roles".to_owned();
    let app = TestApp::spawn_with(backend, |c| c.oidc.issuers = vec![issuer]).await;
    let sub = unique("zed");
    let roles = json!({
        "member": {"1001": "acme.example", "1002": "globex.example"},
        "admin": {"1001": "acme.example"},
        "auditor": {"1003": "initech.example"}
    });
    provider
        .register(
            &sub,
            json!({"email": "zed@example.com", "urn:zitadel:iam:org:project:roles": roles}),
            true,
        )
        .await;
    let me = app
        .ok(&provider.user_token(&sub, API).await, ME, json!({}))
        .await;
    let mut tenants = me["me"]["tenants"].as_array().unwrap().clone();
    tenants.sort_by_key(|t| t["slug"].as_str().unwrap().to_owned());
    assert_eq!(
        tenants,
        [
            json!({"slug": "1001", "name": "acme.example", "role": "ADMIN"}),
            json!({"slug": "1002", "name": "globex.example", "role": "MEMBER"})
        ]
    );
}

storage_test!(backend two_first_requests_of_a_new_user_create_one_user);
async fn two_first_requests_of_a_new_user_create_one_user(backend: Backend) {
    let provider = OidcProvider::shared();
    let app = app_for(backend, &provider).await;
    let sub = unique("dora");
    provider
        .register(
            &sub,
            json!({"email": "dora@example.com", "tenants": [{"id": "explorers"}]}),
            true,
        )
        .await;
    let first = provider.user_token(&sub, API).await;
    let second = provider.user_token(&sub, API).await;
    assert_ne!(first, second);
    let (a, b) = tokio::join!(app.user_id(&first), app.user_id(&second));
    assert_eq!(a, b);
}

storage_test!(backend operator_tokens_get_operator_rights);
async fn operator_tokens_get_operator_rights(backend: Backend) {
    let provider = OidcProvider::shared();
    let app = app_for(backend, &provider).await;
    let operator = provider
        .client_token(
            "userprofile-operator",
            "operator-secret",
            "userprofile:operator",
        )
        .await;
    let create = "mutation { createTenant(input: {slug: \"ops-made\", name: \"Ops\"}) { slug } }";
    let created = app.ok(&operator, create, json!({})).await;
    assert_eq!(created["createTenant"]["slug"], "ops-made");
    let unscoped = provider
        .client_token("other-operator", "other-secret", "userprofile:operator")
        .await;
    let (status, body) = me_status(&app, &unscoped).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(&body), "FORBIDDEN");
}

peer_test!(attack_tokens_are_refused_naming_the_failed_check);
async fn attack_tokens_are_refused_naming_the_failed_check() {
    let provider = OidcProvider::shared();
    let app = app_for(Backend::Sqlite, &provider).await;
    let sub = unique("mallory");
    provider
        .register(
            &sub,
            json!({"tenants": [{"id": "victims", "role": "member"}]}),
            true,
        )
        .await;
    let good = provider.user_token(&sub, API).await;
    let parts: Vec<&str> = good.split('.').collect();

    let payload = decode(parts[1]).replace("\"member\"", "\"owner\"");
    let tampered = format!("{}.{}.{}", parts[0], encode(payload.as_bytes()), parts[2]);
    assert_refused(&app, &tampered, "signature").await;

    let unsigned = format!("{}.{}.", encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    assert_refused(&app, &unsigned, "alg: none").await;

    // HMAC with the provider's public key as the secret: the classic algorithm confusion.
    let jwks: Value = reqwest::get(format!("{}/jwks", provider.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
    let claims: Value = serde_json::from_str(&decode(parts[1])).unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let confused = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    assert_refused(&app, &confused, "HMAC").await;

    let wrong_audience = provider.user_token(&sub, "urn:other:api").await;
    assert_refused(&app, &wrong_audience, "audience").await;

    let short = provider.user_token(&sub, "urn:userprofile:short").await;
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    assert_refused(&app, &short, "expired").await;

    let stranger = OidcProvider::own().await;
    let foreign = stranger.user_token(&sub, API).await;
    assert_refused(&app, &foreign, "not trusted").await;

    let (status, _) = me_status(&app, &good).await;
    assert_eq!(status, 200, "the genuine token still works");
}

peer_test!(es256_tokens_are_accepted);
async fn es256_tokens_are_accepted() {
    let provider = OidcProvider::shared();
    let app = app_for(Backend::Sqlite, &provider).await;
    let token = provider
        .user_token(&unique("erin"), "urn:userprofile:es256")
        .await;
    let header = decode(token.split('.').next().unwrap());
    assert!(header.contains("ES256"), "{header}");
    assert_eq!(me_status(&app, &token).await.0, 200);
}

peer_test!(rotated_keys_are_fetched_and_retired_keys_refused);
async fn rotated_keys_are_fetched_and_retired_keys_refused() {
    let provider = OidcProvider::own().await;
    let app = app_for(Backend::Sqlite, &provider).await;
    let sub = unique("rita");
    let before = provider.user_token(&sub, API).await;
    let unused_before = provider.user_token(&sub, API).await;
    assert_eq!(me_status(&app, &before).await.0, 200);
    provider.rotate_keys().await;
    let after = provider.user_token(&sub, API).await;
    assert_eq!(
        me_status(&app, &after).await.0,
        200,
        "a new kid makes the service refetch keys"
    );
    assert_refused(&app, &unused_before, "not among the issuer's keys").await;
}

peer_test!(unknown_kids_do_not_refetch_keys_more_often_than_the_floor);
async fn unknown_kids_do_not_refetch_keys_more_often_than_the_floor() {
    let provider = OidcProvider::own().await;
    let mut issuer = provider.issuer_config();
    issuer.jwks_refresh_floor_seconds = 3600;
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.oidc.issuers = vec![issuer]).await;
    let sub = unique("flo");
    assert_eq!(
        me_status(&app, &provider.user_token(&sub, API).await)
            .await
            .0,
        200
    );
    provider.rotate_keys().await;
    // The key set was fetched moments ago: a new kid is refused instead of fetched again.
    let after = provider.user_token(&sub, API).await;
    assert_refused(&app, &after, "not among the issuer's keys").await;
}

fn decode(segment: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap(),
    )
    .unwrap()
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

peer_test!(provider_keys_are_fetched_at_start_up);
async fn provider_keys_are_fetched_at_start_up() {
    let provider = OidcProvider::own().await;
    let token = provider.user_token(&unique("early"), API).await;
    let app = app_for(Backend::Sqlite, &provider).await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    drop(provider);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, body) = me_status(&app, &token).await;
    assert_eq!(
        status, 200,
        "keys fetched at start-up verify the token while the provider is down: {body}"
    );
}
