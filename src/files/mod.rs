//! Photos and files: uploads checked by their bytes, stored content-addressed through
//! `object_store` (disk or S3), thumbnails, signed URLs, and removal once nothing refers to
//! a file.

pub mod images;
pub mod storage;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use entity::{field_value, file};
use hmac::{Hmac, Mac};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::core::TenantScope;
use crate::error::{Error, Result};
use crate::events::{Change, Events};
use crate::fields::{FieldDefinition, FieldKind};
use crate::metrics::CacheCounters;

/// How long a signed file URL stays valid, at least; URLs are stable within a window so that
/// browsers can cache them.
const URL_WINDOW_SECONDS: i64 = 3600;

/// Objects up to this size are kept in memory once served.
pub const HOT_OBJECT_MAX_BYTES: u64 = 512 * 1024;
/// Memory for small objects.
const HOT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Content types never accepted, whatever a field allows: they would run script if a browser
/// ever rendered them.
const DANGEROUS_TYPES: &[&str] = &[
    "text/html",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
];

/// The file side of the service: object storage, limits and URL signing.
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// File rows by id: a row never changes, only disappears (then dropped from here too).
    rows: moka::future::Cache<Uuid, Option<file::Model>>,
    /// Small objects (thumbnails, icons) by key, in memory: content-addressed, so never stale.
    hot: moka::future::Cache<String, Bytes>,
    row_counters: CacheCounters,
    events: Option<Arc<Events>>,
    signing_key: Vec<u8>,
    /// Largest upload accepted at all.
    pub upload_bytes: usize,
    max_pixels: u64,
}

/// An uploaded file as received.
pub struct Upload {
    /// The client's file name (only ever shown back, sanitised).
    pub filename: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What is stored for one accepted upload.
struct Prepared {
    bytes: Vec<u8>,
    content_type: String,
    sha256: String,
    width: Option<u32>,
    height: Option<u32>,
    thumbnails: Vec<(u32, Vec<u8>)>,
}

impl FileStore {
    /// Opens the configured object store and loads (or creates) the URL signing key.
    pub fn new(
        config: &Config,
        row_counters: CacheCounters,
        events: Option<Arc<Events>>,
    ) -> anyhow::Result<FileStore> {
        let default_url = format!("file://{}", config.data_dir.join("files").display());
        let url = config.storage.url.as_deref().unwrap_or(&default_url);
        let signing_key = match &config.storage.url_signing_key {
            Some(hex_key) => crate::keyfile::parse(hex_key, "storage.url_signing_key")?,
            None => crate::keyfile::load_or_create(&config.data_dir.join("file-url.key"))?,
        };
        Ok(FileStore {
            store: storage::object_store(url, &config.storage)?,
            rows: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
            hot: moka::future::Cache::builder()
                .weigher(|_, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
                .max_capacity(HOT_CACHE_BYTES)
                .build(),
            row_counters,
            events,
            signing_key,
            upload_bytes: config.limits.upload_bytes,
            max_pixels: config.limits.image_pixels,
        })
    }

    /// Checks an upload for `field` and stores it (objects first, then the row inside `db`'s
    /// transaction). The caller sets the field value in the same transaction and calls
    /// [`FileStore::forget_objects`] if that fails.
    pub async fn store(
        &self,
        db: &impl ConnectionTrait,
        scope: &TenantScope,
        owner: Uuid,
        field: &FieldDefinition,
        upload: Upload,
    ) -> Result<file::Model> {
        // Decoding and thumbnailing are CPU work: keep them off the async workers.
        let (limits, checked_field, bytes) = (
            (self.upload_bytes, self.max_pixels),
            field.clone(),
            upload.bytes,
        );
        let prepared = tokio::task::spawn_blocking(move || prepare(&checked_field, &bytes, limits))
            .await
            .map_err(Error::internal)??;
        let key = object_key(scope.tenant().id, &prepared.sha256);
        self.put_all(db, &key, &prepared).await?;
        let sizes: Vec<u32> = prepared.thumbnails.iter().map(|(size, _)| *size).collect();
        let row = file::ActiveModel {
            id: Set(Uuid::new_v4()),
            tenant_id: Set(scope.tenant().id),
            owner_id: Set(owner),
            object_key: Set(key),
            content_type: Set(prepared.content_type),
            byte_size: Set(prepared.bytes.len() as i64),
            sha256: Set(prepared.sha256),
            width: Set(prepared.width.map(|w| w as i32)),
            height: Set(prepared.height.map(|h| h as i32)),
            created_at: Set(Utc::now()),
            original_name: Set(sanitize_filename(&upload.filename)),
            thumbnails: Set(json!(sizes)),
        };
        Ok(row.insert(db).await?)
    }

    /// Puts the file and its thumbnails; if that fails half-way, what was put is removed
    /// again unless an earlier upload of the same content owns it.
    async fn put_all(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        prepared: &Prepared,
    ) -> Result<()> {
        let mut objects = vec![(key.to_owned(), prepared.bytes.clone())];
        objects.extend(
            prepared
                .thumbnails
                .iter()
                .map(|(size, bytes)| (thumbnail_key(key, *size), bytes.clone())),
        );
        let mut written: Vec<String> = Vec::new();
        for (object, bytes) in objects {
            if let Err(error) = self.put(&object, bytes).await {
                let shared = file::Entity::find()
                    .filter(file::Column::ObjectKey.eq(key))
                    .one(db)
                    .await?
                    .is_some();
                if !shared {
                    for done in &written {
                        let _ = self.store.delete(&Path::from(done.as_str())).await;
                    }
                }
                return Err(error);
            }
            written.push(object);
        }
        Ok(())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(Bytes::from(bytes)))
            .await
            .map_err(Error::internal)?;
        Ok(())
    }

