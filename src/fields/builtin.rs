//! Built-in fields: the OpenID Connect standard claims, present in every tenant. They can be
//! relabelled, reordered, hidden or locked, never archived or purged. Their value is the
//! member's own edit in the tenant if there is one, else what the identity provider said.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::Utc;
use entity::{field_definition, user};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Access, AccessLevels, FieldKind, FieldValue};
use crate::error::Result;

/// A built-in field and its default access.
pub struct BuiltinField {
    /// The claim name, also the field key.
    pub key: &'static str,
    /// Its kind.
    pub kind: FieldKind,
    /// Its default access.
    pub access: AccessLevels,
}

const fn field(
    key: &'static str,
    kind: FieldKind,
    owner: Access,
    member: Access,
    admin: Access,
) -> BuiltinField {
    BuiltinField {
        key,
        kind,
        access: AccessLevels {
            owner,
            member,
            admin,
        },
    }
}

use Access::{Edit, Hidden, Read};
use FieldKind::{Date, Email, LongText, Phone, ShortText, Switch, Url};

/// Every built-in field, in default order. Identity-coupled claims (email, email_verified,
/// preferred_username) come from the identity provider and are read-only until an admin
/// opens them; private ones (gender, birthdate, phone, address) are hidden from other members.
pub const BUILTIN_FIELDS: &[BuiltinField] = &[
    field("name", ShortText, Edit, Read, Edit),
    field("given_name", ShortText, Edit, Read, Edit),
    field("family_name", ShortText, Edit, Read, Edit),
    field("middle_name", ShortText, Edit, Read, Edit),
    field("nickname", ShortText, Edit, Read, Edit),
    field("preferred_username", ShortText, Read, Read, Read),
    field("profile", Url, Edit, Read, Edit),
    field("picture", Url, Edit, Read, Edit),
    field("website", Url, Edit, Read, Edit),
    field("email", Email, Read, Read, Read),
    field("email_verified", Switch, Read, Hidden, Read),
    field("gender", ShortText, Edit, Hidden, Edit),
    field("birthdate", Date, Edit, Hidden, Edit),
    field("zoneinfo", ShortText, Edit, Read, Edit),
    field("locale", ShortText, Edit, Read, Edit),
    field("phone_number", Phone, Edit, Hidden, Edit),
    field("address", LongText, Edit, Hidden, Edit),
];

static LABELS: LazyLock<BTreeMap<String, BTreeMap<String, String>>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("builtin-labels.json")).unwrap_or_else(|error| {
        tracing::error!(%error, "the built-in field labels are invalid");
        BTreeMap::new()
    })
});

/// Creates the built-in definitions of a new tenant.
pub async fn install(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<()> {
    let now = Utc::now();
    let rows =
        BUILTIN_FIELDS
            .iter()
            .zip(0..)
            .map(|(field, position)| field_definition::ActiveModel {
                id: Set(Uuid::new_v4()),
                tenant_id: Set(tenant_id),
                key: Set(field.key.to_owned()),
                kind: Set(field.kind),
                labels: Set(json!(LABELS.get(field.key).cloned().unwrap_or_default())),
                help: Set(json!({})),
                options: Set(json!([])),
                validation: Set(json!({})),
                required: Set(false),
                position: Set(position),
                owner_access: Set(field.access.owner),
                member_access: Set(field.access.member),
                admin_access: Set(field.access.admin),
                builtin: Set(true),
                archived_at: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
    field_definition::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// What the identity provider says for a built-in field, if anything.
pub fn provider_value(user: &user::Model, key: &str) -> Option<Value> {
    match key {
        "email" => user.email.clone().map(Value::String),
        "email_verified" => Some(Value::Bool(user.email_verified)),
        "preferred_username" => user.username.clone().map(Value::String),
        // The address claim is an object; its `formatted` member is the text form.
        "address" => match user.claims.get("address")? {
            Value::Object(parts) => parts.get("formatted").cloned(),
            other => Some(other.clone()),
        },
        _ => user.claims.get(key).cloned(),
    }
}

/// What the identity provider says for a built-in field, typed by its kind (`None` when the
/// claim is missing or of another shape).
pub fn provider_field_value(user: &user::Model, key: &str) -> Option<FieldValue> {
    let field = BUILTIN_FIELDS.iter().find(|field| field.key == key)?;
    FieldValue::read(field.kind, &provider_value(user, key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_field_has_labels_in_every_shipped_language() {
        for field in BUILTIN_FIELDS {
            let labels = LABELS
                .get(field.key)
                .unwrap_or_else(|| panic!("{} has no labels", field.key));
            assert_eq!(labels.len(), 14, "{}", field.key);
        }
    }
}
