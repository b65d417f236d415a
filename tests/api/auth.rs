//! Authentication: what happens to missing, forged, expired and foreign tokens.

use serde_json::json;

use crate::common::{Backend, Call, TestApp, error_code, error_message, me_status};
use crate::storage_test;

storage_test!(no_token_is_unauthenticated);
async fn no_token_is_unauthenticated(app: TestApp) {
    let body = app
        .graphql(Call {
            query: "{ me { id } }",
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let other = TestApp::spawn(Backend::Sqlite).await;
    let forged = other.user_token("mallory", &[("acme", "owner")]);
    let (status, body) = me_status(&app, &forged).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(error_message(&body).contains("signature"), "{body}");
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("mallory", &[("acme", "member")]);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = String::from_utf8(base64_decode(&parts[1])).unwrap();
    let promoted = payload.replace("\"member\"", "\"owner\"");
    parts[1] = base64_encode(promoted.as_bytes());
    let (status, body) = me_status(&app, &parts.join(".")).await;
    assert_eq!(status, 401);
    assert!(error_message(&body).contains("signature"), "{body}");
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("mallory", &[("acme", "owner")]);
    let payload = token.split('.').nth(1).unwrap();
    let header = base64_encode(br#"{"alg":"none","typ":"JWT"}"#);
    let (status, body) = me_status(&app, &format!("{header}.{payload}.")).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(error_message(&body).contains("alg: none"), "{body}");
}

#[tokio::test]
async fn a_development_token_before_its_nbf_is_refused_naming_nbf() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let later = jsonwebtoken::get_current_timestamp() + 600;
    let claims = json!({"nbf": later}).as_object().unwrap().clone();
    let token = app.token("early", &[("acme", "member")], false, 3600, claims);
    let (status, body) = me_status(&app, &token).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(error_message(&body).contains("nbf"), "{body}");
}

/// Development tokens get the default leeway of 30 s on `exp` and `nbf`.
#[tokio::test]
async fn a_token_within_the_leeway_is_accepted_fresh_and_cached_until_the_leeway_ends() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Expired 28 s ago: accepted for about two more seconds.
    let token = app.token(
        "late",
        &[("acme", "member")],
        false,
        -28,
        Default::default(),
    );
    let (fresh, body) = me_status(&app, &token).await;
    assert_eq!(fresh, 200, "first use, verified afresh: {body}");
    let (cached, body) = me_status(&app, &token).await;
    assert_eq!(
        cached, 200,
        "second use, from the verified-token cache: {body}"
    );

    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    let (status, cached_refusal) = me_status(&app, &token).await;
    assert_eq!(
        status, 401,
        "the cache entry outlived the leeway: {cached_refusal}"
    );
    let beyond = app.token(
        "later",
        &[("acme", "member")],
        false,
        -120,
        Default::default(),
    );
    let (status, fresh_refusal) = me_status(&app, &beyond).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&cached_refusal),
        error_message(&fresh_refusal)
    );
}

#[tokio::test]
async fn a_token_expired_beyond_the_leeway_is_refused_alike_on_every_use() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token("old", &[("acme", "member")], false, -31, Default::default());
    let (first, first_body) = me_status(&app, &token).await;
    let (second, second_body) = me_status(&app, &token).await;
    assert_eq!((first, second), (401, 401));
    assert!(
        error_message(&first_body).contains("expired"),
        "{first_body}"
    );
    assert_eq!(error_message(&first_body), error_message(&second_body));
}

#[tokio::test]
async fn a_development_token_signed_with_another_algorithm_is_refused_naming_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user_token("mallory", &[("acme", "owner")]);
    let payload = token.split('.').nth(1).unwrap();
    let header = base64_encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    let (status, body) = me_status(&app, &format!("{header}.{payload}.c2ln")).await;
    assert_eq!(status, 401);
    assert!(error_message(&body).contains("algorithm"), "{body}");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token(
        "old",
        &[("acme", "member")],
        false,
        -120,
        Default::default(),
    );
    let (status, body) = me_status(&app, &token).await;
    assert_eq!(status, 401);
    assert!(error_message(&body).contains("expired"), "{body}");
}

#[tokio::test]
async fn garbage_and_non_bearer_credentials_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = me_status(&app, "not-a-jwt").await;
    assert_eq!(status, 401);
    assert!(error_message(&body).contains("well-formed"), "{body}");
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .basic_auth("alice", Some("secret"))
        .json(&json!({"query": "{ me { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn development_tokens_are_refused_when_development_mode_is_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.dev_mode = false).await;
    let token = app.user_token("alice", &[("acme", "admin")]);
    let (status, body) = me_status(&app, &token).await;
    assert_eq!(status, 401);
    assert!(
        error_message(&body).contains("development mode is off"),
        "{body}"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
