//! Domain tests: the use cases and storage domains driven directly, without HTTP or GraphQL, on
//! an SQLite file. They need no peer, so plain `cargo test` runs them, in a second or two.
//! Capabilities come only from a `Session`, as in the service: each test signs in with a
//! development token and asks the session for what it needs.

#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Map, Value, json};
use userprofile::AppState;
use userprofile::auth::dev::{DevKey, DevTenant, DevTokenRequest};
use userprofile::config::Config;
use userprofile::core::Role;
use userprofile::error::Error;
use userprofile::fields::store as definitions;
use userprofile::fields::{Access, AccessLevels, FieldKey, FieldKind, FieldSpec, FieldValue};
use userprofile::profiles::{self, ValueChange};
use userprofile::session::Session;
use userprofile::tenants;

/// A service without its HTTP surface, over a fresh SQLite file.
struct Domain {
    state: Arc<AppState>,
    key: DevKey,
    _dir: tempfile::TempDir,
}

impl Domain {
    async fn new() -> Domain {
        userprofile::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            dev_mode: true,
            data_dir: dir.path().to_owned(),
            database_url: format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("domain.db").display()
            ),
            ..Config::default()
        };
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let state = AppState::new(config).await.unwrap();
        Domain {
            state,
            key,
            _dir: dir,
        }
    }

    /// Signs `subject` in with a token claiming `tenants` and opens a session in `active`.
    async fn session(&self, subject: &str, tenants: &[(&str, &str)], active: &str) -> Session {
        let token = self.token(subject, tenants);
        let principal = self
            .state
            .signin
            .principal(self.state.databases(), &self.state.auth, &token)
            .await
            .unwrap();
        Session::resolve(&self.state.db, principal, Some(active))
            .await
            .unwrap()
    }

    fn token(&self, subject: &str, tenants: &[(&str, &str)]) -> String {
        let request = DevTokenRequest {
            subject: subject.to_owned(),
            tenants: tenants
                .iter()
                .map(|(id, role)| DevTenant {
                    id: (*id).to_owned(),
                    name: None,
                    role: (*role).to_owned(),
                })
                .collect(),
            operator: false,
            ttl_seconds: 3600,
            extra_claims: Map::new(),
        };
        self.key.issue(&request).unwrap()
    }

    /// Defines a custom field as `admin_session`'s admin.
    async fn define(&self, admin_session: &Session, key: &str, kind: FieldKind, member: Access) {
        let spec = FieldSpec {
            key: FieldKey::parse(key).unwrap(),
            kind,
            labels: [("en".to_owned(), key.to_owned())].into(),
            help: Default::default(),
            options: Vec::new(),
            rules: Default::default(),
            required: false,
            access: AccessLevels::or_defaults(None, Some(member), None),
        };
        let admin = admin_session.admin().unwrap();
        definitions::create(&self.state.db, &self.state.fields, &admin, spec)
            .await
            .unwrap();
    }

    async fn save_own(&self, session: &Session, values: &[(&str, Value)]) -> Result<(), Error> {
        let changes = values
            .iter()
            .map(|(key, value)| ValueChange {
                key: (*key).to_owned(),
                value: value.clone(),
            })
            .collect();
        let member = session.member()?;
        let stores = profiles::Stores {
            db: &self.state.db,
            registry: &self.state.fields,
            files: &self.state.files,
            events: &self.state.events,
        };
        profiles::update_own(stores, &member, changes, None)
            .await
            .map(drop)
    }

    /// `subject`'s card as `viewer` sees it: key → value.
    async fn card(&self, viewer: &Session, subject: &Session) -> Vec<(String, Option<FieldValue>)> {
        let subject_id = subject.user().unwrap().user.id;
        let member = viewer.member().unwrap();
        let card = profiles::read(&self.state.db, &self.state.fields, &member, subject_id)
            .await
            .unwrap();
        card.values
            .into_iter()
            .map(|v| (v.field.key.as_str().to_owned(), v.value))
            .collect()
    }
}

fn code<T>(result: Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "OK",
        Err(error) => error.code(),
    }
}

