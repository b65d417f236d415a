//! The checks every GraphQL request passes before async-graphql parses or validates it, on
//! every path into the schema (HTTP, multipart, and any later transport): nesting on the raw
//! text, so the parser never recurses too deep; then one parse, whose document async-graphql
//! reuses; then the fragment expansion bound and the NUL rule on that document. A persisted
//! query (APQ) is checked once, when it is persisted, and its variables on every request.

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, Request, ServerError, ServerResult};

use super::persisted::PersistedQueries;
use super::{expansion, nesting, nul_guard};
use crate::config::Limits;

/// Most bytes of query text whose checked documents are kept.
const CHECKED_TEXT_BYTES: u64 = 8 * 1024 * 1024;

/// The longest text kept: the queries clients repeat are small; a huge one is checked anew.
const LONGEST_KEPT_TEXT: usize = 64 * 1024;

/// The checks (and persisted queries, whose documents it keeps checked).
#[derive(Clone)]
pub struct RequestCheck {
    max_nesting: usize,
    max_fields: usize,
    persisted: PersistedQueries,
    /// Checked documents by their text: clients send the same few queries again and again,
    /// and cloning a kept document costs a fraction of parsing and checking it.
    checked: moka::sync::Cache<String, Arc<ExecutableDocument>>,
}

impl RequestCheck {
    /// Checks under `limits`: nesting as [`nesting::max_nesting`] allows, expansion up to the
    /// complexity limit (a document expanding further could never pass it).
    pub fn new(limits: &Limits) -> Self {
        RequestCheck {
            max_nesting: nesting::max_nesting(limits),
            max_fields: limits.query_complexity,
            persisted: PersistedQueries::new(limits.persisted_queries),
            checked: moka::sync::Cache::builder()
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .max_capacity(CHECKED_TEXT_BYTES)
                .build(),
        }
    }

    /// Runs the checks on `request`; its checked document, for async-graphql to use instead of
    /// parsing the text again (`Request::set_parsed_query`).
    pub async fn check(&self, request: &mut Request) -> ServerResult<ExecutableDocument> {
        let hash = PersistedQueries::requested_hash(request)?;
        let document = match hash {
            Some(hash) if request.query.is_empty() => self.persisted.get(&hash).await?,
            Some(hash) => {
                let document = self.checked(&request.query)?;
                self.persisted
                    .insert(hash, &request.query, &document)
                    .await?;
                document
            }
            None => self.checked(&request.query)?,
        };
        nul_guard::check(&request.variables, &document)?;
        if request.data.contains_key(&TypeId::of::<ReadOnly>()) {
            refuse_mutations(&document)?;
        }
        Ok(document)
    }

    /// The checked document of `query`, kept from an earlier request when it was checked.
    fn checked(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Some(kept) = self.checked.get(query) {
            return Ok(kept.as_ref().clone());
        }
        let document = self.parsed_and_checked(query)?;
        if query.len() <= LONGEST_KEPT_TEXT {
            self.checked
                .insert(query.to_owned(), Arc::new(document.clone()));
        }
        Ok(document)
    }

    /// Nesting on the text, then one parse, then the expansion bound.
    fn parsed_and_checked(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Err((error, pos)) = nesting::check(query, self.max_nesting) {
            return Err(async_graphql::Error::from(error).into_server_error(pos));
        }
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        expansion::check(&document, self.max_fields)?;
        Ok(document)
    }
}

/// Marks a request that may only read (one sent with `GET`, which caches and links may
/// repeat): its mutations are refused.
pub struct ReadOnly;

fn refuse_mutations(document: &ExecutableDocument) -> ServerResult<()> {
    let mutates = document
        .operations
        .iter()
        .any(|(_, operation)| operation.node.ty == OperationType::Mutation);
    match mutates {
        false => Ok(()),
        true => Err(
            async_graphql::Error::new("mutations must be sent with POST")
                .extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
                .into_server_error(Default::default()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_text_is_checked_once_and_its_document_kept() {
        let check = RequestCheck::new(&Limits::default());
        let query = "query Me { me { id } }";
        let first = check
            .check(&mut Request::new(query))
            .await
            .expect("a valid query");
        check.checked.run_pending_tasks();
        assert_eq!(check.checked.entry_count(), 1);
        let again = check.check(&mut Request::new(query)).await.expect("kept");
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        // What depends on the request, not the text, is checked every time.
        let read_only = Request::new("mutation { leaveTenant(tenant: \"a\") }").data(ReadOnly);
        check
            .check(&mut Request::new("mutation { leaveTenant(tenant: \"a\") }"))
            .await
            .expect("a mutation by POST");
        assert!(check.check(&mut { read_only }).await.is_err());
        // A refused text is not kept.
        let deep = format!("{{ me {} }}", "{ a ".repeat(500) + &"}".repeat(500));
        assert!(check.check(&mut Request::new(deep.as_str())).await.is_err());
        check.checked.run_pending_tasks();
        assert_eq!(check.checked.entry_count(), 2);
    }
}