    /// Deletes the objects of `file` unless another file row shares them (content addressing).
    pub async fn forget_objects(
        &self,
        db: &impl ConnectionTrait,
        file: &file::Model,
    ) -> Result<()> {
        let sharers = file::Entity::find()
            .filter(file::Column::ObjectKey.eq(&file.object_key))
            .filter(file::Column::Id.ne(file.id))
            .all(db)
            .await?;
        if !sharers.is_empty() {
            return Ok(());
        }
        let mut keys = vec![file.object_key.clone()];
        keys.extend(
            thumbnail_sizes(file)
                .into_iter()
                .map(|size| thumbnail_key(&file.object_key, size)),
        );
        for key in keys {
            self.hot.invalidate(&key).await;
            match self.store.delete(&Path::from(key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => tracing::warn!(%error, key, "could not delete an object"),
            }
        }
        Ok(())
    }

    /// Removes the files among `ids` that no card value refers to any more: the row, then the
    /// objects unless shared.
    pub async fn release(&self, db: &DatabaseConnection, ids: &[Uuid]) -> Result<()> {
        let released = self.release_rows(db, ids).await?;
        self.forget_released(db, &released).await
    }

    /// Deletes the rows of the files among `ids` that no card value refers to any more, inside
    /// the caller's transaction when there is one. Pass what it returns to
    /// [`FileStore::forget_released`] once that is committed: objects cannot be rolled back.
    pub async fn release_rows(
        &self,
        db: &impl ConnectionTrait,
        ids: &[Uuid],
    ) -> Result<Vec<file::Model>> {
        let mut released = Vec::new();
        for id in ids {
            let Some(file) = file::Entity::find_by_id(*id).one(db).await? else {
                continue;
            };
            let referenced = field_value::Entity::find()
                .filter(field_value::Column::TenantId.eq(file.tenant_id))
                .filter(field_value::Column::UserId.eq(file.owner_id))
                .all(db)
                .await?
                .iter()
                .any(|row| row.value.as_str() == Some(&id.to_string()));
            if referenced {
                continue;
            }
            file::Entity::delete_by_id(*id).exec(db).await?;
            released.push(file);
        }
        Ok(released)
    }

    /// Forgets files whose rows [`FileStore::release_rows`] deleted: the cached rows, then the
    /// objects unless shared.
    pub async fn forget_released(
        &self,
        db: &impl ConnectionTrait,
        released: &[file::Model],
    ) -> Result<()> {
        for file in released {
            self.rows.invalidate(&file.id).await;
            self.forget_objects(db, file).await?;
        }
        if let Some(events) = &self.events
            && !released.is_empty()
        {
            let ids = released.iter().map(|file| file.id).collect();
            events.publish(Change::FilesReleased { ids }).await;
        }
        Ok(())
    }

    /// Forgets cached rows another instance deleted.
    pub async fn forget_rows(&self, ids: &[Uuid]) {
        for id in ids {
            self.rows.invalidate(id).await;
        }
    }

    /// Forgets every cached row (changes may have been missed).
    pub fn forget_all_rows(&self) {
        self.rows.invalidate_all();
    }

    /// The file row with `id`, cached: serving a file costs no query on a hit.
    pub async fn row(&self, db: &impl ConnectionTrait, id: Uuid) -> Result<Option<file::Model>> {
        let cached = self.rows.get(&id).await;
        self.row_counters.record(cached.is_some());
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let row = file::Entity::find_by_id(id).one(db).await?;
        if row.is_some() {
            self.rows.insert(id, row.clone()).await;
        }
        Ok(row)
    }

    /// A URL for `file` (or one of its thumbnails) that works without credentials until the
    /// end of the next hour window; hand it out only after an access check.
    pub fn signed_url(&self, file_id: Uuid, size: Option<u32>) -> String {
        let now = Utc::now().timestamp();
        let expires = (now / URL_WINDOW_SECONDS + 2) * URL_WINDOW_SECONDS;
        let signature = self.signature(file_id, size, expires);
        match size {
            Some(size) => format!("/files/{file_id}?size={size}&exp={expires}&sig={signature}"),
            None => format!("/files/{file_id}?exp={expires}&sig={signature}"),
        }
    }

    /// Whether a URL signature is genuine and unexpired.
    pub fn signature_valid(
        &self,
        file_id: Uuid,
        size: Option<u32>,
        expires: i64,
        signature: &str,
    ) -> bool {
        let Ok(given) = hex::decode(signature) else {
            return false;
        };
        expires >= Utc::now().timestamp()
            && self
                .mac(file_id, size, expires)
                .verify_slice(&given)
                .is_ok()
    }

    fn signature(&self, file_id: Uuid, size: Option<u32>, expires: i64) -> String {
        hex::encode(self.mac(file_id, size, expires).finalize().into_bytes())
    }

    fn mac(&self, file_id: Uuid, size: Option<u32>, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{file_id}:{}:{expires}", size.unwrap_or(0)).as_bytes());
        mac
    }

    /// The object store.
    pub fn objects(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    /// A small object served before, from memory.
    pub async fn hot(&self, key: &str) -> Option<Bytes> {
        self.hot.get(key).await
    }

    /// Keeps a small object in memory for the next requests.
    pub async fn keep_hot(&self, key: &str, bytes: Bytes) {
        self.hot.insert(key.to_owned(), bytes).await;
    }
}

/// Checks size and sniffed type against `field`, and normalises images.
fn prepare(
    field: &FieldDefinition,
    bytes: &[u8],
    (upload_bytes, max_pixels): (usize, u64),
) -> Result<Prepared> {
    let limit = field
        .rules
        .max_bytes
        .map_or(upload_bytes as u64, |m| m.min(upload_bytes as u64));
    if bytes.len() as u64 > limit {
        return Err(Error::PayloadTooLarge(format!(
            "{} takes files of at most {limit} bytes; this one has {}",
            field.key.as_str(),
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(Error::bad_input("the file is empty"));
    }
    let content_type = sniff(bytes);
    check_type(field, &content_type)?;
    if content_type.starts_with("image/") {
        let image = images::process(bytes, &content_type, max_pixels)?;
        return Ok(Prepared {
            sha256: hex::encode(Sha256::digest(&image.bytes)),
            bytes: image.bytes,
            content_type: image.content_type.to_owned(),
            width: Some(image.width),
            height: Some(image.height),
            thumbnails: image.thumbnails,
        });
    }
    Ok(Prepared {
        sha256: hex::encode(Sha256::digest(bytes)),
        bytes: bytes.to_vec(),
        content_type,
        width: None,
        height: None,
        thumbnails: Vec::new(),
    })
}

/// The content type of `bytes`, read from the bytes (never from the client).
pub fn sniff(bytes: &[u8]) -> String {
    infer::get(bytes).map_or_else(
        || "application/octet-stream".to_owned(),
        |t| t.mime_type().to_owned(),
    )
}

/// The one content-type policy, for uploads and for values that point at a stored file:
/// never a type that could run script; images only of the accepted types
/// ([`images::is_accepted`]); then what the field allows (IMAGE fields: images only).
pub fn accepts(field: &FieldDefinition, content_type: &str) -> bool {
    let allowed = &field.rules.allowed_content_types;
    let is_image = content_type.starts_with("image/");
    !DANGEROUS_TYPES.contains(&content_type)
        && (!is_image || images::is_accepted(content_type))
        && (is_image || field.kind != FieldKind::Image)
        && (allowed.is_empty() || allowed.iter().any(|t| t == content_type))
}

fn check_type(field: &FieldDefinition, content_type: &str) -> Result<()> {
    let accepted = accepts(field, content_type);
    if accepted {
        return Ok(());
    }
    Err(Error::BadUserInput {
        message: format!(
            "{} does not take files of type {content_type} (read from the file's content)",
            field.key.as_str()
        ),
        problems: vec![crate::error::InputProblem {
            field: field.key.as_str().to_owned(),
            message: format!("type {content_type} is not accepted"),
        }],
    })
}

/// Object key of an upload: content-addressed within its tenant, never from the file name.
fn object_key(tenant_id: Uuid, sha256: &str) -> String {
    format!("{tenant_id}/{sha256}")
}

/// Object key of a thumbnail of `key`.
pub fn thumbnail_key(key: &str, size: u32) -> String {
    format!("{key}.thumb{size}.jpg")
}

/// The thumbnail sizes stored for `file`.
pub fn thumbnail_sizes(file: &file::Model) -> Vec<u32> {
    serde_json::from_value(file.thumbnails.clone()).unwrap_or_default()
}

/// Keeps the last path component, drops control and quoting characters, caps the length.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/' | ';'))
        .take(200)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The files rows among `ids`, by id.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, file::Model>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = file::Entity::find()
        .filter(file::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|f| (f.id, f)).collect())
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn file_names_lose_their_paths_and_tricks() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\\\Users\\\\me\\\\cv.pdf"), "cv.pdf");
        assert_eq!(sanitize_filename("..."), "file");
        assert_eq!(sanitize_filename("a\"b;\r\nc.png"), "abc.png");
    }
}