#[tokio::test]
async fn a_session_mints_only_the_capabilities_of_the_callers_role() {
    let domain = Domain::new().await;
    for (role, member, admin, owner) in [
        ("member", "OK", "FORBIDDEN", "FORBIDDEN"),
        ("admin", "OK", "OK", "FORBIDDEN"),
        ("owner", "OK", "OK", "OK"),
    ] {
        let session = domain
            .session(&format!("{role}-1"), &[("acme", role)], "acme")
            .await;
        assert_eq!(code(session.member()), member, "{role}");
        assert_eq!(code(session.admin()), admin, "{role}");
        assert_eq!(code(session.owner()), owner, "{role}");
        assert_eq!(code(session.operator()), "FORBIDDEN", "{role}");
        assert_eq!(code(session.global_operator()), "FORBIDDEN", "{role}");
    }
}

#[tokio::test]
async fn a_field_hidden_from_members_never_reaches_another_member() {
    let domain = Domain::new().await;
    let admin = domain.session("ada", &[("acme", "admin")], "acme").await;
    domain
        .define(&admin, "salary_band", FieldKind::ShortText, Access::Hidden)
        .await;
    domain
        .define(&admin, "team", FieldKind::ShortText, Access::Read)
        .await;
    let alice = domain.session("alice", &[("acme", "member")], "acme").await;
    let bob = domain.session("bob", &[("acme", "member")], "acme").await;
    domain
        .save_own(
            &alice,
            &[("salary_band", json!("B2")), ("team", json!("Core"))],
        )
        .await
        .unwrap();

    let seen_by_bob = domain.card(&bob, &alice).await;
    assert!(seen_by_bob.iter().all(|(key, _)| key != "salary_band"));
    assert!(seen_by_bob.contains(&("team".into(), Some(FieldValue::Text("Core".into())))));
    let seen_by_admin = domain.card(&admin, &alice).await;
    assert!(seen_by_admin.contains(&("salary_band".into(), Some(FieldValue::Text("B2".into())))));
    let seen_by_alice = domain.card(&alice, &alice).await;
    assert!(seen_by_alice.contains(&("salary_band".into(), Some(FieldValue::Text("B2".into())))));
}

#[tokio::test]
async fn values_come_back_typed_by_their_kind() {
    let domain = Domain::new().await;
    let admin = domain.session("ada", &[("acme", "admin")], "acme").await;
    for (key, kind) in [
        ("started", FieldKind::Date),
        ("desks", FieldKind::Integer),
        ("remote", FieldKind::Switch),
        ("score", FieldKind::Number),
    ] {
        domain.define(&admin, key, kind, Access::Read).await;
    }
    let alice = domain.session("alice", &[("acme", "member")], "acme").await;
    domain
        .save_own(
            &alice,
            &[
                ("started", json!("2024-02-29")),
                ("desks", json!(2)),
                ("remote", json!(true)),
                ("score", json!(4.5)),
            ],
        )
        .await
        .unwrap();
    let card = domain.card(&alice, &alice).await;
    let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    for expected in [
        ("started", FieldValue::Date(date)),
        ("desks", FieldValue::Integer(2)),
        ("remote", FieldValue::Bool(true)),
        (
            "score",
            FieldValue::Number(serde_json::Number::from_f64(4.5).unwrap()),
        ),
    ] {
        assert!(
            card.contains(&(expected.0.into(), Some(expected.1.clone()))),
            "{expected:?} in {card:?}"
        );
    }
    let wrong = domain.save_own(&alice, &[("desks", json!(1.5))]).await;
    assert_eq!(code(wrong), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_demoted_admin_stays_demoted_when_signing_in_again() {
    let domain = Domain::new().await;
    let owner = domain.session("olga", &[("acme", "owner")], "acme").await;
    let admin = domain.session("ada", &[("acme", "admin")], "acme").await;
    let ada_id = admin.user().unwrap().user.id;
    let owner_capability = owner.owner().unwrap();
    tenants::change_role(
        &domain.state.db,
        &domain.state.events,
        &owner_capability,
        ada_id,
        Role::Member,
    )
    .await
    .unwrap();

    // The same token (still claiming admin) opens the next session: the owner's change holds.
    let again = domain.session("ada", &[("acme", "admin")], "acme").await;
    assert_eq!(code(again.admin()), "FORBIDDEN");
    assert_eq!(code(again.member()), "OK");
}

#[tokio::test]
async fn the_last_owner_cannot_demote_themselves() {
    let domain = Domain::new().await;
    let owner = domain.session("olga", &[("acme", "owner")], "acme").await;
    let olga = owner.user().unwrap().user.id;
    let capability = owner.owner().unwrap();
    let demoted = tenants::change_role(
        &domain.state.db,
        &domain.state.events,
        &capability,
        olga,
        Role::Member,
    )
    .await;
    assert_eq!(code(demoted), "CONFLICT");
}
