//! A fresh, migrated database per test, cloned from a template migrated once per test process
//! (migrating from scratch took most of a test's time). The service still runs its migrations
//! on start; on a clone they have nothing to do.

use std::path::Path;

use sea_orm::ConnectionTrait;
use tokio::sync::{Mutex, OnceCell};

/// This process's PostgreSQL template database, once created. Its lock also serializes the
/// clones: PostgreSQL refuses to clone a database while another clone of it runs.
static POSTGRES_TEMPLATE: Mutex<Option<String>> = Mutex::const_new(None);

/// The bytes of a migrated SQLite database file.
static SQLITE_TEMPLATE: OnceCell<Vec<u8>> = OnceCell::const_new();

/// A new migrated database on the PostgreSQL server at `server` (a URL to any database on it);
/// returns its URL. Its name starts with `userprofile_test_`, which scripts/test.sh drops.
pub async fn fresh_postgres(server: &str) -> String {
    let admin = userprofile::db::connect(server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server}: {e}"));
    let name = format!("userprofile_test_{}", uuid::Uuid::new_v4().simple());
    {
        let mut slot = POSTGRES_TEMPLATE.lock().await;
        let template = match &mut *slot {
            Some(template) => template,
            empty @ None => empty.insert(postgres_template(&admin, server).await),
        };
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap_or_else(|e| panic!("cannot clone the template database {template}: {e}"));
    }
    admin.close().await.unwrap();
    database_url(server, &name)
}

/// Creates and migrates this process's template (its name, with the pid and a random part,
/// collides with no other process's), leaving no connection to it open.
async fn postgres_template(admin: &sea_orm::DatabaseConnection, server: &str) -> String {
    let name = format!(
        "userprofile_test_template_{}_{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let db = userprofile::db::connect_and_migrate(&database_url(server, &name))
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the template database {name}: {e}"));
    db.close().await.unwrap();
    name
}

/// `server`'s URL naming database `name` instead, its query (e.g. `sslmode`) kept.
fn database_url(server: &str, name: &str) -> String {
    let mut url = reqwest::Url::parse(server)
        .unwrap_or_else(|e| panic!("PostgreSQL URL {server:?} does not parse: {e}"));
    url.set_path(name);
    url.into()
}

/// A migrated SQLite database file at `path`; returns its URL.
pub async fn fresh_sqlite(path: &Path) -> String {
    let template = SQLITE_TEMPLATE.get_or_init(sqlite_template).await;
    std::fs::write(path, template).unwrap();
    sqlite_url(path)
}

async fn sqlite_template() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("template.db");
    let db = userprofile::db::connect_and_migrate(&sqlite_url(&path))
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the SQLite template: {e}"));
    // Closing the last connection moves the write-ahead log into the file.
    db.close().await.unwrap();
    assert!(
        !folder.path().join("template.db-wal").exists(),
        "the SQLite template kept a write-ahead log"
    );
    std::fs::read(&path).unwrap()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
