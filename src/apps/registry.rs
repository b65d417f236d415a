//! The app registry: every app that keeps profiles, with its optional JSON Schema.

use entity::{app, app_profile};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::Value;

use super::Apps;
use super::problems::{self, Problem};
use super::schema::CompiledSchema;
use crate::core::GlobalOperator;
use crate::core::ident;
use crate::error::{Error, Result};

/// Longest app id (the column's length).
pub const MAX_ID_LEN: usize = ident::APP_ID.max;

/// What a new app starts with.
#[derive(Clone, Debug)]
pub struct NewApp {
    /// Stable id: 1–64 of a–z, 0–9, `.`, `_`, `-`, starting with a letter or digit.
    pub id: String,
    /// Display name, 1–200 characters.
    pub name: String,
    /// Host name the app runs on, with an optional port.
    pub domain: Option<String>,
    /// Free text, at most 2000 characters.
    pub description: Option<String>,
    /// JSON Schema every profile document must satisfy.
    pub json_schema: Option<Value>,
}

/// What deleting an app removed.
#[derive(Clone, Debug)]
pub struct DeletedApp {
    /// The app as it was.
    pub app: app::Model,
    /// Its profiles, deleted with it.
    pub profiles: u64,
}

/// A change to an app: `None` keeps a value, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct AppChange {
    /// New display name.
    pub name: Option<String>,
    /// New domain, or none.
    pub domain: Option<Option<String>>,
    /// New description, or none.
    pub description: Option<Option<String>>,
    /// New JSON Schema, or none. Existing profiles are not re-checked: the schema applies to
    /// writes from then on.
    pub json_schema: Option<Option<Value>>,
}

impl AppChange {
    /// Whether the change changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.domain.is_none()
            && self.description.is_none()
            && self.json_schema.is_none()
    }
}

impl Apps {
    /// Every app, by id.
    pub async fn list(&self) -> Result<Vec<app::Model>> {
        Ok(app::Entity::find()
            .order_by_asc(app::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Registers an app; an existing id is CONFLICT.
    pub async fn create_app(&self, _admin: &GlobalOperator, new: NewApp) -> Result<app::Model> {
        validate_id(&new.id)?;
        let row = app::Model {
            id: new.id,
            name: valid_name(&new.name)?,
            domain: new.domain.as_deref().map(valid_domain).transpose()?,
            description: new
                .description
                .as_deref()
                .map(valid_description)
                .transpose()?,
            json_schema: new.json_schema.map(valid_schema).transpose()?,
            created_at: crate::db::now(),
        };
        let inserted = app::Entity::insert(app::ActiveModel::from(row.clone()))
            .on_conflict(OnConflict::column(app::Column::Id).do_nothing().to_owned())
            .exec_without_returning(&self.db)
            .await?;
        if inserted == 0 {
            return Err(Error::Conflict(format!("an app with id {} exists", row.id)));
        }
        Ok(row)
    }

    /// Changes an app; an unknown id is NOT_FOUND.
    pub async fn update_app(
        &self,
        _admin: &GlobalOperator,
        id: &str,
        change: AppChange,
    ) -> Result<app::Model> {
        let current = get(&self.db, id).await?;
        if change.is_empty() {
            return Ok(current);
        }
        let mut row: app::ActiveModel = current.into();
        if let Some(name) = change.name {
            row.name = Set(valid_name(&name)?);
        }
        if let Some(domain) = change.domain {
            row.domain = Set(domain.as_deref().map(valid_domain).transpose()?);
        }
        if let Some(description) = change.description {
            row.description = Set(description.as_deref().map(valid_description).transpose()?);
        }
        if let Some(schema) = change.json_schema {
            row.json_schema = Set(schema.map(valid_schema).transpose()?);
        }
        Ok(row.update(&self.db).await?)
    }

    /// Deletes an app; an unknown id is NOT_FOUND. An app with profiles is CONFLICT unless
    /// `with_profiles`, which deletes them with it, every tenant's, in the same transaction.
    pub async fn delete_app(
        &self,
        _admin: &GlobalOperator,
        id: &str,
        with_profiles: bool,
    ) -> Result<DeletedApp> {
        let txn = self.db.begin().await?;
        // PostgreSQL: the row lock makes profile writes in flight finish first and later ones
        // wait, then fail on the missing app; nobody else can delete the app before the commit.
        let app = app::Entity::find_by_id(id.to_owned())
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| not_found(id))?;
        let profiles = app_profile::Entity::delete_many()
            .filter(app_profile::Column::AppId.eq(id))
            .exec(&txn)
            .await?
            .rows_affected;
        if profiles > 0 && !with_profiles {
            txn.rollback().await?;
            return Err(Error::Conflict(format!(
                "app {id:?} has {profiles} profiles: send deleteProfiles: true to delete them with it"
            )));
        }
        app::Entity::delete_by_id(id.to_owned()).exec(&txn).await?;
        txn.commit().await?;
        Ok(DeletedApp { app, profiles })
    }
}

/// The app with `id`, or NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<app::Model> {
    app::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The apps among `ids` that exist.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[&str]) -> Result<Vec<app::Model>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(super::IN_LIST_CHUNK) {
        let rows = app::Entity::find()
            .filter(app::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// The answer for an app id nobody registered.
pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no app {id:?}"))
}

/// Checks an app id against [`ident::APP_ID`].
pub fn validate_id(id: &str) -> Result<()> {
    ident::APP_ID
        .check(id)
        .map_err(|message| field_error("/input/id", message))
}

fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    if (1..=200).contains(&name.chars().count()) {
        return Ok(name.to_owned());
    }
    Err(field_error(
        "/input/name",
        "an app name needs 1 to 200 characters",
    ))
}

/// A host name (letters, digits, `-`, dot-separated labels) with an optional `:port`, lower-cased.
fn valid_domain(domain: &str) -> Result<String> {
    let domain = domain.trim().to_ascii_lowercase();
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain.as_str(), None),
    };
    let host_ok = (1..=253).contains(&host.len())
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        return Ok(domain);
    }
    Err(field_error(
        "/input/domain",
        format!("{domain:?} is not a host name (with an optional :port)"),
    ))
}

fn valid_description(description: &str) -> Result<String> {
    if description.chars().count() <= 2000 {
        return Ok(description.to_owned());
    }
    Err(field_error(
        "/input/description",
        "a description has at most 2000 characters",
    ))
}

/// Accepts a schema only if it compiles, so a stored schema always does.
fn valid_schema(schema: Value) -> Result<Value> {
    CompiledSchema::compile(&schema, "/input/jsonSchema").map_err(problems::one)?;
    Ok(schema)
}

fn field_error(pointer: &str, message: impl Into<String>) -> Error {
    problems::one(Problem::invalid(pointer, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids() {
        for good in ["crm", "com.example.mobile", "a", "web_2-x"] {
            assert!(validate_id(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in ["", "-x", ".x", "Crm", "a b", "a/b", long.as_str()] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains() {
        assert_eq!(
            valid_domain("App.Example.com").ok().as_deref(),
            Some("app.example.com")
        );
        assert!(valid_domain("localhost:3000").is_ok());
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a.com:0",
            "a.com:x",
            "http://a.com",
            "a b",
        ] {
            assert!(valid_domain(bad).is_err(), "{bad}");
        }
    }
}
