//! An uploaded file or photo, stored in object storage.

use sea_orm::entity::prelude::*;

/// A row of `files`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    /// Internal id, used in URLs.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant the file belongs to.
    pub tenant_id: Uuid,
    /// User whose card holds the file.
    pub owner_id: Uuid,
    /// Generated key in the object store.
    pub object_key: String,
    /// Content type sniffed from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub byte_size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Image width in pixels.
    pub width: Option<i32>,
    /// Image height in pixels.
    pub height: Option<i32>,
    /// Upload time.
    pub created_at: DateTimeUtc,
    /// The client's file name, sanitised; only used in `Content-Disposition`.
    pub original_name: String,
    /// Thumbnail sizes stored beside the object (JSON array of pixel sizes).
    #[sea_orm(column_type = "JsonBinary")]
    pub thumbnails: Json,
}

/// Files have no navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
