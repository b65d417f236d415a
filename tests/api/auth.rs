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
