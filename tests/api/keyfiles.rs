//! Key files in the data folder: private, and one key however many instances start at once.

use std::path::Path;

use userprofile::AppState;
use userprofile::auth::dev::{DevKey, DevTokenRequest};
use userprofile::config::Config;

fn config(data_dir: &Path, database: &str) -> Config {
    Config {
        dev_mode: true,
        data_dir: data_dir.to_owned(),
        database_url: format!("sqlite://{}?mode=rwc", data_dir.join(database).display()),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_on_a_fresh_data_folder_share_private_keys() {
    userprofile::install_crypto_provider();
    let data_dir = tempfile::tempdir().unwrap();
    let first = tokio::spawn(AppState::new(config(data_dir.path(), "a.db")));
    let second = tokio::spawn(AppState::new(config(data_dir.path(), "b.db")));
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );

    #[cfg(unix)]
    for name in ["dev-signing.key", "file-url.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is private");
    }

    let file_id = uuid::Uuid::new_v4();
    let url = a.files.signed_url(file_id, None);
    let (exp, sig) = url
        .split_once("?exp=")
        .unwrap()
        .1
        .split_once("&sig=")
        .unwrap();
    assert!(
        b.files
            .signature_valid(file_id, None, exp.parse().unwrap(), sig),
        "a file URL signed by one instance is genuine on the other"
    );

    let token = DevKey::load_or_create(data_dir.path())
        .unwrap()
        .issue(&DevTokenRequest {
            subject: "alice".into(),
            tenants: Vec::new(),
            operator: false,
            ttl_seconds: 60,
            extra_claims: Default::default(),
        })
        .unwrap();
    for state in [&a, &b] {
        assert!(
            state.auth.verify(&token).await.is_ok(),
            "same development key"
        );
    }
}

#[tokio::test]
async fn a_short_or_malformed_key_file_stops_start_up_with_a_clear_error() {
    userprofile::install_crypto_provider();
    for (name, content, expected) in [
        ("file-url.key", "abcd", "2-byte key"),
        ("dev-signing.key", "zz-not-hex", "not a hex-encoded key"),
    ] {
        let data_dir = tempfile::tempdir().unwrap();
        std::fs::write(data_dir.path().join(name), content).unwrap();
        let error = AppState::new(config(data_dir.path(), "test.db"))
            .await
            .err()
            .unwrap_or_else(|| panic!("started with a bad {name}"));
        let message = format!("{error:#}");
        assert!(
            message.contains(name) && message.contains(expected),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_short_configured_url_signing_key_stops_start_up() {
    userprofile::install_crypto_provider();
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = config(data_dir.path(), "test.db");
    config.storage.url_signing_key = Some("00ff".into());
    let error = AppState::new(config).await.err().unwrap();
    let message = format!("{error:#}");
    assert!(message.contains("storage.url_signing_key"), "{message}");
}
