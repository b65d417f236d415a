//! Admin-defined fields: keys, kinds, access levels, labels, validation, built-in claims and
//! templates. A [`FieldDefinition`] is the parsed, validated form of a `field_definitions`
//! row, with its validators compiled once.

/// Declares a fieldless enum stored and sent as upper-case text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(text: &str) -> Result<Self, $crate::error::Error> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::error::Error::internal(anyhow::anyhow!(
                        "unknown {} {text:?} in the database", stringify!($name)
                    ))),
                }
            }
        }
    };
}

pub mod access;
pub mod builtin;
pub mod labels;
pub mod store;
pub mod templates;
pub mod validation;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use entity::field_definition;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::ident;
use crate::error::Error;
pub use access::{Access, AccessLevels, Viewer, field_access, is_listed};
pub use validation::Rules;

/// A field key: lowercase a–z, digits and `_`, starting with a letter, not ending with `_`,
/// at most 64 characters. Only valid keys can be constructed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FieldKey(String);

impl FieldKey {
    /// Checks and wraps a key.
    pub fn parse(text: &str) -> Result<FieldKey, Error> {
        match ident::FIELD_KEY.check(text) {
            Ok(()) => Ok(FieldKey(text.to_owned())),
            Err(message) => Err(Error::BadUserInput {
                message,
                problems: vec![crate::error::InputProblem {
                    field: text.to_owned(),
                    message: ident::FIELD_KEY.rule(),
                }],
            }),
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` follows the key rules (also used for choice option values).
pub fn is_valid_key(text: &str) -> bool {
    ident::FIELD_KEY.accepts(text)
}

text_enum!(
    /// What kind of value a field holds; never changes after creation.
    FieldKind {
        /// One line of text.
        ShortText = "SHORT_TEXT",
        /// Several lines of text.
        LongText = "LONG_TEXT",
        /// An uploaded image (file id).
        Image = "IMAGE",
        /// An uploaded file (file id).
        File = "FILE",
        /// On or off.
        Switch = "SWITCH",
        /// One of the options.
        SingleChoice = "SINGLE_CHOICE",
        /// Any of the options.
        MultiChoice = "MULTI_CHOICE",
        /// A decimal number.
        Number = "NUMBER",
        /// A whole number.
        Integer = "INTEGER",
        /// A calendar date (YYYY-MM-DD).
        Date = "DATE",
        /// An email address.
        Email = "EMAIL",
        /// A phone number in E.164 form (+4915112345678).
        Phone = "PHONE",
        /// An http(s) URL.
        Url = "URL",
        /// An ISO 3166-1 alpha-2 country code.
        Country = "COUNTRY",
    }
);

impl FieldKind {
    /// Whether values pick from the definition's options.
    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultiChoice)
    }

    /// Whether values reference uploaded files.
    pub fn is_file(self) -> bool {
        matches!(self, FieldKind::Image | FieldKind::File)
    }
}

/// One option of a choice field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// Stored value; follows the key rules.
    pub value: String,
    /// Labels by locale.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A field definition of a tenant, parsed and with compiled validators.
#[derive(Clone, Debug)]
pub struct FieldDefinition {
    /// Id.
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
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
    /// Display order.
    pub position: i32,
    /// The card owner's access.
    pub owner_access: Access,
    /// Other members' access (`HIDDEN` or `READ`).
    pub member_access: Access,
    /// Admins' access (`READ` or `EDIT`).
    pub admin_access: Access,
    /// Whether this is a built-in OpenID Connect claim.
    pub builtin: bool,
    /// When it was archived, if it is.
    pub archived_at: Option<DateTime<Utc>>,
    /// Bumped by every change.
    pub version: i32,
}

impl FieldDefinition {
    /// Parses a row; a bad row is an internal error, never a panic.
    pub fn from_row(row: field_definition::Model) -> Result<FieldDefinition, Error> {
        let kind = FieldKind::from_str(&row.kind)?;
        let rules: Rules = from_json(row.validation)?;
        Ok(FieldDefinition {
            id: row.id,
            tenant_id: row.tenant_id,
            key: FieldKey(row.key),
            kind,
            labels: from_json(row.labels)?,
            help: from_json(row.help)?,
            options: from_json(row.options)?,
            rules: rules.compiled()?,
            required: row.required,
            position: row.position,
            owner_access: Access::from_str(&row.owner_access)?,
            member_access: Access::from_str(&row.member_access)?,
            admin_access: Access::from_str(&row.admin_access)?,
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
