//! Automatic persisted queries (Apollo APQ, version 1): a client sends the SHA-256 of a
//! document instead of the document; the first time, when the service does not know it, the
//! client sends both. Documents are kept parsed and checked in a bounded cache, so a request
//! by hash skips parsing, and `GET /graphql?extensions=…` requests are small enough for a CDN
//! to cache.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensions, Request, ServerError, ServerResult};
use moka::future::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The request extension naming a persisted query.
const EXTENSION: &str = "persistedQuery";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: u32,
    sha256_hash: String,
}

/// The bounded cache of checked documents by hash.
#[derive(Clone)]
pub struct PersistedQueries {
    documents: Cache<String, Arc<ExecutableDocument>>,
}

impl PersistedQueries {
    /// A cache of at most `capacity` documents.
    pub fn new(capacity: u64) -> Self {
        PersistedQueries {
            documents: Cache::new(capacity),
        }
    }

    /// The hash the request names (taking the extension out of it), if it names one.
    pub fn requested_hash(request: &mut Request) -> ServerResult<Option<String>> {
        let Some(value) = request.extensions.remove(EXTENSION) else {
            return Ok(None);
        };
        let persisted: PersistedQuery = async_graphql::from_value(value)
            .map_err(|_| bad("the persistedQuery extension needs version and sha256Hash"))?;
        if persisted.version != 1 {
            return Err(bad("only version 1 of persisted queries is supported"));
        }
        Ok(Some(persisted.sha256_hash.to_ascii_lowercase()))
    }

    /// The document persisted under `hash`, or Apollo's `PersistedQueryNotFound`, which tells
    /// the client to send the document with the hash.
    pub async fn get(&self, hash: &str) -> ServerResult<ExecutableDocument> {
        match self.documents.get(hash).await {
            Some(document) => Ok(document.as_ref().clone()),
            None => Err(async_graphql::Error::new("PersistedQueryNotFound")
                .extend_with(|_, e| e.set("code", "PERSISTED_QUERY_NOT_FOUND"))
                .into_server_error(Default::default())),
        }
    }

    /// Persists a checked `document` whose text is `query`, under `hash` when that is the
    /// text's SHA-256.
    pub async fn insert(
        &self,
        hash: String,
        query: &str,
        document: &ExecutableDocument,
    ) -> ServerResult<()> {
        if format!("{:x}", Sha256::digest(query.as_bytes())) != hash {
            return Err(bad("the sha256Hash is not the SHA-256 of the query"));
        }
        self.documents
            .insert(hash, Arc::new(document.clone()))
            .await;
        Ok(())
    }
}

fn bad(message: &str) -> ServerError {
    async_graphql::Error::new(message)
        .extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
        .into_server_error(Default::default())
}
