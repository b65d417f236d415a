//! Single app profiles: a user's own reads and writes, and an operator's reads in its tenant.

use entity::{app, app_profile};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use super::access::{Operator, OwnProfiles};
use super::document::Document;
use super::problems;
use super::{Apps, registry, store};
use crate::auth::TenantScope;
use crate::error::{Error, Result};
use crate::integrity::version::{stale, versioned_update};

/// How often a patch or a delete without `expectedVersion` is retried when another write got
/// in between.
const WRITE_ATTEMPTS: usize = 3;

/// How many user ids an access refusal names.
const NAMED_USERS: usize = 10;

impl Apps {
    /// The user's own profiles, by app id: for one app, or for every app when `app_id` is `None`.
    pub async fn mine(
        &self,
        own: &OwnProfiles,
        app_id: Option<&str>,
    ) -> Result<Vec<app_profile::Model>> {
        let mut query =
            app_profile::Entity::find().filter(app_profile::Column::UserId.eq(own.user_id()));
        if let Some(app_id) = app_id {
            query = query.filter(app_profile::Column::AppId.eq(app_id));
        }
        Ok(query
            .order_by_asc(app_profile::Column::AppId)
            .all(&self.db)
            .await?)
    }

    /// Creates the user's profile for an app; CONFLICT when it exists.
    pub async fn create_mine(
        &self,
        own: &OwnProfiles,
        app_id: &str,
        data: Value,
    ) -> Result<app_profile::Model> {
        let app = registry::get(&self.db, app_id).await?;
        let document = self.checked(&app, data, "/data").await?;
        let now = crate::db::now();
        let row = app_profile::Model {
            user_id: own.user_id(),
            app_id: app.id,
            data: document.into_value(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let inserted = app_profile::Entity::insert(app_profile::ActiveModel::from(row.clone()))
            .on_conflict(
                OnConflict::columns([app_profile::Column::UserId, app_profile::Column::AppId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        if inserted == 0 {
            return Err(Error::Conflict(format!(
                "you have a profile for app {:?} already: change it with updateMyAppProfile",
                row.app_id
            )));
        }
        Ok(row)
    }

    /// Applies an RFC 7386 merge patch to the user's profile for an app. With
    /// `expected_version`, a profile changed since is CONFLICT; without it, the patch is
    /// re-applied to the newer document, so no write is ever lost.
    pub async fn update_mine(
        &self,
        own: &OwnProfiles,
        app_id: &str,
        patch: Value,
        expected_version: Option<i32>,
    ) -> Result<app_profile::Model> {
        let patch = Document::parse(patch, self.limits, "/patch").map_err(problems::one)?;
        let app = registry::get(&self.db, app_id).await?;
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.own_row(own, &app.id).await?;
            check_version(&current, expected_version)?;
            let merged = stored(&current)?
                .merge(patch.clone(), self.limits)
                .map_err(problems::one)?;
            self.check_schema(&app, &merged, "/patch").await?;
            if let Some(updated) = self.compare_and_set(current, merged).await? {
                return Ok(updated);
            }
            // Another write got in between: read again; with `expected_version`, the next
            // check reports the version as stale.
        }
        Err(Error::Conflict(
            "the profile changed concurrently several times in a row: retry".into(),
        ))
    }

    /// Deletes the user's own profile for an app and returns its last state; NOT_FOUND when
    /// there is none. With `expected_version`, a profile changed since is CONFLICT and stays.
    pub async fn delete_mine(
        &self,
        own: &OwnProfiles,
        app_id: &str,
        expected_version: Option<i32>,
    ) -> Result<app_profile::Model> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.own_row(own, app_id).await?;
            check_version(&current, expected_version)?;
            let deleted = app_profile::Entity::delete_many()
                .filter(still_at(&current))
                .exec(&self.db)
                .await?
                .rows_affected;
            if deleted > 0 {
                return Ok(current);
            }
            // Changed in between: read again; with `expected_version`, the next check reports
            // the version as stale.
        }
        Err(Error::Conflict(
            "the profile changed concurrently several times in a row: retry".into(),
        ))
    }

    /// A member's profile for an app, read by an operator of the active tenant: NOT_FOUND when
    /// the user is not a member there (whether or not the user exists), `None` when the member
    /// has no profile for the app.
    pub async fn member_profile(
        &self,
        tenant: &Operator<'_>,
        user_id: Uuid,
        app_id: &str,
    ) -> Result<Option<app_profile::Model>> {
        require_members(&self.db, tenant.scope(), &[user_id]).await?;
        let app = registry::get(&self.db, app_id).await?;
        Ok(app_profile::Entity::find_by_id((user_id, app.id))
            .one(&self.db)
            .await?)
    }

    /// Checks a new document and the app's schema; refusals are located under `pointer`.
    async fn checked(&self, app: &app::Model, value: Value, pointer: &str) -> Result<Document> {
        let document = Document::parse(value, self.limits, pointer).map_err(problems::one)?;
        self.check_schema(app, &document, pointer).await?;
        Ok(document)
    }

    async fn check_schema(
        &self,
        app: &app::Model,
        document: &Document,
        pointer: &str,
    ) -> Result<()> {
        let Some(schema) = self.validators.of(app).await? else {
            return Ok(());
        };
        let violations = schema.violations(document, pointer);
        if violations.is_empty() {
            return Ok(());
        }
        Err(problems::into_error(violations))
    }

    async fn own_row(&self, own: &OwnProfiles, app_id: &str) -> Result<app_profile::Model> {
        app_profile::Entity::find_by_id((own.user_id(), app_id.to_owned()))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "you have no profile for app {app_id:?}: create it with createMyAppProfile"
                ))
            })
    }

    /// Writes `document` only if the row still has the version it was read with.
    async fn compare_and_set(
        &self,
        current: app_profile::Model,
        document: Document,
    ) -> Result<Option<app_profile::Model>> {
        let now = crate::db::now();
        let data = document.into_value();
        let update = app_profile::Entity::update_many()
            .col_expr(app_profile::Column::Data, Expr::val(data.clone()))
            .col_expr(app_profile::Column::UpdatedAt, Expr::val(now))
            .filter(app_profile::Column::UserId.eq(current.user_id))
            .filter(app_profile::Column::AppId.eq(current.app_id.as_str()));
        let version = Some(current.version);
        if !versioned_update(&self.db, update, app_profile::Column::Version, version).await? {
            return Ok(None);
        }
        Ok(Some(app_profile::Model {
            data,
            version: current.version + 1,
            updated_at: now,
            ..current
        }))
    }
}

