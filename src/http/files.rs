//! `GET /files/{id}`: access-checked, cache-friendly serving of files and thumbnails.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::file;
use object_store::ObjectStoreExt;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::error::{Error, Result};
use crate::files::{FileStore, HOT_OBJECT_MAX_BYTES, thumbnail_key, thumbnail_sizes};

/// Query parameters of a file URL.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    /// Thumbnail size (64, 256 or 1024); the file itself when absent.
    pub size: Option<u32>,
    /// Expiry of a signed URL (seconds since the epoch).
    pub exp: Option<i64>,
    /// Signature of a signed URL.
    pub sig: Option<String>,
}

/// Serves a file or thumbnail to a holder of a signed URL, or of a bearer token whose owner
/// may see the card field that holds the file.
pub async fn serve_file(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> Response {
    match serve(&state, &id, &query, &headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn serve(
    state: &AppState,
    id: &str,
    query: &FileQuery,
    headers: &HeaderMap,
) -> Result<Response> {
    let file = authorized_file(state, id, query, headers).await?;
    let (key, content_type, etag) = match query.size {
        Some(size) if thumbnail_sizes(&file).contains(&size) => (
            thumbnail_key(&file.object_key, size),
            "image/jpeg".to_owned(),
            format!("\"{}-{size}\"", file.sha256),
        ),
        Some(size) => {
            return Err(Error::NotFound(format!(
                "file {} has no {size} px thumbnail",
                file.id
            )));
        }
        None => (
            file.object_key.clone(),
            file.content_type.clone(),
            format!("\"{}\"", file.sha256),
        ),
    };
    let mut response = if none_match(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body_response(&state.files, &key, headers).await?
    };
    set_headers(
        response.headers_mut(),
        &file,
        &content_type,
        &etag,
        query.size.is_some(),
    );
    Ok(response)
}

/// The file `id`, once the caller has shown a right to it. Credentials are checked before the
/// file is looked up, and a missing file is answered like one the caller may not see, so no
/// answer tells whether an id exists.
async fn authorized_file(
    state: &AppState,
    id: &str,
    query: &FileQuery,
    headers: &HeaderMap,
) -> Result<file::Model> {
    let id = Uuid::parse_str(id).ok();
    let not_found = || match id {
        Some(id) => Error::NotFound(format!("no file {id}")),
        None => Error::NotFound("no such file".into()),
    };
    // A genuine signed link is the right itself; otherwise the caller must be signed in.
    let session = if let (Some(expires), Some(signature)) = (query.exp, &query.sig) {
        let genuine = id.is_some_and(|id| {
            state
                .files
                .signature_valid(id, query.size, expires, signature)
        });
        if !genuine {
            return Err(Error::Forbidden(
                "this file link has expired or is not genuine".into(),
            ));
        }
        None
    } else {
        let session = crate::http::session(state, headers).await?;
        session.principal()?;
        Some(session)
    };
    let Some(id) = id else {
        return Err(not_found());
    };
    let file = state
        .files
        .row(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(session) = session {
        let scope = session
            .scope_in(&state.db, file.tenant_id)
            .await
            .map_err(|_| not_found())?;
        let member = scope.member().map_err(|_| not_found())?;
        crate::profiles::ensure_file_visible(&state.db, &state.fields, &member, &file).await?;
    }
    Ok(file)
}

/// Whether `If-None-Match` matches `etag` by RFC 9110's weak comparison: `*`, or any listed
/// entity tag whose opaque part equals ours, with or without `W/`.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| list.trim() == "*" || entity_tags(list).any(|tag| tag == etag))
}

/// The opaque tags (quotes included, `W/` dropped) of an entity-tag list; reading stops at the
/// first malformed entry. Tags may contain commas, so the list is read, not split.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || {
        let entry = rest.trim_start_matches([' ', '\t', ',']);
        let quoted = entry.strip_prefix("W/").unwrap_or(entry);
        let end = quoted.strip_prefix('"')?.find('"')? + 2;
        let (tag, after) = quoted.split_at(end);
        rest = after;
        Some(tag)
    })
}

async fn body_response(files: &FileStore, key: &str, headers: &HeaderMap) -> Result<Response> {
    let store = files.objects();
    let path = object_store::path::Path::from(key);
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        if let Some(bytes) = files.hot(key).await {
            return Ok(Response::new(Body::from(bytes)));
        }
        let object = store.get(&path).await.map_err(storage_error)?;
        let size = object.meta.size;
        if size <= HOT_OBJECT_MAX_BYTES {
            let bytes = object.bytes().await.map_err(storage_error)?;
            files.keep_hot(key, bytes.clone()).await;
            return Ok(Response::new(Body::from(bytes)));
        }
        let mut response = Response::new(Body::from_stream(object.into_stream()));
        insert(
            response.headers_mut(),
            header::CONTENT_LENGTH,
            &size.to_string(),
        );
        return Ok(response);
    };
    let size = store.head(&path).await.map_err(storage_error)?.size;
    let Some((start, end)) = parse_range(range, size) else {
        let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        insert(
            response.headers_mut(),
            header::CONTENT_RANGE,
            &format!("bytes */{size}"),
        );
        return Ok(response);
    };
    let bytes = store
        .get_range(&path, start..end + 1)
        .await
        .map_err(storage_error)?;
    let mut response = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
    insert(
        response.headers_mut(),
        header::CONTENT_RANGE,
        &format!("bytes {start}-{end}/{size}"),
    );
    Ok(response)
}

/// A missing object is a file deleted a moment ago (the row cache may lag): NOT_FOUND.
fn storage_error(error: object_store::Error) -> Error {
    match error {
        object_store::Error::NotFound { path, .. } => Error::NotFound(format!("no object {path}")),
        other => Error::internal(other),
    }
}

/// Parses a single `bytes=` range (`a-b`, `a-`, `-n`) into inclusive bounds within `size`.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.strip_prefix("bytes=")?.trim();
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (from, to) = spec.split_once('-')?;
    let (start, end) = match (from.trim(), to.trim()) {
        ("", suffix) => {
            let length: u64 = suffix.parse().ok()?;
            (size.saturating_sub(length), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

fn set_headers(
    headers: &mut HeaderMap,
    file: &file::Model,
    content_type: &str,
    etag: &str,
    thumbnail: bool,
) {
    insert(headers, header::CONTENT_TYPE, content_type);
    insert(headers, header::ETAG, etag);
    // A file id's content never changes; `private` keeps shared caches out of access checks.
    insert(
        headers,
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    insert(headers, header::ACCEPT_RANGES, "bytes");
    insert(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    let inline = thumbnail || crate::files::images::is_accepted(content_type);
    let name = percent_encode(&file.original_name);
    let disposition = if inline { "inline" } else { "attachment" };
    insert(
        headers,
        header::CONTENT_DISPOSITION,
        &format!("{disposition}; filename*=UTF-8''{name}"),
    );
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{entity_tags, parse_range};

    #[test]
    fn entity_tag_lists_are_read_with_weak_tags_and_commas() {
        let tags: Vec<&str> = entity_tags(r#""a", W/"b",W/"c,d" ,  "e""#).collect();
        assert_eq!(tags, [r#""a""#, r#""b""#, r#""c,d""#, r#""e""#]);
        let tags: Vec<&str> = entity_tags(r#""a", broken, "b""#).collect();
        assert_eq!(tags, [r#""a""#]);
        assert_eq!(entity_tags(r#"W/"unterminated"#).count(), 0);
    }

    #[test]
    fn ranges_are_parsed_within_the_size() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
