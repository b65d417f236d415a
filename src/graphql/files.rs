//! Uploads (GraphQL multipart requests) and file information on card values.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject, Upload};
use entity::file;
use entity::membership::Role;

use super::guard::RoleGuard;
use super::profiles::ProfileView;
use super::tenants::parse_user_id;
use super::{Display, file_store, stores};
use crate::core::Member;
use crate::error::Error;
use crate::files::{self, FileStore};
use crate::profiles;
use crate::session::Session;

/// An uploaded file on a card.
#[derive(SimpleObject)]
pub struct FileInfo {
    /// File id.
    id: ID,
    /// A signed URL that works without credentials for an hour or more.
    url: String,
    /// Content type, read from the bytes.
    content_type: String,
    /// Size in bytes.
    byte_size: i64,
    /// Width in pixels (images).
    width: Option<i32>,
    /// Height in pixels (images).
    height: Option<i32>,
    /// The uploaded file's name, sanitised.
    filename: String,
    /// Stored thumbnails (images).
    thumbnails: Vec<Thumbnail>,
}

/// A thumbnail of an image.
#[derive(SimpleObject)]
pub struct Thumbnail {
    /// Longest side in pixels.
    size: i32,
    /// A signed URL.
    url: String,
}

impl FileInfo {
    /// Describes `file` with signed URLs; call only after an access check.
    pub fn new(store: &FileStore, file: &file::Model) -> FileInfo {
        let thumbnails = files::thumbnail_sizes(file)
            .into_iter()
            .map(|size| Thumbnail {
                size: size as i32,
                url: store.signed_url(file.id, Some(size)),
            })
            .collect();
        FileInfo {
            id: ID(file.id.to_string()),
            url: store.signed_url(file.id, None),
            content_type: file.content_type.clone(),
            byte_size: file.byte_size,
            width: file.width,
            height: file.height,
            filename: file.original_name.clone(),
            thumbnails,
        }
    }
}

/// What an upload produced.
#[derive(SimpleObject)]
pub struct UploadResult {
    /// The stored file.
    file: FileInfo,
    /// The card, with the field set to the file.
    profile: ProfileView,
}

/// Upload mutations.
#[derive(Default)]
pub struct FileMutation;

#[Object]
impl FileMutation {
    /// Uploads a photo or file into an IMAGE or FILE field of the caller's own card (a GraphQL
    /// multipart request), replacing what the field held.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        field_key: String,
        locale: Option<String>,
    ) -> async_graphql::Result<UploadResult> {
        let member = Session::of(ctx)?.member()?;
        let store = file_store(ctx)?;
        let received = read_upload(ctx, file, store.upload_bytes).await?;
        let (card, stored) =
            profiles::upload_own(stores(ctx)?, &member, &field_key, received).await?;
        result(ctx, &member, card, &stored, locale.as_deref())
    }

    /// Uploads into a member's card (admins, operators).
    #[graphql(guard = "RoleGuard::new(Role::Admin)", tag = "admin")]
    async fn upload_file_for(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        file: Upload,
        field_key: String,
        locale: Option<String>,
    ) -> async_graphql::Result<UploadResult> {
        let admin = Session::of(ctx)?.admin()?;
        let store = file_store(ctx)?;
        let received = read_upload(ctx, file, store.upload_bytes).await?;
        let (card, stored) = profiles::upload(
            stores(ctx)?,
            &admin,
            parse_user_id(&user_id)?,
            &field_key,
            received,
        )
        .await?;
        result(ctx, &admin, card, &stored, locale.as_deref())
    }
}

fn result(
    ctx: &Context<'_>,
    member: &Member<'_>,
    card: profiles::Card,
    stored: &file::Model,
    locale: Option<&str>,
) -> async_graphql::Result<UploadResult> {
    Ok(UploadResult {
        file: FileInfo::new(file_store(ctx)?, stored),
        profile: ProfileView {
            card: Arc::new(card),
            display: Display::of(ctx, locale, &member.tenant().default_locale),
        },
    })
}

async fn read_upload(
    ctx: &Context<'_>,
    file: Upload,
    limit: usize,
) -> Result<files::Upload, Error> {
    let value = file
        .value(ctx)
        .map_err(|e| Error::bad_input(format!("the upload cannot be read: {e}")))?;
    if value.size().map_err(Error::internal)? > limit as u64 {
        return Err(Error::PayloadTooLarge(format!(
            "uploads are limited to {limit} bytes"
        )));
    }
    let filename = value.filename.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut value.into_read(), &mut bytes).map(|_| bytes)
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)?;
    Ok(files::Upload { filename, bytes })
}