/// Checks that every user in `users` is a member of the active tenant. NOT_FOUND names those
/// who are not, with the same answer whether such a user exists or not.
pub(super) async fn require_members(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    users: &[Uuid],
) -> Result<()> {
    let members = store::members_among(db, scope.tenant().id, users).await?;
    let outsiders: Vec<String> = users
        .iter()
        .filter(|user| !members.contains(*user))
        .map(Uuid::to_string)
        .collect();
    if outsiders.is_empty() {
        return Ok(());
    }
    let named = outsiders.len().min(NAMED_USERS);
    Err(Error::NotFound(format!(
        "{} not a member of tenant {}: {}{}",
        if outsiders.len() == 1 {
            "user is"
        } else {
            "users are"
        },
        scope.tenant().slug,
        outsiders[..named].join(", "),
        match outsiders.len() - named {
            0 => String::new(),
            more => format!(" and {more} more"),
        }
    )))
}

fn check_version(current: &app_profile::Model, expected: Option<i32>) -> Result<()> {
    match expected {
        Some(expected) if expected != current.version => {
            Err(stale("the profile", current.version, expected))
        }
        _ => Ok(()),
    }
}

/// The row `current` was read from, as long as it still has the version it was read with.
fn still_at(current: &app_profile::Model) -> Condition {
    Condition::all()
        .add(app_profile::Column::UserId.eq(current.user_id))
        .add(app_profile::Column::AppId.eq(current.app_id.as_str()))
        .add(app_profile::Column::Version.eq(current.version))
}

fn stored(row: &app_profile::Model) -> Result<Document> {
    Document::from_stored(row.data.clone()).ok_or_else(|| {
        Error::internal(anyhow::anyhow!(
            "the stored app profile of user {} for app {} is not a JSON object",
            row.user_id,
            row.app_id
        ))
    })
}
