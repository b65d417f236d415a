//! Admin-defined fields: keys, kinds, access levels, labels, validation, built-in claims and
//! templates. A [`FieldDefinition`] is the parsed, validated form of a `field_definitions`
//! row, with its validators compiled once.

pub mod access;
pub mod builtin;
pub mod labels;
pub mod store;
pub mod templates;
pub mod validation;
pub mod value;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::field_definition;
pub use entity::field_definition::FieldKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::core::FieldKey;
pub use crate::core::ident::is_valid_key;
use crate::error::Error;
pub use access::{Access, AccessLevels, Viewer, field_access, is_listed};
pub use validation::Rules;
pub use value::FieldValue;

/// One option of a choice field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// Stored value; follows the key rules.
    pub value: String,
    /// Labels by locale.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What defines a field apart from its identity, place and history: one struct for stored
/// definitions, new fields and catalogue templates, so that a property is added in one place.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// Immutable key.
    pub key: FieldKey,
    /// Immutable kind.
    pub kind: FieldKind,
    /// Labels by locale.
    pub labels: BTreeMap<String, String>,
    /// Help texts by locale.
    pub help: BTreeMap<String, String>,
    /// Options of choice fields.
    pub options: Vec<ChoiceOption>,
    /// Validation rules.
    pub rules: Rules,
    /// Whether a value is required.
    pub required: bool,
    /// What the owner, other members and admins may do.
    pub access: AccessLevels,
}

/// A field definition of a tenant, parsed and with compiled validators.
#[derive(Clone, Debug)]
pub struct FieldDefinition {
    /// Id.
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// What the field is.
    pub spec: FieldSpec,
    /// Display order.
    pub position: i32,
    /// Whether this is a built-in OpenID Connect claim.
    pub builtin: bool,
    /// When it was archived, if it is.
    pub archived_at: Option<DateTime<Utc>>,
    /// Bumped by every change.
    pub version: i32,
}

/// A definition reads as its spec (`field.key`, `field.kind`), as every caller wants.
impl std::ops::Deref for FieldDefinition {
    type Target = FieldSpec;

    fn deref(&self) -> &FieldSpec {
        &self.spec
    }
}

impl FieldDefinition {
    /// Parses a row; a bad row is an internal error, never a panic.
    pub fn from_row(row: field_definition::Model) -> Result<FieldDefinition, Error> {
        let rules: Rules = from_json(row.validation)?;
        let key = FieldKey::parse(&row.key).map_err(|_| {
            Error::internal(anyhow::anyhow!("invalid stored field key {:?}", row.key))
        })?;
        Ok(FieldDefinition {
            id: row.id,
            tenant_id: row.tenant_id,
            spec: FieldSpec {
                key,
                kind: row.kind,
                labels: from_json(row.labels)?,
                help: from_json(row.help)?,
                options: from_json(row.options)?,
                rules: rules.compiled()?,
                required: row.required,
                access: AccessLevels {
                    owner: row.owner_access,
                    member: row.member_access,
                    admin: row.admin_access,
                },
            },
            position: row.position,
            builtin: row.builtin,
            archived_at: row.archived_at,
            version: row.version,
        })
    }

    /// Whether the field is archived.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::internal(anyhow::anyhow!(e)))
}

/// Whether values of `kind` have a search text.
pub fn is_text_like(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::ShortText
            | FieldKind::LongText
            | FieldKind::Email
            | FieldKind::Phone
            | FieldKind::Url
            | FieldKind::Country
            | FieldKind::SingleChoice
            | FieldKind::MultiChoice
    )
}
