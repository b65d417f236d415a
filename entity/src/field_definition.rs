//! An admin-defined field of a tenant's cards.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of value a field holds; never changes after creation. Stored and sent as its
/// upper-case name (`SHORT_TEXT`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldKind {
    /// One line of text.
    #[sea_orm(string_value = "SHORT_TEXT")]
    ShortText,
    /// Several lines of text.
    #[sea_orm(string_value = "LONG_TEXT")]
    LongText,
    /// An uploaded image (file id).
    #[sea_orm(string_value = "IMAGE")]
    Image,
    /// An uploaded file (file id).
    #[sea_orm(string_value = "FILE")]
    File,
    /// On or off.
    #[sea_orm(string_value = "SWITCH")]
    Switch,
    /// One of the options.
    #[sea_orm(string_value = "SINGLE_CHOICE")]
    SingleChoice,
    /// Any of the options.
    #[sea_orm(string_value = "MULTI_CHOICE")]
    MultiChoice,
    /// A decimal number.
    #[sea_orm(string_value = "NUMBER")]
    Number,
    /// A whole number.
    #[sea_orm(string_value = "INTEGER")]
    Integer,
    /// A calendar date (YYYY-MM-DD).
    #[sea_orm(string_value = "DATE")]
    Date,
    /// An email address.
    #[sea_orm(string_value = "EMAIL")]
    Email,
    /// A phone number in E.164 form (+4915112345678).
    #[sea_orm(string_value = "PHONE")]
    Phone,
    /// An http(s) URL.
    #[sea_orm(string_value = "URL")]
    Url,
    /// An ISO 3166-1 alpha-2 country code.
    #[sea_orm(string_value = "COUNTRY")]
    Country,
}

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

/// An access level, weakest first (so `max` is the stronger of two).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Access {
    /// Not shown at all: absent from responses, not null.
    #[sea_orm(string_value = "HIDDEN")]
    Hidden,
    /// Shown, not editable.
    #[sea_orm(string_value = "READ")]
    Read,
    /// Shown and editable.
    #[sea_orm(string_value = "EDIT")]
    Edit,
}

impl Access {
    /// Whether the value may be read.
    pub fn can_read(self) -> bool {
        self != Access::Hidden
    }

    /// Whether the value may be changed.
    pub fn can_edit(self) -> bool {
        self == Access::Edit
    }
}

/// A row of `field_definitions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "field_definitions")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Immutable key, unique in the tenant.
    pub key: String,
    /// Value kind.
    pub kind: FieldKind,
    /// Labels by locale (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub labels: Json,
    /// Help texts by locale (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub help: Json,
    /// Choice options (JSON array).
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    /// Validation rules (JSON object).
    #[sea_orm(column_type = "JsonBinary")]
    pub validation: Json,
    /// Whether a value is required.
    pub required: bool,
    /// Display order within the tenant.
    pub position: i32,
    /// What the card's owner may do.
    pub owner_access: Access,
    /// What other members may do: `HIDDEN` or `READ`.
    pub member_access: Access,
    /// What admins may do: `READ` or `EDIT`.
    pub admin_access: Access,
    /// Whether this is a built-in OpenID Connect claim field.
    pub builtin: bool,
    /// Set while the field is archived.
    pub archived_at: Option<DateTimeUtc>,
    /// Bumped by every change of the definition.
    pub version: i32,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Field definitions have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
